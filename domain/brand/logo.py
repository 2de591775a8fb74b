"""A logo upload checked before it is stored: PNG (decoded, bounded) or SVG (parsed without entities or network,
then rebuilt from an allow-list of drawing elements and attributes: no script, no event handler, no external
reference, no foreign content)."""
from __future__ import annotations

import io
import re

from lxml import etree

MAX_BYTES = 512 * 1024
MAX_SIDE = 2000  # pixels, PNG
SVG_NS = "http://www.w3.org/2000/svg"
XLINK_NS = "http://www.w3.org/1999/xlink"
ELEMENTS = {"svg", "g", "path", "rect", "circle", "ellipse", "line", "polyline", "polygon", "text", "tspan",
            "defs", "linearGradient", "radialGradient", "stop", "clipPath", "mask", "use", "title", "desc", "symbol"}
ATTRIBUTES = {
    "id", "class", "x", "y", "x1", "y1", "x2", "y2", "cx", "cy", "r", "rx", "ry", "width", "height", "d", "points",
    "fill", "fill-opacity", "fill-rule", "stroke", "stroke-width", "stroke-opacity", "stroke-linecap",
    "stroke-linejoin", "stroke-miterlimit", "stroke-dasharray", "opacity", "transform", "viewBox",
    "preserveAspectRatio", "version", "offset", "stop-color", "stop-opacity", "gradientUnits", "gradientTransform",
    "fx", "fy", "clip-path", "clip-rule", "mask", "font-family", "font-size", "font-weight", "font-style",
    "text-anchor", "dominant-baseline", "letter-spacing", "dx", "dy", "role", "aria-label", "clipPathUnits",
    "maskUnits", "href", "style",
}
# Paint references inside the file only: url(#id); anything else (url(http…), expression(), @import) is refused.
_URL = re.compile(r"url\s*\(", re.IGNORECASE)
_LOCAL_URL = re.compile(r"url\(\s*['\"]?#[A-Za-z0-9_.:-]+['\"]?\s*\)", re.IGNORECASE)
_STYLE_BAD = re.compile(r"expression|javascript:|@import|\\", re.IGNORECASE)


class LogoRefused(ValueError):
    """`code`: size, type, dimensions, unreadable."""

    def __init__(self, code: str):
        super().__init__(code)
        self.code = code


def check_logo(*, filename: str, data: bytes) -> tuple[str, bytes]:
    """("png" | "svg", the bytes to store) or LogoRefused."""
    if len(data) > MAX_BYTES:
        raise LogoRefused("size")
    if not data:
        raise LogoRefused("unreadable")
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png", _png(data)
    head = data[:512].lstrip().lower()
    if head.startswith(b"<?xml") or head.startswith(b"<svg") or head.startswith(b"<!--") \
            or (filename or "").lower().endswith(".svg"):
        return "svg", sanitise_svg(data)
    raise LogoRefused("type")


def _png(data: bytes) -> bytes:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.format != "PNG":
                raise LogoRefused("type")
            width, height = image.size
            if width > MAX_SIDE or height > MAX_SIDE or width < 16 or height < 16:
                raise LogoRefused("dimensions")
            image.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        if isinstance(exc, LogoRefused):
            raise
        raise LogoRefused("unreadable") from exc
    return data


def _local(name: str) -> str:
    return etree.QName(name).localname if isinstance(name, str) else ""


def _clean_value(name: str, value: str) -> str | None:
    if name == "href":
        return value if value.startswith("#") else None
    if _STYLE_BAD.search(value):
        return None
    if _URL.search(value) and len(_URL.findall(value)) != len(_LOCAL_URL.findall(value)):
        return None
    return value


def sanitise_svg(data: bytes) -> bytes:
    """The SVG rebuilt from what it may contain; refused when it is not an SVG document at all."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False,
                             remove_comments=True, remove_pis=True)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        raise LogoRefused("unreadable") from exc
    if root is None or _local(root.tag) != "svg" or etree.QName(root.tag).namespace not in (SVG_NS, None):
        raise LogoRefused("type")
    if root.getroottree().docinfo.internalDTD is not None or root.getroottree().docinfo.doctype:
        raise LogoRefused("unreadable")  # entity declarations: never expanded, never kept
    clean = _copy(root)
    if clean is None:
        raise LogoRefused("type")
    return etree.tostring(clean, xml_declaration=False, encoding="utf-8")


def _copy(element) -> etree._Element | None:
    if not isinstance(element.tag, str) or _local(element.tag) not in ELEMENTS:
        return None
    namespace = etree.QName(element.tag).namespace
    if namespace not in (SVG_NS, None):
        return None
    out = etree.Element(f"{{{SVG_NS}}}{_local(element.tag)}", nsmap={None: SVG_NS})
    for name, value in element.attrib.items():
        qname = etree.QName(name)
        local = qname.localname
        if qname.namespace not in (None, XLINK_NS) or local not in ATTRIBUTES or local.lower().startswith("on"):
            continue
        if qname.namespace == XLINK_NS and local != "href":
            continue
        kept = _clean_value(local, value)
        if kept is not None:
            out.set(local, kept)
    out.text = element.text if _local(element.tag) in ("text", "tspan", "title", "desc") else None
    for child in element:
        copied = _copy(child)
        if copied is not None:
            out.append(copied)
        if child.tail and _local(element.tag) in ("text", "tspan"):
            (copied if copied is not None else out).tail = child.tail
    return out
