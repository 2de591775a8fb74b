"""Writes computed bills in bulk: one statement for the bills, one for all their lines."""
from __future__ import annotations

import os

from domain.billing.models import Bill, BillLine
from domain.bulk import insert_columns, insert_rows, is_postgresql, reserve_ids
from domain.db import new_uuid

_bills, _lines = Bill.__table__, BillLine.__table__
# Columns of the bill lines as `_line_tuples` lays them out (tenant_id apart: one value for the statement).
_LINE_COLUMNS = ("bill_id", "position", "component", "description", "period_start", "period_end", "quantity", "unit",
                 "unit_price", "amount", "tax_rate", "register_code", "unit_price_includes_tax", "amount_incl_tax")
_VARIANT = {digit: "89ab"[int(digit, 16) & 3] for digit in "0123456789abcdef"}  # RFC 4122 variant: 10xx


def public_ids(count: int) -> list[str]:
    """`count` random (version 4) UUIDs as text, for the public ids of a chunk's bills.

    `str(uuid.uuid4())` costs a system call and a UUID object per bill (~4-5 us); one read of the system's random
    source for the whole batch and string slicing cost a fifth of that. Same format and randomness (122 random
    bits, version and variant set as RFC 4122 says). Nothing is buffered between calls: a forked work horse never
    reuses its parent's random bytes.
    """
    digits = os.urandom(16 * count).hex()
    ids = []
    for start in range(0, 32 * count, 32):
        h = digits[start:start + 32]
        ids.append(f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{_VARIANT[h[16]]}{h[17:20]}-{h[20:]}")
    return ids


def draft_row(*, tenant_id: int, account_id: int, contract_id: int | None, kind: str, period_start, period_end,
              currency: str, result, billing_run_id: int | None = None, corrects_bill_id: int | None = None,
              public_id: str | None = None) -> dict:
    """The bills-table row of an engine result (totals, and whether any index it bills is an estimate).
    `public_id`: one of `public_ids(...)` when bills are made in bulk; a new one otherwise."""
    return {
        "tenant_id": tenant_id, "public_id": public_id or new_uuid(), "account_id": account_id,
        "contract_id": contract_id, "kind": kind, "status": "draft", "period_start": period_start,
        "period_end": period_end,
        "currency": currency, "total_excl_tax": result.total_excl_tax, "total_tax": result.total_tax,
        "total_incl_tax": result.total_incl_tax, "billing_run_id": billing_run_id,
        "corrects_bill_id": corrects_bill_id,
        # Estimated when any index it bills is an estimate, stored earlier or made now: a later actual
        # reading then regularises it.
        "estimated": bool(result.estimated or any(c.estimated for c in result.consumption)),
    }


def _line_tuples(bill_ids: list[int], drafts: list[tuple[dict, tuple]]) -> list[tuple]:
    return [
        (bill_id, position, line.component, line.description, line.period_start, line.period_end, line.quantity,
         line.unit, line.unit_price, line.amount, line.tax_rate, line.register_code, line.unit_price_includes_tax,
         line.amount_incl_tax)
        for bill_id, (_row, lines) in zip(bill_ids, drafts, strict=True)
        for position, line in enumerate(lines, start=1)
    ]


def assign_bill_ids(session, drafts: list[tuple[dict, tuple]]) -> list[int] | None:
    """Reserve an id for every draft row without one (PostgreSQL; None elsewhere: ids come on insert)."""
    if not is_postgresql(session):
        return None
    rows = [row for row, _lines in drafts if row.get("id") is None]
    if rows:
        for row, new_id in zip(rows, reserve_ids(session, _bills, len(rows)), strict=True):
            row["id"] = new_id
    return [row["id"] for row, _lines in drafts]


def insert_drafts(session, *, tenant_id: int, drafts: list[tuple[dict, tuple]]) -> list[int]:
    """Insert (bill row, engine lines) pairs; returns the new bill ids in the same order."""
    if not drafts:
        return []
    if not is_postgresql(session):
        inserted = insert_rows(session, _bills, [row for row, _lines in drafts], return_ids=True)
        lines = _line_tuples(inserted, drafts)
        insert_rows(session, _lines, [{"tenant_id": tenant_id, **dict(zip(_LINE_COLUMNS, line, strict=True))}
                                      for line in lines])
        return list(inserted)
    ids = assign_bill_ids(session, drafts)
    rows = [row for row, _lines in drafts]
    names = [c.name for c in _bills.columns if any(c.name in row for row in rows)]
    insert_columns(session, _bills, {name: [row.get(name) for row in rows] for name in names})
    lines = _line_tuples(ids, drafts)
    if lines:
        insert_columns(session, _lines, dict(zip(_LINE_COLUMNS, zip(*lines, strict=True), strict=True)),
                       constants={"tenant_id": tenant_id})
    return ids
