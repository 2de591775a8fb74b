"""Issuing bills: numbers, due dates, ledger entries and the contract's billed-until date, in bulk.

Two ways in, with a fixed number of statements whatever the number of bills:
- `issue_new`: bills computed and issued in the same transaction (a run in issue mode, a
  corrective bill) are numbered before they are written, so they are inserted once, issued;
- `issue_drafts`: drafts written earlier (a simulated run) are numbered and issued later.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import and_, bindparam, insert, select, update

from domain.accounting.models import LedgerEntry
from domain.billing.drafts import insert_drafts
from domain.billing.models import Bill
from domain.billing.numbering import reserve_bill_numbers
from domain.contracts.models import Contract
from domain.bulk import among, insert_rows
from domain.db import db

_bills = Bill.__table__
_contracts = Contract.__table__
_ledger = LedgerEntry.__table__
_FILTERED = {"tenant_filtered": True}


def _ledger_rows(tenant_id: int, bills: list[dict], issued_at: datetime, issue_date: date) -> list[dict]:
    """A debit per bill (a credit for credit notes and negative bills); nothing for a zero bill."""
    rows = []
    for bill in bills:
        amount = bill["total_incl_tax"]
        if amount == 0:
            continue
        credit = bill["kind"] == "credit_note" or amount < 0
        label = "Credit note" if bill["kind"] == "credit_note" else "Bill"
        rows.append({
            "tenant_id": tenant_id, "account_id": bill["account_id"], "booked_on": issue_date, "created_at": issued_at,
            "direction": "credit" if credit else "debit", "amount": abs(amount), "currency": bill["currency"],
            "description": f"{label} {bill['number']}", "bill_id": bill["id"],
        })
    return rows


def _advance_billed_until(tenant_id: int, bill_ids: list[int]) -> None:
    """Contracts are billed up to the end of their latest periodic or final bill: one set-based update."""
    if not bill_ids:
        return
    latest = (
        select(_bills.c.contract_id, _bills.c.period_end)
        .where(_bills.c.tenant_id == tenant_id, among(_bills.c.id, bill_ids, db.session),
               _bills.c.kind.in_(("periodic", "final")))
        .subquery()
    )
    db.session.execute(
        update(_contracts)
        .where(_contracts.c.tenant_id == tenant_id, _contracts.c.id == latest.c.contract_id,
               (_contracts.c.billed_until.is_(None)) | (_contracts.c.billed_until < latest.c.period_end))
        .values(billed_until=latest.c.period_end),
        execution_options=_FILTERED,
    )


def issue_new(*, tenant_id: int, drafts: list[tuple[dict, tuple]], issued_at: datetime, issue_date: date,
              payment_terms_days: int) -> list[int]:
    """Number, insert as issued and post (bill row, lines) pairs computed in this transaction; returns ids."""
    if not drafts:
        return []
    numbers = reserve_bill_numbers(tenant_id=tenant_id, year=issue_date.year, count=len(drafts))
    due = issue_date + timedelta(days=payment_terms_days)
    for (row, _lines), number in zip(drafts, numbers, strict=True):
        row.update(number=number, status="issued", issued_at=issued_at, due_date=due)
    ids = insert_drafts(db.session, tenant_id=tenant_id, drafts=drafts)
    for (row, _lines), bill_id in zip(drafts, ids, strict=True):
        row["id"] = bill_id
    insert_rows(db.session, _ledger, _ledger_rows(tenant_id, [row for row, _lines in drafts], issued_at,
                                                  issue_date))
    _advance_billed_until(tenant_id, ids)
    return ids


def issue_drafts(*, tenant_id: int, bill_ids: list[int], issued_at: datetime, issue_date: date,
                 payment_terms_days: int) -> int:
    """Issue these draft bills (in id order); returns how many were issued. Already issued ones are skipped."""
    if not bill_ids:
        return 0
    rows = db.session.execute(
        select(_bills.c.id, _bills.c.account_id, _bills.c.kind, _bills.c.total_incl_tax, _bills.c.currency)
        .where(_bills.c.tenant_id == tenant_id, among(_bills.c.id, bill_ids, db.session), _bills.c.status == "draft")
        .order_by(_bills.c.id),
        execution_options=_FILTERED,
    ).mappings().all()
    if not rows:
        return 0
    numbers = reserve_bill_numbers(tenant_id=tenant_id, year=issue_date.year, count=len(rows))
    due = issue_date + timedelta(days=payment_terms_days)
    db.session.execute(
        update(_bills).where(and_(_bills.c.tenant_id == tenant_id, _bills.c.id == bindparam("b_id"),
                                  _bills.c.status == "draft"))
        .values(number=bindparam("b_number"), status="issued", issued_at=issued_at, due_date=due),
        [{"b_id": r["id"], "b_number": n} for r, n in zip(rows, numbers, strict=True)],
        execution_options=_FILTERED,
    )
    issued = [{**r, "number": n} for r, n in zip(rows, numbers, strict=True)]
    entries = _ledger_rows(tenant_id, issued, issued_at, issue_date)
    if entries:
        db.session.execute(insert(_ledger), entries)
    _advance_billed_until(tenant_id, [r["id"] for r in rows])
    return len(rows)
