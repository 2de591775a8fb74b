"""Gapless bill numbers per tenant and year, taken only when bills are issued.

The counter row is updated in the same transaction as the bills it numbers: if the
transaction rolls back, so does the counter, so no number is ever lost or reused.
Concurrent issuers queue on the row lock, which is held only until their commit.
"""
from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from domain.billing.models import BillNumberSequence
from domain.bulk import fetch
from domain.db import db

_table = BillNumberSequence.__table__


def format_bill_number(year: int, value: int) -> str:
    return f"{year}-{value:07d}"


_PG_RESERVE = (
    "INSERT INTO bill_number_sequences AS s (tenant_id, year, next_value) VALUES (%s, %s, %s)"
    " ON CONFLICT (tenant_id, year) DO UPDATE SET next_value = s.next_value + %s"
    " RETURNING s.next_value"
)


def reserve_bill_numbers(*, tenant_id: int, year: int, count: int) -> list[str]:
    """The next `count` numbers of the tenant's `year`, in order."""
    if count <= 0:
        return []
    session = db.session
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        # One statement: create the counter on the year's first bill, else move it on (the row stays locked).
        next_value = fetch(session, _PG_RESERVE, (tenant_id, year, count + 1, count))[0][0]
        return [format_bill_number(year, value) for value in range(next_value - count, next_value)]
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    session.execute(
        insert(_table).values(tenant_id=tenant_id, year=year, next_value=1)
        .on_conflict_do_nothing(index_elements=["tenant_id", "year"])
    )
    where = (_table.c.tenant_id == tenant_id) & (_table.c.year == year)
    next_value = session.execute(
        update(_table).where(where).values(next_value=_table.c.next_value + count).returning(_table.c.next_value)
        .execution_options(tenant_filtered=True)
    ).scalar_one()
    first = next_value - count
    return [format_bill_number(year, value) for value in range(first, next_value)]


def peek_next_number(*, tenant_id: int, year: int) -> str:
    value = db.session.scalar(select(_table.c.next_value).where(
        (_table.c.tenant_id == tenant_id) & (_table.c.year == year)).execution_options(tenant_filtered=True))
    return format_bill_number(year, value or 1)
