"""Issuing bills: numbers, due dates, ledger entries and the contract's billed-until date, in bulk.

Two ways in, with a fixed number of statements whatever the number of bills:
- `issue_new`: bills computed and issued in the same transaction (a run in issue mode, a
  corrective bill) are numbered before they are written, so they are inserted once, issued;
- `issue_drafts`: drafts written earlier (a simulated run) are numbered and issued later.

Numbers are taken as late as possible: the counter row of the tenant and year stays locked
from the numbering statement until the transaction commits, and every other issuer of the
tenant waits for it meanwhile. So everything that does not need the numbers (contracts'
billed-until dates, bill ids) is written first, and only the inserts of the numbered bills,
their lines and ledger entries remain between numbering and commit.
"""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import and_, bindparam, event, select, update
from sqlalchemy.orm import Session

from domain.accounting.models import LedgerEntry
from domain.billing.drafts import assign_bill_ids, insert_drafts
from domain.billing.models import Bill
from domain.billing.numbering import reserve_bill_numbers
from domain.bulk import among, array_literal, execute, id_array, insert_columns, insert_rows, is_postgresql
from domain.contracts.models import Contract, CustomerAccount
from domain.db import db

_bills = Bill.__table__
_contracts = Contract.__table__
_ledger = LedgerEntry.__table__
_FILTERED = {"tenant_filtered": True}
_BILLED_KINDS = ("periodic", "final")
# Bills issued in the session's open transaction, then (once it commits) waiting for their documents to be asked for:
# the job runner and the request dispatch their rendering after the commit (document_jobs.dispatch_documents).
_ISSUED = "billing.issued_bills"
_COMMITTED = "billing.committed_bills"
_TO_ANNOUNCE = "billing.bills_to_announce"  # the same bills, for the "bill available" notification


def _remember(tenant_id: int, bill_ids, issued_at: datetime) -> None:
    bill_ids = list(bill_ids)
    db.session.info.setdefault(_ISSUED, []).extend((tenant_id, bill_id) for bill_id in bill_ids)
    _publish_issued(tenant_id, bill_ids, issued_at)


def _publish_issued(tenant_id: int, bill_ids: list[int], issued_at: datetime) -> None:
    """`bill.issued` for webhook subscribers, in one bulk write per chunk, and only when a subscription listens
    (one cached query otherwise). The object is the API's bill summary."""
    from domain.webhooks.events import listening, publish

    if not bill_ids or not listening("bill.issued"):
        return
    accounts = CustomerAccount.__table__
    rows = db.session.execute(
        select(_bills.c.public_id, _bills.c.number, accounts.c.account_number, _bills.c.kind, _bills.c.period_start,
               _bills.c.period_end, _bills.c.issued_at, _bills.c.due_date, _bills.c.currency, _bills.c.total_excl_tax,
               _bills.c.total_tax, _bills.c.total_incl_tax)
        .join(accounts, and_(accounts.c.tenant_id == _bills.c.tenant_id, accounts.c.id == _bills.c.account_id))
        .where(_bills.c.tenant_id == tenant_id, among(_bills.c.id, bill_ids, db.session))
        .order_by(_bills.c.id),
        execution_options=_FILTERED,
    ).mappings().all()
    publish("bill.issued", [{**row, "status": "issued"} for row in rows],
            occurred_at=issued_at)


@event.listens_for(Session, "after_commit")
def _issued_bills_committed(session) -> None:
    issued = session.info.pop(_ISSUED, None)
    if issued:
        session.info.setdefault(_COMMITTED, []).extend(issued)
        session.info.setdefault(_TO_ANNOUNCE, []).extend(issued)


@event.listens_for(Session, "after_rollback")
def _issued_bills_rolled_back(session) -> None:
    session.info.pop(_ISSUED, None)


def committed_bills_to_announce(session=None) -> list[tuple[int, int]]:
    """Like `committed_bills`, for the notification that a bill is available (domain/communications): its own
    list, so asking for documents and announcing bills do not take each other's bills."""
    return (session or db.session).info.pop(_TO_ANNOUNCE, [])


def committed_bills(session=None) -> list[tuple[int, int]]:
    """(tenant id, bill id) of the bills issued by transactions of this session that have committed since the last
    call; each is returned once."""
    return (session or db.session).info.pop(_COMMITTED, [])

_PG_ADVANCE = (
    "UPDATE contracts AS c SET billed_until = v.period_end"
    " FROM unnest(CAST(%s AS bigint[]), CAST(%s AS date[])) AS v(contract_id, period_end)"
    " WHERE c.tenant_id = %s AND c.id = v.contract_id AND (c.billed_until IS NULL OR c.billed_until < v.period_end)"
)


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


def _post_ledger(tenant_id: int, bills: list[dict], issued_at: datetime, issue_date: date) -> None:
    rows = _ledger_rows(tenant_id, bills, issued_at, issue_date)
    if not rows:
        return
    if not is_postgresql(db.session):
        insert_rows(db.session, _ledger, rows)
        return
    names = ("account_id", "direction", "amount", "currency", "description", "bill_id")
    insert_columns(db.session, _ledger, {name: [row[name] for row in rows] for name in names},
                   constants={"tenant_id": tenant_id, "booked_on": issue_date, "created_at": issued_at})


