"""What every sync list shares: its query (page, cursor, `updated_since`), its cursor over (updated_at, row), and
amounts, quantities and rates written as exact text."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal


from api.pagination import bad_cursor, decode_cursor, encode_cursor
from domain.changes import ChangePage, Position

SYNC_CONTRACT = (
    "Items come in a stable order: by `updated_at`, then by an internal tie-breaker, so a walk with `cursor` gives "
    "every item once even when many changed at the same moment. `updated_at` moves on every change of the item "
    "(whoever made it: staff, the portal, billing runs, imports) and of what the item shows (see each field). "
    "To sync: the first time, walk the whole list; then call again with `updated_since` set to the latest "
    "`updated_at` you received minus a small overlap (a minute): `updated_since` is inclusive, and a change "
    "committed late may carry a slightly earlier time, so expect to receive some items again and update them "
    "in place by their public identifier.")


def money(amount: Decimal | None) -> str | None:
    return None if amount is None else f"{Decimal(amount):.2f}"


def quantity(amount: Decimal | None) -> str | None:
    return None if amount is None else f"{Decimal(amount):.3f}"


def exact(value: Decimal | None) -> str | None:
    """A rate or a factor as stored (its own precision), as text."""
    return None if value is None else format(Decimal(value), "f")


def position_of(cursor: str | None, list_name: str) -> Position | None:
    """The position a cursor of this list holds; a cursor of another list, or none of ours, is a 422."""
    if cursor is None:
        return None
    values = decode_cursor(cursor, size=3)
    name, changed_at, row_id = values
    if name != list_name or not isinstance(changed_at, datetime) or changed_at.tzinfo is None \
            or not isinstance(row_id, int) or isinstance(row_id, bool):
        raise bad_cursor()
    return Position(changed_at, row_id)


def next_cursor(page: ChangePage, list_name: str) -> str | None:
    following = page.next_position
    return None if following is None else encode_cursor(list_name, following.changed_at, following.row_id)
