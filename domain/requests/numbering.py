"""Gapless request numbers per tenant and year, one format: `R<year>-<six digits>` (R2026-000001).

One counter row per tenant and year is moved on in the transaction that opens the request: if that
transaction rolls back, so does the counter, so no number is lost or given twice; a concurrent opener waits
on the row lock until the first commits. The unique constraint on (tenant_id, reference) backs it up.
References given before (the demo's former `SR-2026-00001`) keep their text and stay valid in URLs; the
migration that introduced the counter started it after the highest number of either form.
"""
from __future__ import annotations

import re

from sqlalchemy import update
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from domain.bulk import fetch
from domain.db import db
from domain.requests.models import RequestNumberSequence

_table = RequestNumberSequence.__table__
# Both forms ever given: R2026-000001 (this one) and SR-2026-00001 (the demo's former one).
REFERENCE_FORMS = re.compile(r"^(?:R|SR-)(\d{4})-(\d{1,9})$")

_PG_RESERVE = (
    "INSERT INTO request_number_sequences AS s (tenant_id, year, next_value) VALUES (%s, %s, 2)"
    " ON CONFLICT (tenant_id, year) DO UPDATE SET next_value = s.next_value + 1"
    " RETURNING s.next_value"
)


def format_reference(year: int, value: int) -> str:
    return f"R{year}-{value:06d}"


def parse_reference(reference: str) -> tuple[int, int] | None:
    """(year, number) of a reference of either form, None for anything else."""
    found = REFERENCE_FORMS.match(reference or "")
    return (int(found.group(1)), int(found.group(2))) if found else None


def reserve_reference(*, tenant_id: int, year: int) -> str:
    """The tenant's next request reference of `year`; the counter row stays locked until commit."""
    session = db.session
    if session.get_bind().dialect.name == "postgresql":
        next_value = fetch(session, _PG_RESERVE, (tenant_id, year))[0][0]
        return format_reference(year, next_value - 1)
    session.execute(sqlite_insert(_table).values(tenant_id=tenant_id, year=year, next_value=1)
                    .on_conflict_do_nothing(index_elements=["tenant_id", "year"]))
    next_value = session.execute(
        update(_table).where((_table.c.tenant_id == tenant_id) & (_table.c.year == year))
        .values(next_value=_table.c.next_value + 1).returning(_table.c.next_value)
        .execution_options(tenant_filtered=True)
    ).scalar_one()
    return format_reference(year, next_value - 1)

