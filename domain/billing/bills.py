"""Reading bills: an account's bills and an issued bill's document, for the portal and the back office."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from domain.accounting.models import Payment, PaymentAllocation
from domain.billing.document_jobs import stored_document
from domain.billing.models import Bill
from domain.db import db
from domain.identity.models import CustomerAccess


def bills_of_account(*, account_id: int, limit: int = 50) -> list[Bill]:
    """Issued and cancelled bills of an account, newest first (drafts are not the customer's yet)."""
    return list(db.session.scalars(
        select(Bill).where(Bill.account_id == account_id, Bill.status != "draft")
        .order_by(Bill.period_start.desc(), Bill.id.desc()).limit(limit)))


def issued_bill(*, number: str) -> Bill | None:
    return db.session.scalar(select(Bill).where(Bill.number == number, Bill.status != "draft"))


def document_of(bill: Bill) -> bytes:
    """The bill's PDF as issued, byte for byte (checked against its stored SHA-256); rendered and stored now, once,
    if no worker has rendered it yet. Raises DocumentUnavailable rather than serve anything else."""
    return stored_document(bill)


# --- What the customer sees: a bill's payment status, computed from confirmed allocations ---------------------

BILL_PAYMENT_STATUSES = ("due", "paid", "partly_paid", "overdue", "cancelled", "credit_note")
CENT = Decimal("0.01")


@dataclass(frozen=True)
class BillView:
    """An issued (or cancelled) bill with what has been paid on it and what is left to pay."""

    bill: Bill
    paid: Decimal  # allocated from succeeded payments
    outstanding: Decimal  # left to pay; 0 for credit notes and cancelled bills
    status: str  # one of BILL_PAYMENT_STATUSES

    @property
    def payable(self) -> bool:
        return self.outstanding > 0


def payment_status(*, kind: str, status: str, total: Decimal, paid: Decimal, due_date: date | None,
                   today: date) -> tuple[str, Decimal]:
    """(status, outstanding) of one bill; pure. Overdue wins over partly paid: the date is what matters."""
    if status == "cancelled":
        return "cancelled", Decimal("0.00")
    if kind == "credit_note" or total < 0:
        return "credit_note", Decimal("0.00")
    outstanding = max(total - paid, Decimal("0")).quantize(CENT)
    if outstanding == 0:
        return "paid", outstanding
    if due_date is not None and due_date < today:
        return "overdue", outstanding
    return ("partly_paid" if paid > 0 else "due"), outstanding


def paid_per_bill_subquery():
    """(bill_id, paid): what succeeded payments allocated to each bill, as a subquery to outer-join to bills in a
    set-based statement (the SQL form of `paid_by_bill`)."""
    return (select(PaymentAllocation.bill_id, func.sum(PaymentAllocation.amount).label("paid"))
            .join(Payment, Payment.id == PaymentAllocation.payment_id)
            .where(Payment.status == "succeeded").group_by(PaymentAllocation.bill_id).subquery())


def paid_by_bill(bill_ids: list[int]) -> dict[int, Decimal]:
    """Sum of allocations of succeeded payments per bill: one grouped query, whatever the number of bills."""
    if not bill_ids:
        return {}
    rows = db.session.execute(
        select(PaymentAllocation.bill_id, func.sum(PaymentAllocation.amount))
        .join(Payment, Payment.id == PaymentAllocation.payment_id)
        .where(PaymentAllocation.bill_id.in_(bill_ids), Payment.status == "succeeded")
        .group_by(PaymentAllocation.bill_id))
    return {bill_id: Decimal(total or 0).quantize(CENT) for bill_id, total in rows}


def bill_views(bills: list[Bill], *, today: date) -> list[BillView]:
    paid = paid_by_bill([b.id for b in bills])
    out = []
    for bill in bills:
        done = paid.get(bill.id, Decimal("0.00"))
        status, outstanding = payment_status(kind=bill.kind, status=bill.status, total=bill.total_incl_tax,
                                             paid=done, due_date=bill.due_date, today=today)
        out.append(BillView(bill=bill, paid=done, outstanding=outstanding, status=status))
    return out


def _customer_account_ids(customer_user_id: int):
    return select(CustomerAccess.account_id).where(CustomerAccess.customer_user_id == customer_user_id)


def bill_of_customer(*, customer_user_id: int, number: str, today: date) -> BillView | None:
    """One issued bill by its number, only if it is on one of this customer's accounts (else None, like missing)."""
    bill = db.session.scalar(
        select(Bill).where(Bill.number == number, Bill.status != "draft",
                           Bill.account_id.in_(_customer_account_ids(customer_user_id)))
        .options(selectinload(Bill.lines), selectinload(Bill.account)))
    if bill is None:
        return None
    return bill_views([bill], today=today)[0]


def open_bills(*, account_ids: list[int], today: date) -> list[BillView]:
    """Bills with something left to pay, oldest due first (the order a whole-balance payment settles them)."""
    if not account_ids:
        return []
    bills = list(db.session.scalars(
        select(Bill).where(Bill.account_id.in_(account_ids), Bill.status == "issued", Bill.kind != "credit_note",
                           Bill.total_incl_tax > 0)
        .order_by(Bill.due_date, Bill.issued_at, Bill.id)))
    return [view for view in bill_views(bills, today=today) if view.payable]


def allocations_of_bill(*, bill_id: int) -> list[tuple[PaymentAllocation, Payment]]:
    """Payments allocated to a bill (any status: a pending or failed one is shown as such), newest first."""
    return list(db.session.execute(
        select(PaymentAllocation, Payment).join(Payment, Payment.id == PaymentAllocation.payment_id)
        .where(PaymentAllocation.bill_id == bill_id)
        .order_by(Payment.created_at.desc(), Payment.id.desc())).tuples())
