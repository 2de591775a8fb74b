"""The next public number of a tenant's accounts, parties and contracts: the latest given, plus one, in its form.

Utilities come with numbers of their own (the demo's `AQ00001001`, an imported base's); a number given here
continues the form of the latest one (same prefix, same width), so staff and customers keep one series. A tenant
without any starts a series from a prefix of its own (the slug's first letters). Two staff members creating
customers at once queue on a transaction-scoped lock (PostgreSQL) and the unique constraints back it up.
"""
from __future__ import annotations

import re
import zlib

from sqlalchemy import func, select, text

from domain.db import db

_FORM = re.compile(r"^(.*?)(\d+)$")


def _lock(tenant_id: int, kind: str) -> None:
    """Serialise numbering of this kind within the tenant until the transaction ends (PostgreSQL only: SQLite
    writes one transaction at a time anyway)."""
    if db.session.get_bind().dialect.name == "postgresql":
        key = (tenant_id * 31 + zlib.crc32(kind.encode())) & 0x7FFFFFFF
        db.session.execute(text("SELECT pg_advisory_xact_lock(:a, :b)"),
                           {"a": zlib.crc32(b"numbering") & 0x7FFFFFFF, "b": key})


def next_number(*, column, tenant_id: int, kind: str, fallback_prefix: str, fallback_width: int = 8,
                fallback_first: int = 1) -> str:
    """The number after the latest one of `column` (a tenant-scoped model's column), keeping its form.

    The latest is the one of the most recently created row; among the numbers of the same form the highest is
    moved on by one (numbers given out of order, e.g. imported, are never reused)."""
    _lock(tenant_id, kind)
    model = column.class_
    latest = db.session.scalar(select(column).order_by(model.id.desc()).limit(1))
    found = _FORM.match(latest or "")
    if found is None:
        return f"{fallback_prefix}{fallback_first:0{fallback_width}d}"
    prefix, digits = found.group(1), found.group(2)
    width = len(digits)
    highest = db.session.scalar(
        select(func.max(column)).where(column.like(_like_prefix(prefix) + "%", escape="\\"),
                                       func.length(column) == len(prefix) + width))
    match = _FORM.match(highest or "")
    value = int(match.group(2)) if match and match.group(1) == prefix else int(digits)
    return f"{prefix}{value + 1:0{width}d}"


def _like_prefix(prefix: str) -> str:
    return prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def tenant_prefix(slug: str) -> str:
    """Two letters for a tenant's first numbers: `aquaville` -> `AQ`."""
    letters = [ch for ch in slug.upper() if ch.isalpha()]
    return "".join(letters[:2]) or "C"
