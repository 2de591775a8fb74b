"""Photos of meters sent with a reading: type checked by content, size limited, stored under the tenant's prefix."""
from __future__ import annotations

import re

from domain.storage import storage

MAX_PHOTO_BYTES = 5 * 1024 * 1024
CATEGORY = "readings"
EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp"}
# The storage key ends "<category>/<32 hex>-meter.<ext>"; the hex part is the photo's public token.
_TOKEN = re.compile(r"^[0-9a-f]{32}$")


class PhotoRefused(ValueError):
    """`reason`: "type" (not a JPEG, PNG or WebP image), "size" (over MAX_PHOTO_BYTES) or "empty"."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def sniff_image(data: bytes) -> str | None:
    """The image type the bytes start with (magic numbers), whatever the file is called; None otherwise."""
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def check_photo(data: bytes) -> str:
    """The photo's content type, or PhotoRefused. Size first: a huge file is refused without reading it."""
    if not data:
        raise PhotoRefused("empty")
    if len(data) > MAX_PHOTO_BYTES:
        raise PhotoRefused("size")
    content_type = sniff_image(data)
    if content_type is None:
        raise PhotoRefused("type")
    return content_type


def store_photo(*, tenant_id: int, data: bytes) -> str:
    """Store a checked photo under the tenant's prefix; the name is ours, never the uploaded file's."""
    content_type = check_photo(data)
    return storage().save(tenant_id=tenant_id, category=CATEGORY, filename=f"meter.{EXTENSIONS[content_type]}",
                          data=data)


def photo_token(key: str | None) -> str | None:
    """The public token of a stored photo (the random part of its key), for URLs."""
    if not key:
        return None
    name = key.rsplit("/", 1)[-1]
    token = name.split("-", 1)[0]
    return token if _TOKEN.match(token) else None


def valid_token(token: str) -> bool:
    return bool(_TOKEN.match(token or ""))


def key_pattern(*, tenant_id: int, token: str) -> str:
    """A LIKE pattern matching the key of the photo with `token` under the tenant's prefix."""
    return f"{storage().prefix(tenant_id)}{CATEGORY}/{token}-%"


def read_photo(*, tenant_id: int, key: str) -> tuple[bytes, str]:
    """The stored bytes and their content type (sniffed again: what we serve is what the bytes are)."""
    data = storage().read(tenant_id=tenant_id, key=key)
    return data, sniff_image(data) or "application/octet-stream"
