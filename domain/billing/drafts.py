"""Writes computed bills as drafts in bulk: one statement for the bills, one for all their lines."""
from __future__ import annotations

from domain.billing.models import Bill, BillLine
from domain.bulk import insert_rows
from domain.db import new_uuid

_bills, _lines = Bill.__table__, BillLine.__table__


def draft_row(*, tenant_id: int, account_id: int, contract_id: int | None, kind: str, period_start, period_end,
              currency: str, result, billing_run_id: int | None = None, corrects_bill_id: int | None = None) -> dict:
    """The bills-table row of an engine result (totals, and whether any index it bills is an estimate)."""
    return {
        "tenant_id": tenant_id, "public_id": new_uuid(), "account_id": account_id, "contract_id": contract_id,
        "kind": kind, "status": "draft", "period_start": period_start, "period_end": period_end,
        "currency": currency, "total_excl_tax": result.total_excl_tax, "total_tax": result.total_tax,
        "total_incl_tax": result.total_incl_tax, "billing_run_id": billing_run_id,
        "corrects_bill_id": corrects_bill_id,
        # Estimated when any index it bills is an estimate, stored earlier or made now: a later actual
        # reading then regularises it.
        "estimated": bool(result.estimated or any(c.estimated for c in result.consumption)),
    }


def insert_drafts(session, *, tenant_id: int, drafts: list[tuple[dict, tuple]]) -> list[int]:
    """Insert (bill row, engine lines) pairs; returns the new bill ids in the same order."""
    if not drafts:
        return []
    inserted = insert_rows(session, _bills, [row for row, _lines in drafts], return_ids=True)
    line_rows = []
    for bill_id, (_row, lines) in zip(inserted, drafts, strict=True):
        for position, line in enumerate(lines, start=1):
            line_rows.append({
                "tenant_id": tenant_id, "bill_id": bill_id, "position": position, "component": line.component,
                "description": line.description, "period_start": line.period_start, "period_end": line.period_end,
                "quantity": line.quantity, "unit": line.unit, "unit_price": line.unit_price, "amount": line.amount,
                "tax_rate": line.tax_rate, "register_code": line.register_code,
                "unit_price_includes_tax": line.unit_price_includes_tax, "amount_incl_tax": line.amount_incl_tax,
            })
    insert_rows(session, _lines, line_rows)
    return list(inserted)
