"""Issuing bills: numbers, due dates, ledger entries and the contract's billed-until date, in bulk.

Works on bills already written as drafts, with a fixed number of statements whatever
their count, so the same code issues one corrective bill or a chunk of a billing run.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import bindparam, insert, select, update

from domain.accounting.models import LedgerEntry
from domain.billing.models import Bill
from domain.billing.numbering import reserve_bill_numbers
from domain.contracts.models import Contract
from domain.db import db

_bills = Bill.__table__
_contracts = Contract.__table__
_ledger = LedgerEntry.__table__

DEBIT_KINDS = {"periodic", "final", "corrective", "instalment", "true_up"}


def issue_drafts(*, tenant_id: int, bill_ids: list[int], issued_at: datetime, issue_date: date,
                 payment_terms_days: int) -> int:
    """Issue these draft bills (in id order); returns how many were issued. Already issued ones are skipped."""
    if not bill_ids:
        return 0
    rows = db.session.execute(
        select(_bills.c.id, _bills.c.account_id, _bills.c.contract_id, _bills.c.kind, _bills.c.period_end,
               _bills.c.total_incl_tax, _bills.c.currency)
        .where(_bills.c.tenant_id == tenant_id, _bills.c.id.in_(bill_ids), _bills.c.status == "draft")
        .order_by(_bills.c.id).execution_options(tenant_filtered=True)
    ).all()
    if not rows:
        return 0
    numbers = reserve_bill_numbers(tenant_id=tenant_id, year=issue_date.year, count=len(rows))
    due = issue_date + timedelta(days=payment_terms_days)
    db.session.execute(
        update(_bills).where(_bills.c.tenant_id == tenant_id, _bills.c.id == bindparam("b_id"),
                             _bills.c.status == "draft")
        .values(number=bindparam("b_number"), status="issued", issued_at=issued_at, due_date=due)
        .execution_options(tenant_filtered=True),
        [{"b_id": r.id, "b_number": n} for r, n in zip(rows, numbers, strict=True)],
    )
    entries = []
    for row, number in zip(rows, numbers, strict=True):
        amount = row.total_incl_tax
        if amount == 0:
            continue
        credit = row.kind == "credit_note" or amount < 0
        entries.append({
            "tenant_id": tenant_id, "account_id": row.account_id, "booked_on": issue_date, "created_at": issued_at,
            "direction": "credit" if credit else "debit", "amount": abs(amount), "currency": row.currency,
            "description": f"{'Credit note' if row.kind == 'credit_note' else 'Bill'} {number}", "bill_id": row.id,
        })
    if entries:
        db.session.execute(insert(_ledger), entries)
    billed = [{"c_id": r.contract_id, "c_until": r.period_end} for r in rows
              if r.contract_id is not None and r.kind in ("periodic", "final")]
    if billed:
        db.session.execute(
            update(_contracts).where(_contracts.c.tenant_id == tenant_id, _contracts.c.id == bindparam("c_id"))
            .values(billed_until=bindparam("c_until")).execution_options(tenant_filtered=True),
            billed,
        )
    return len(rows)
