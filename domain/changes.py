"""Lists in change order for the systems that sync with us (the integration API): a page is the rows after a
position (updated_at, id) in a stable order, optionally only those changed since a moment. `updated_at` is kept by
the database (migration 0034), so every write path moves it."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Generic, TypeVar

from sqlalchemy import Select, literal, tuple_

T = TypeVar("T")

MAX_LIMIT = 500


@dataclass(frozen=True)
class Position:
    """Where the previous page ended: the (changed at, row) of its latest row. Opaque to the caller (the API
    wraps it in its cursor)."""

    changed_at: datetime
    row_id: int


@dataclass(frozen=True)
class ChangePage(Generic[T]):
    items: list[T]
    next_position: Position | None  # None: this was the last page


def in_change_order(stmt: Select, changed_at, row_id, *, after: Position | None, updated_since: datetime | None,
                    limit: int) -> Select:
    """`stmt` ordered by (changed_at, row_id), after `after`, changed at or after `updated_since` (inclusive),
    `limit` + 1 rows (the extra one tells whether another page follows)."""
    if updated_since is not None:
        stmt = stmt.where(changed_at >= updated_since)
    if after is not None:
        # Typed binds: SQLite compares the stored text, so the moment must be written the way the column stores it.
        stmt = stmt.where(tuple_(changed_at, row_id) > tuple_(literal(after.changed_at, changed_at.type),
                                                              literal(after.row_id, row_id.type)))
    return stmt.order_by(changed_at, row_id).limit(max(1, min(limit, MAX_LIMIT)) + 1)


def split_page(rows: list, limit: int, position_of) -> tuple[list, Position | None]:
    """(the rows of this page, the position the next page starts after, or None when none follows)."""
    limit = max(1, min(limit, MAX_LIMIT))
    if len(rows) <= limit:
        return rows, None
    rows = rows[:limit]
    return rows, position_of(rows[-1])
