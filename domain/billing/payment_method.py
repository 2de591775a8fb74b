"""How an account's bills are paid, from facts: by direct debit only while a SEPA mandate is in force.

`customer_accounts.payment_method` is a preference that imports and old data may set to `direct_debit` without any
mandate; a customer told "will be debited" with no mandate pays nothing and falls behind. So what a bill says (at
its issue) and what the customer file shows (now) are read from the mandates: signed at or before the moment, and
not revoked by then. Otherwise the account's own choice (transfer or card), and transfer in place of a debit
that has no mandate.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, or_, select

from domain.contracts.models import CustomerAccount
from domain.db import db
from domain.payments.models import DirectDebitMandate


def _mandate_in_force(account_id: int, at: datetime) -> bool:
    m = DirectDebitMandate
    return db.session.scalar(select(m.id).where(
        m.account_id == account_id, m.signed_at <= at,
        or_(and_(m.status == "active", m.revoked_at.is_(None)), m.revoked_at > at)).limit(1)) is not None


def payment_method_at(*, account: CustomerAccount, at: datetime) -> str:
    """`direct_debit`, `card` or `transfer`: how the account's bills are paid at the moment `at` (aware UTC)."""
    if _mandate_in_force(account.id, at):
        return "direct_debit"
    return "transfer" if account.payment_method == "direct_debit" else account.payment_method
