"""Serving a tenant's private files (meter photos, attachments, documents) from a view."""
from __future__ import annotations

from flask import make_response


def private_file(data: bytes, content_type: str, *, disposition: str = "inline"):
    """The bytes with their checked type: never sniffed into something else (HTML), never kept by a shared cache."""
    response = make_response(data)
    response.headers["Content-Type"] = content_type
    response.headers["Content-Disposition"] = disposition
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
