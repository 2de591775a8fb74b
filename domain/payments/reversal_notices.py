"""The customer's notice of money given back on a card payment (a refund or a lost dispute): what it shows and to whom.

The webhook handler builds it only when an event really gave money back (a replayed, older or capped event gives
nothing, so no notice); the mail itself goes out once the transaction that recorded the reversal has committed.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import select

from domain.accounting.models import Payment, PaymentAllocation
from domain.billing import bills as bill_service
from domain.billing.models import Bill
from domain.contracts.models import CustomerAccount
from domain.db import db
from domain.payments.receipts import _recipient


@dataclass(frozen=True)
class DueAgain:
    number: str
    outstanding: Decimal
    due_date: date | None


@dataclass(frozen=True)
class ReversalNotice:
    kind: str  # refund, dispute (lost)
    to: str
    locale: str | None
    amount: Decimal  # given back by this event
    currency: str
    payment_public_id: str
    payment_amount: Decimal
    payment_received_at: datetime | None
    refunded_total: Decimal
    fully_refunded: bool
    account_number: str
    holder_name: str
    bills_due_again: tuple[DueAgain, ...]


def allocations_by_bill(payment: Payment) -> dict[int, Decimal]:
    """What the payment settles on each bill now (nothing once it is wholly refunded): take it before and after."""
    if payment.status != "succeeded":
        return {}
    rows = db.session.execute(select(PaymentAllocation.bill_id, PaymentAllocation.amount)
                              .where(PaymentAllocation.payment_id == payment.id))
    return {bill_id: Decimal(amount) for bill_id, amount in rows}


def reversal_notice(*, payment: Payment, kind: str, amount: Decimal, settled_before: dict[int, Decimal],
                    today: date) -> ReversalNotice | None:
    """The notice for `amount` just given back; None if nothing was given back or nobody can receive it."""
    if amount <= 0:
        return None
    account = db.session.get(CustomerAccount, payment.account_id)
    to, locale = _recipient(payment, account)
    if not to:
        return None
    settled_after = allocations_by_bill(payment)
    lost = [bill_id for bill_id, before in settled_before.items() if settled_after.get(bill_id, Decimal("0")) < before]
    bills = list(db.session.scalars(select(Bill).where(Bill.id.in_(lost)))) if lost else []
    due_again = tuple(DueAgain(number=view.bill.number, outstanding=view.outstanding, due_date=view.bill.due_date)
                      for view in sorted(bill_service.bill_views(bills, today=today), key=lambda v: v.bill.number)
                      if view.outstanding > 0)
    return ReversalNotice(
        kind=kind, to=to, locale=locale, amount=amount, currency=payment.currency,
        payment_public_id=payment.public_id, payment_amount=payment.amount,
        payment_received_at=payment.received_at, refunded_total=payment.refunded_amount,
        fully_refunded=payment.status == "refunded", account_number=account.account_number,
        holder_name=account.holder.display_name if account.holder else "", bills_due_again=due_again)
