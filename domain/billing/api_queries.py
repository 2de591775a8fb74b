"""What the integration API shows of bills (issued and cancelled, never drafts) with their lines and what was paid
on them, in change order for syncing; a page of bills with all their lines is three set-based queries. The PDF is
the stored document as issued (`bills.document_of`), never a new rendering."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import aliased

from domain.billing.bills import paid_by_bill, payment_status
from domain.billing.models import Bill, BillLine
from domain.changes import ChangePage, Position, in_change_order, split_page
from domain.contracts.models import Contract, CustomerAccount
from domain.db import db


@dataclass(frozen=True)
class BillLineRecord:
    position: int
    component: str
    description: str
    period_start: date | None
    period_end: date | None
    register_code: str | None
    quantity: Decimal
    unit: str
    unit_price: Decimal
    unit_price_includes_tax: bool
    amount: Decimal
    tax_rate: Decimal
    amount_incl_tax: Decimal | None


@dataclass(frozen=True)
class BillRecord:
    number: str
    public_id: str
    account_number: str
    contract_number: str | None
    corrects_bill_number: str | None
    kind: str
    status: str
    estimated: bool
    period_start: date
    period_end: date
    issued_at: datetime | None
    due_date: date | None
    cancelled_at: datetime | None
    currency: str
    total_excl_tax: Decimal
    total_tax: Decimal
    total_incl_tax: Decimal
    paid: Decimal
    outstanding: Decimal
    payment_status: str  # domain.billing.bills.BILL_PAYMENT_STATUSES
    updated_at: datetime
    lines: list[BillLineRecord]


_corrected = aliased(Bill)


def _select():
    return (select(Bill.id, Bill.number, Bill.public_id, CustomerAccount.account_number, Contract.contract_number,
                   _corrected.number.label("corrects_number"), Bill.kind, Bill.status, Bill.estimated,
                   Bill.period_start, Bill.period_end, Bill.issued_at, Bill.due_date, Bill.cancelled_at,
                   Bill.currency, Bill.total_excl_tax, Bill.total_tax, Bill.total_incl_tax, Bill.updated_at)
            .join(CustomerAccount, (CustomerAccount.tenant_id == Bill.tenant_id)
                  & (CustomerAccount.id == Bill.account_id))
            .outerjoin(Contract, (Contract.tenant_id == Bill.tenant_id) & (Contract.id == Bill.contract_id))
            .outerjoin(_corrected, (_corrected.tenant_id == Bill.tenant_id) & (_corrected.id == Bill.corrects_bill_id))
            .where(Bill.status != "draft"))


def _records(rows, today: date) -> list[BillRecord]:
    if not rows:
        return []
    ids = [r.id for r in rows]
    lines: dict[int, list[BillLineRecord]] = {}
    for line in db.session.execute(
            select(BillLine.bill_id, BillLine.position, BillLine.component, BillLine.description,
                   BillLine.period_start, BillLine.period_end, BillLine.register_code, BillLine.quantity,
                   BillLine.unit, BillLine.unit_price, BillLine.unit_price_includes_tax, BillLine.amount,
                   BillLine.tax_rate, BillLine.amount_incl_tax)
            .where(BillLine.bill_id.in_(ids)).order_by(BillLine.bill_id, BillLine.position)):
        lines.setdefault(line.bill_id, []).append(BillLineRecord(*line[1:]))
    paid = paid_by_bill(ids)
    out = []
    for r in rows:
        done = paid.get(r.id, Decimal("0.00"))
        status, outstanding = payment_status(kind=r.kind, status=r.status, total=r.total_incl_tax, paid=done,
                                             due_date=r.due_date, today=today)
        out.append(BillRecord(
            r.number, r.public_id, r.account_number, r.contract_number, r.corrects_number, r.kind, r.status,
            bool(r.estimated), r.period_start, r.period_end, r.issued_at, r.due_date, r.cancelled_at, r.currency,
            r.total_excl_tax, r.total_tax, r.total_incl_tax, done, outstanding, status, r.updated_at,
            lines.get(r.id, [])))
    return out


def bill_page(*, after: Position | None, updated_since: datetime | None, limit: int, today: date,
              account_number: str | None = None) -> ChangePage[BillRecord]:
    """Issued and cancelled bills in change order, with their lines; optionally of one account."""
    stmt = _select()
    if account_number is not None:
        stmt = stmt.where(CustomerAccount.account_number == account_number)
    rows = db.session.execute(in_change_order(stmt, Bill.updated_at, Bill.id, after=after,
                                              updated_since=updated_since, limit=limit)).all()
    rows, following = split_page(rows, limit, lambda r: Position(r.updated_at, r.id))
    return ChangePage(_records(rows, today), following)


def bill_record(*, number: str, today: date) -> BillRecord | None:
    records = _records(db.session.execute(_select().where(Bill.number == number)).all(), today)
    return records[0] if records else None


def issued_bill_for_document(*, number: str) -> Bill | None:
    """The bill whose stored document is served (issued or cancelled: a cancelled bill's document stays as issued)."""
    return db.session.scalar(select(Bill).where(Bill.number == number, Bill.status != "draft"))
