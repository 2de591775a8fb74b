"""What the back office reads of the API keys: each key's use over the last day, and the call log filtered and paged."""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select

from domain.apikeys.models import ApiCall, ApiKey
from domain.db import db

STATUS_CLASSES = (2, 4, 5)
MAX_ENDPOINT_FILTER = 200
NO_KEY = 0  # a key id no row has: the filter of a key that does not exist keeps no call


@dataclass(frozen=True, slots=True)
class KeyUse:
    calls_last_day: int
    latest_call_at: datetime | None


NO_USE = KeyUse(0, None)


def use_by_key(*, now: datetime) -> dict[int, KeyUse]:
    """Calls in the 24 hours before `now` and the latest call, per key id. Two subqueries per key, each a range of
    the (tenant, key, time) index, rather than a scan of 90 days of calls."""
    since = now - timedelta(hours=24)
    recent = (select(func.count(ApiCall.id)).where(ApiCall.api_key_id == ApiKey.id, ApiCall.called_at >= since)
              .correlate(ApiKey).scalar_subquery())
    latest = select(func.max(ApiCall.called_at)).where(ApiCall.api_key_id == ApiKey.id).correlate(ApiKey)
    rows = db.session.execute(select(ApiKey.id, recent, latest.scalar_subquery().label("latest")))
    return {key_id: KeyUse(int(count or 0), latest_at) for key_id, count, latest_at in rows}


@dataclass(frozen=True, slots=True)
class CallFilter:
    """Which calls to list: one key (its row id), one status class (2, 4 or 5), endpoints containing a text."""

    key_id: int | None = None
    status_class: int | None = None
    endpoint: str = ""


@dataclass(frozen=True, slots=True)
class CallRow:
    call: ApiCall
    key_name: str
    key_public_id: str


def _filtered(statement, wanted: CallFilter):
    if wanted.key_id is not None:
        statement = statement.where(ApiCall.api_key_id == wanted.key_id)
    if wanted.status_class in STATUS_CLASSES:
        low = wanted.status_class * 100
        statement = statement.where(ApiCall.status >= low, ApiCall.status < low + 100)
    text = wanted.endpoint.strip().lower()[:MAX_ENDPOINT_FILTER]
    if text:
        statement = statement.where(func.lower(ApiCall.endpoint).contains(text, autoescape=True))
    return statement


def count_calls(wanted: CallFilter) -> int:
    return db.session.scalar(_filtered(select(func.count(ApiCall.id)), wanted)) or 0


def _rows_statement(wanted: CallFilter):
    return _filtered(
        select(ApiCall, ApiKey.name, ApiKey.public_id).join(ApiKey, ApiKey.id == ApiCall.api_key_id)
        .order_by(ApiCall.called_at.desc(), ApiCall.id.desc()), wanted)


def call_rows(wanted: CallFilter, *, offset: int, limit: int) -> list[CallRow]:
    """The calls, newest first, with the name of the key that made each."""
    result = db.session.execute(_rows_statement(wanted).offset(offset).limit(limit))
    return [CallRow(call, name, public_id) for call, name, public_id in result]


def every_call_row(wanted: CallFilter, *, limit: int) -> Iterator[CallRow]:
    """All the calls the filter keeps (up to `limit`), read in chunks: the CSV export."""
    result = db.session.execute(_rows_statement(wanted).limit(limit).execution_options(yield_per=1000))
    for call, name, public_id in result:
        yield CallRow(call, name, public_id)


def staff_names(ids) -> dict[int, str]:
    """The full names of the staff members who created or revoked keys."""
    from domain.identity.models import StaffUser

    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    return dict(db.session.execute(select(StaffUser.id, StaffUser.full_name).where(StaffUser.id.in_(wanted))).all())
