"""The receipt of a succeeded payment: what it shows and to whom, claimed once per payment."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import select

from domain.accounting.models import Payment, PaymentAllocation
from domain.billing.models import Bill
from domain.contracts.models import CustomerAccount
from domain.db import db
from domain.identity.models import CustomerUser


@dataclass(frozen=True)
class Receipt:
    payment_public_id: str
    to: str
    locale: str | None
    amount: Decimal
    currency: str
    received_at: datetime
    account_number: str
    holder_name: str
    bills: tuple[tuple[str, Decimal], ...]  # (bill number, amount allocated)

    @property
    def credit_left(self) -> Decimal:
        """The share of the payment that settled no bill: it stays on the account as credit."""
        return self.amount - sum((amount for _n, amount in self.bills), Decimal("0"))


def _recipient(payment: Payment, account: CustomerAccount) -> tuple[str | None, str | None]:
    if payment.customer_user_id is not None:
        user = db.session.get(CustomerUser, payment.customer_user_id)
        if user is not None:
            return user.email, user.locale or account.locale
    email = account.holder.primary("email") if account.holder else None
    return (email.value if email else None), account.locale


def claim_receipt(*, payment: Payment, now: datetime) -> Receipt | None:
    """Mark the receipt as sent and return what to send; None if it was already sent or has nobody to go to.

    The caller holds the payment's row lock (the webhook handler), so two deliveries cannot both claim it;
    the mail itself goes out once the transaction that recorded `receipt_sent_at` has committed.
    """
    if payment.status != "succeeded" or payment.receipt_sent_at is not None:
        return None
    account = db.session.get(CustomerAccount, payment.account_id)
    to, locale = _recipient(payment, account)
    if not to:
        return None
    payment.receipt_sent_at = now
    bills = tuple(db.session.execute(
        select(Bill.number, PaymentAllocation.amount).join(Bill, Bill.id == PaymentAllocation.bill_id)
        .where(PaymentAllocation.payment_id == payment.id).order_by(Bill.number)).tuples())
    db.session.flush()
    return Receipt(payment_public_id=payment.public_id, to=to, locale=locale, amount=payment.amount,
                   currency=payment.currency, received_at=payment.received_at or now,
                   account_number=account.account_number,
                   holder_name=account.holder.display_name if account.holder else "", bills=bills)


def failure_notice(*, payment: Payment) -> tuple[CustomerAccount, str, str | None] | None:
    """Who hears that this card payment failed: (account, address, language), or None when nobody can be told."""
    account = db.session.get(CustomerAccount, payment.account_id)
    if account is None:
        return None
    to, locale = _recipient(payment, account)
    return (account, to, locale) if to else None
