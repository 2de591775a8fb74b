"""Tenant-written Markdown to safe HTML: raw HTML is never interpreted, and what Markdown produces is sanitised
against an allow-list (links to http, https, mailto and tel only; images only from the utility's own host)."""
from __future__ import annotations

import nh3
from markdown_it import MarkdownIt
from markdown_it.token import Token

TAGS = {"p", "br", "hr", "h2", "h3", "h4", "strong", "em", "code", "pre", "blockquote", "ul", "ol", "li", "a",
        "img", "table", "thead", "tbody", "tr", "th", "td"}
ATTRIBUTES = {"a": {"href", "title"}, "img": {"src", "alt", "title"}, "ol": {"start"}, "th": {"style"},
              "td": {"style"}}
URL_SCHEMES = {"http", "https", "mailto", "tel"}

_parser = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}).enable("table")


def _local_path(value: str) -> bool:
    """An address on the page's own host ("/brand/logo"), never another host ("//evil.example", "https://…")."""
    return value.startswith("/") and not value.startswith("//") and "\\" not in value


def _filter(tag: str, attribute: str, value: str) -> str | None:
    if tag == "img" and attribute == "src":
        return value if _local_path(value) else None
    if attribute == "style":  # table alignment only ("text-align:right")
        return value if value in ("text-align:left", "text-align:center", "text-align:right") else None
    return value


def _images_from_this_host_only(state) -> None:
    """An image from another host (a tracking pixel, a hot-linked file) is shown as its alternative text."""
    for block in state.tokens:
        for index, token in enumerate(block.children or ()):
            if token.type == "image" and not _local_path(token.attrGet("src") or ""):
                text = Token("text", "", 0)
                text.content = token.content
                block.children[index] = text


_parser.core.ruler.push("images_from_this_host_only", _images_from_this_host_only)


def render_markdown(text: str) -> str:
    """HTML safe to insert in a page. Headings start at level 2: the page's own title is its only h1."""
    html = _parser.render(text or "")
    html = html.replace("<h1>", "<h2>").replace("</h1>", "</h2>")
    return nh3.clean(html, tags=TAGS, attributes=ATTRIBUTES, attribute_filter=_filter, url_schemes=URL_SCHEMES,
                     link_rel="noopener noreferrer", clean_content_tags={"script", "style"})
