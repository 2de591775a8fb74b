"""The payments of one customer account as the customer file shows them: every method and status, what each paid
(its allocation to bills) and what was given back (refunds, disputes), newest first, paged."""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import func, select

from domain.accounting.models import Payment, PaymentAllocation
from domain.billing.models import Bill
from domain.db import db
from domain.paging import Page, page_of
from domain.payments.models import PaymentReversal


@dataclass(frozen=True)
class PaymentRow:
    payment: Payment
    allocations: tuple[tuple[str, Decimal], ...]  # (bill number, amount)
    reversals: tuple[PaymentReversal, ...]

    @property
    def allocated(self) -> Decimal:
        return sum((amount for _number, amount in self.allocations), Decimal("0.00"))


def payments_of_account(*, account_id: int, requested_page: str | None = None,
                        size: int | None = 20) -> tuple[Page, list[PaymentRow]]:
    """One page of the account's payments, newest first (`size` None: all of them, for an export)."""
    total = db.session.scalar(select(func.count(Payment.id)).where(Payment.account_id == account_id)) or 0
    page = page_of(requested=requested_page, total=total, size=size or max(total, 1))
    payments = list(db.session.scalars(
        select(Payment).where(Payment.account_id == account_id)
        .order_by(func.coalesce(Payment.received_at, Payment.created_at).desc(), Payment.id.desc())
        .offset(page.offset).limit(page.size)))
    ids = [p.id for p in payments]
    allocations: dict[int, list[tuple[str, Decimal]]] = {}
    reversals: dict[int, list[PaymentReversal]] = {}
    if ids:
        for payment_id, number, amount in db.session.execute(
                select(PaymentAllocation.payment_id, Bill.number, PaymentAllocation.amount)
                .join(Bill, Bill.id == PaymentAllocation.bill_id)
                .where(PaymentAllocation.payment_id.in_(ids)).order_by(PaymentAllocation.id)):
            allocations.setdefault(payment_id, []).append((number or "", amount))
        for reversal in db.session.scalars(select(PaymentReversal).where(PaymentReversal.payment_id.in_(ids))
                                           .order_by(PaymentReversal.created_at, PaymentReversal.id)):
            reversals.setdefault(reversal.payment_id, []).append(reversal)
    return page, [PaymentRow(p, tuple(allocations.get(p.id, ())), tuple(reversals.get(p.id, ()))) for p in payments]