def _billed_until(bills: list[dict]) -> dict[int, date]:
    """contract id -> end of its latest periodic or final bill among `bills`."""
    ends: dict[int, date] = {}
    for bill in bills:
        contract_id = bill["contract_id"]
        if contract_id is None or bill["kind"] not in _BILLED_KINDS:
            continue
        known = ends.get(contract_id)
        if known is None or known < bill["period_end"]:
            ends[contract_id] = bill["period_end"]
    return ends


def _advance_billed_until(tenant_id: int, ends: dict[int, date]) -> None:
    """Contracts are billed up to the end of their latest periodic or final bill: one set-based update."""
    if not ends:
        return
    if is_postgresql(db.session):
        execute(db.session, _PG_ADVANCE, (id_array(ends), array_literal(list(ends.values())), tenant_id))
        return
    db.session.execute(
        update(_contracts)
        .where(_contracts.c.tenant_id == tenant_id, _contracts.c.id == bindparam("c_id"),
               (_contracts.c.billed_until.is_(None)) | (_contracts.c.billed_until < bindparam("c_end")))
        .values(billed_until=bindparam("c_end")),
        [{"c_id": contract_id, "c_end": end} for contract_id, end in ends.items()],
        execution_options=_FILTERED,
    )


def due_date(*, issue_date: date, issued_at: datetime, payment_terms_days: int) -> date:
    """The payment terms run from the bill's date, or from the day it is really issued when that is later (a run
    dated the 1st and issued on the 28th): a customer never gets a bill that is already due."""
    return max(issue_date, issued_at.astimezone(UTC).date()) + timedelta(days=payment_terms_days)


def issue_new(*, tenant_id: int, drafts: list[tuple[dict, tuple]], issued_at: datetime, issue_date: date,
              payment_terms_days: int) -> list[int]:
    """Number, insert as issued and post (bill row, lines) pairs computed in this transaction; returns ids."""
    if not drafts:
        return []
    if issued_at.tzinfo is None:
        raise ValueError("naive datetime refused: pass an aware datetime (UTC)")
    due = due_date(issue_date=issue_date, issued_at=issued_at, payment_terms_days=payment_terms_days)
    rows = [row for row, _lines in drafts]
    for row in rows:
        row.update(status="issued", issued_at=issued_at, due_date=due)
    assign_bill_ids(db.session, drafts)
    _advance_billed_until(tenant_id, _billed_until(rows))
    # From here to the commit the tenant's counter row is locked: only the numbered inserts follow.
    numbers = reserve_bill_numbers(tenant_id=tenant_id, year=issue_date.year, count=len(drafts))
    for row, number in zip(rows, numbers, strict=True):
        row["number"] = number
    ids = insert_drafts(db.session, tenant_id=tenant_id, drafts=drafts)
    for row, bill_id in zip(rows, ids, strict=True):
        row["id"] = bill_id
    _post_ledger(tenant_id, rows, issued_at, issue_date)
    _remember(tenant_id, ids, issued_at)
    return ids


_PG_ISSUE_DRAFTS = (
    "UPDATE bills AS b SET number = v.number, status = 'issued', issued_at = %s, due_date = %s"
    " FROM unnest(CAST(%s AS bigint[]), CAST(%s AS varchar[])) AS v(id, number)"
    " WHERE b.tenant_id = %s AND b.id = v.id AND b.status = 'draft'"
)


def issue_drafts(*, tenant_id: int, bill_ids: list[int], issued_at: datetime, issue_date: date,
                 payment_terms_days: int) -> int:
    """Issue these draft bills (in id order); returns how many were issued. Already issued ones are skipped."""
    if not bill_ids:
        return 0
    rows = db.session.execute(
        select(_bills.c.id, _bills.c.account_id, _bills.c.contract_id, _bills.c.kind, _bills.c.period_end,
               _bills.c.total_incl_tax, _bills.c.currency)
        .where(_bills.c.tenant_id == tenant_id, among(_bills.c.id, bill_ids, db.session), _bills.c.status == "draft")
        .order_by(_bills.c.id)
        .with_for_update(),  # a concurrent issuer of the same drafts waits, then finds them issued
        execution_options=_FILTERED,
    ).mappings().all()
    if not rows:
        return 0
    _advance_billed_until(tenant_id, _billed_until(rows))
    # From here to the commit the tenant's counter row is locked: only the numbered writes follow.
    numbers = reserve_bill_numbers(tenant_id=tenant_id, year=issue_date.year, count=len(rows))
    due = due_date(issue_date=issue_date, issued_at=issued_at, payment_terms_days=payment_terms_days)
    if is_postgresql(db.session):
        execute(db.session, _PG_ISSUE_DRAFTS, (issued_at, due, id_array(r["id"] for r in rows),
                                               array_literal(numbers), tenant_id))
    else:
        db.session.execute(
            update(_bills).where(and_(_bills.c.tenant_id == tenant_id, _bills.c.id == bindparam("b_id"),
                                      _bills.c.status == "draft"))
            .values(number=bindparam("b_number"), status="issued", issued_at=issued_at, due_date=due),
            [{"b_id": r["id"], "b_number": n} for r, n in zip(rows, numbers, strict=True)],
            execution_options=_FILTERED,
        )
    issued = [{**r, "number": n} for r, n in zip(rows, numbers, strict=True)]
    _post_ledger(tenant_id, issued, issued_at, issue_date)
    _remember(tenant_id, [r["id"] for r in rows], issued_at)
    return len(rows)
