"""Attachments of requests: checked by their content (magic bytes) and size, stored under the tenant's prefix."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from domain.db import db
from domain.requests.models import RequestAttachment
from domain.storage import storage

MAX_BYTES = 5 * 1024 * 1024
MAX_FILES = 3
# What the file starts with decides its type; the browser's declared type and the name are not trusted.
_SIGNATURES = (
    (b"%PDF-", "application/pdf", ".pdf"),
    (b"\xff\xd8\xff", "image/jpeg", ".jpg"),
    (b"\x89PNG\r\n\x1a\n", "image/png", ".png"),
)


class AttachmentRefused(ValueError):
    """A file that may not be attached; `code` says why (type, size, empty, count), `filename` which one."""

    def __init__(self, code: str, filename: str = ""):
        super().__init__(f"{code}: {filename}")
        self.code = code
        self.filename = filename


@dataclass(frozen=True)
class Upload:
    """A file as received, before it is checked."""

    filename: str
    data: bytes


@dataclass(frozen=True)
class CheckedUpload:
    filename: str
    data: bytes
    content_type: str


def sniff(data: bytes) -> tuple[str, str] | None:
    """(content type, extension) from the file's first bytes, or None for a type we do not accept."""
    for magic, content_type, extension in _SIGNATURES:
        if data.startswith(magic):
            return content_type, extension
    return None


def check_uploads(uploads: list[Upload]) -> list[CheckedUpload]:
    """Every upload checked, or AttachmentRefused for the first one that is not acceptable."""
    uploads = [u for u in uploads if u.filename or u.data]
    if len(uploads) > MAX_FILES:
        raise AttachmentRefused("count")
    checked = []
    for upload in uploads:
        name = (upload.filename or "file").replace("\\", "/").rsplit("/", 1)[-1][:120] or "file"
        if not upload.data:
            raise AttachmentRefused("empty", name)
        if len(upload.data) > MAX_BYTES:
            raise AttachmentRefused("size", name)
        found = sniff(upload.data)
        if found is None:
            raise AttachmentRefused("type", name)
        content_type, extension = found
        if not name.lower().endswith(extension) and not (extension == ".jpg" and name.lower().endswith(".jpeg")):
            name = f"{name}{extension}"  # the stored name never claims another type than the content
        checked.append(CheckedUpload(filename=name, data=upload.data, content_type=content_type))
    return checked


def store(*, request, message, uploads: list[CheckedUpload], uploaded_by_kind: str,
          now: datetime) -> list[RequestAttachment]:
    """Write the checked files under the tenant's prefix and record them on the request (and message)."""
    files = storage()
    rows = []
    for upload in uploads:
        key = files.save(tenant_id=request.tenant_id, category="requests", filename=upload.filename,
                         data=upload.data)
        row = RequestAttachment(
            request_id=request.id, message_id=message.id if message is not None else None,
            filename=upload.filename[:200], content_type=upload.content_type, size_bytes=len(upload.data),
            storage_key=key, uploaded_by_kind=uploaded_by_kind, uploaded_at=now,
        )
        db.session.add(row)
        rows.append(row)
    db.session.flush()
    return rows


def content_of(attachment: RequestAttachment) -> bytes | None:
    """The file's bytes, or None when the stored file is gone (answered like a missing file)."""
    files = storage()
    if not files.exists(tenant_id=attachment.tenant_id, key=attachment.storage_key):
        return None
    return files.read(tenant_id=attachment.tenant_id, key=attachment.storage_key)
