"""A few demo customers pay by direct debit and are on budget billing (through the real services)."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select

from domain.billing import down_payments
from domain.contracts.models import CustomerAccount
from domain.db import db
from domain.identity.models import CustomerAccess, CustomerUser
from domain.payments import mandates
from tenants.context import tenant_scope
from tenants.models import Tenant

OTHER_ACCOUNTS = 4  # besides the demo login's accounts


def demo_iban(serial: int) -> str:
    """A French IBAN with valid check digits (bank 30006, branch 00001, account number from `serial`)."""
    bban = f"3000600001{serial:011d}00"
    digits = "".join(str(int(ch, 36)) for ch in bban + "FR00")
    return f"FR{98 - int(digits) % 97:02d}{bban}"


def _accounts(login_email_prefix: str = "customer@") -> list[CustomerAccount]:
    login = list(db.session.scalars(
        select(CustomerAccount).join(CustomerAccess, CustomerAccess.account_id == CustomerAccount.id)
        .join(CustomerUser, CustomerUser.id == CustomerAccess.customer_user_id)
        .where(CustomerUser.email.startswith(login_email_prefix)).order_by(CustomerAccount.account_number)))
    others = list(db.session.scalars(
        select(CustomerAccount).join(CustomerAccess, CustomerAccess.account_id == CustomerAccount.id)
        .where(CustomerAccount.id.not_in([a.id for a in login] or [0]), CustomerAccount.status == "active")
        .order_by(CustomerAccount.account_number).limit(OTHER_ACCOUNTS)))
    return login + others


def seed_budget_billing(*, tenant_id: int, today: date, now: datetime) -> int:
    """Mandate and budget plan (11 instalments) for the demo login's accounts and a few others; returns the
    number of plans. A contract the service refuses (not billed up to date, ending...) keeps periodic bills."""
    created = 0
    with tenant_scope(tenant_id):
        tenant = db.session.get(Tenant, tenant_id)
        for serial, account in enumerate(_accounts(), start=1):
            if mandates.offers_mandates(tenant):  # SEPA: a utility billing in euros with a creditor identifier
                mandates.sign_mandate(tenant=tenant, account=account, iban=demo_iban(serial),
                                      holder_name=account.holder.display_name, accepted=True, signed_at=now,
                                      signed_by_user_id=None)
            for contract in account.contracts:
                try:
                    down_payments.create_plan(contract=contract, count=11, as_of=today, now=now,
                                              created_by="staff")
                except down_payments.PlanRefused:
                    continue
                created += 1
        db.session.commit()
    return created
