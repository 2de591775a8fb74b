"""`payment.received` for webhook subscribers: a payment in the API's shape, published where the money is recorded."""
from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select

from domain.accounting.models import Payment, PaymentAllocation
from domain.billing.models import Bill
from domain.contracts.models import CustomerAccount
from domain.db import db
from domain.webhooks.events import listening, publish


def payment_objects(payments: Sequence[Payment]) -> list[dict]:
    """The payments as the API shows them (a subset of `GET /payments`, same names): public id, account number,
    amount, currency, method, reference, received_at, and the bills it settles (number, amount); two queries
    whatever the count."""
    ids = [p.id for p in payments]
    numbers = dict(db.session.execute(select(CustomerAccount.id, CustomerAccount.account_number).where(
        CustomerAccount.id.in_({p.account_id for p in payments}))).all())
    allocations: dict[int, list[dict]] = {}
    for payment_id, number, amount in db.session.execute(
            select(PaymentAllocation.payment_id, Bill.number, PaymentAllocation.amount)
            .join(Bill, Bill.id == PaymentAllocation.bill_id).where(PaymentAllocation.payment_id.in_(ids))
            .order_by(PaymentAllocation.id)):
        allocations.setdefault(payment_id, []).append({"bill_number": number, "amount": amount})
    return [{"public_id": p.public_id, "account_number": numbers.get(p.account_id), "amount": p.amount,
             "currency": p.currency, "method": p.method, "status": p.status, "reference": p.provider_reference,
             "received_at": p.received_at, "allocations": allocations.get(p.id, [])} for p in payments]


def publish_received(payments: Sequence[Payment], *, now: datetime) -> None:
    if payments and listening("payment.received"):
        publish("payment.received", payment_objects(payments), occurred_at=now)
