"""Cursor pagination and `updated_since` for every list of the API.

A cursor is opaque to the caller: the sort values of the last row given, so the next page starts strictly after
it whatever was inserted meanwhile (no row given twice, none skipped, ties broken by a unique column).
"""
from __future__ import annotations

import base64
import json
from datetime import date, datetime
from decimal import Decimal
from functools import cache
from typing import Any, Generic, TypeVar

from flask_babel import gettext as _
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, create_model

from api.errors import ApiError

Item = TypeVar("Item", bound=BaseModel)

MAX_LIMIT = 500


class PageQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")

    limit: int = Field(100, ge=1, le=MAX_LIMIT, description="How many items per page (1 to 500).")
    cursor: str | None = Field(None, max_length=500,
                               description="`next_cursor` of the previous page, to get the next one.")
    updated_since: AwareDatetime | None = Field(
        None, description="Only what was created or changed at or after this time (RFC 3339 with its offset). "
                          "To sync, pass the latest `updated_at` you received, minus a minute of overlap: a change "
                          "committed late may carry an earlier time.")


class Page(BaseModel, Generic[Item]):
    data: list[Item]
    next_cursor: str | None = Field(description="Pass it as `cursor` for the next page; `null` on the last page.")


@cache
def page_model(item: type[BaseModel]) -> type[BaseModel]:
    """`{"data": [item...], "next_cursor": ...}` named after the item (`BillPage`), for the OpenAPI description."""
    return create_model(f"{item.__name__}Page", __base__=Page[item])


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return {"t": value.isoformat()}
    if isinstance(value, date):
        return {"d": value.isoformat()}
    if isinstance(value, Decimal):
        return {"n": str(value)}
    return value


def _typed(value: Any) -> Any:
    if isinstance(value, dict) and len(value) == 1:
        (kind, text), = value.items()
        if kind == "t":
            return datetime.fromisoformat(text)
        if kind == "d":
            return date.fromisoformat(text)
        if kind == "n":
            return Decimal(text)
    return value


def encode_cursor(*values: Any) -> str:
    raw = json.dumps([_plain(v) for v in values], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(text: str, *, size: int | None = None) -> tuple:
    """The values a cursor holds; a cursor that is not one of ours (or of another list) is a 422."""
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        values = tuple(_typed(v) for v in json.loads(raw))
    except (ValueError, TypeError) as exc:
        raise bad_cursor() from exc
    if size is not None and len(values) != size:
        raise bad_cursor()
    return values


def bad_cursor() -> ApiError:
    """The answer to a cursor that is none of ours, or of another list."""
    return ApiError(422, "invalid_cursor", _("This cursor is not valid: use `next_cursor` from the previous page."),
                    details=[{"field": "query.cursor"}])
