"""Read services over customer accounts and contracts."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import func, or_, select
from sqlalchemy.orm import selectinload

from domain.accounting.models import LedgerEntry
from domain.contracts.models import Contract, CustomerAccount
from domain.db import db
from domain.identity.models import CustomerAccess
from domain.parties.models import ContactPoint, Party
from domain.sites.models import DeliveryPoint, MeterInstallation, Premise


def _account_options():
    return (
        selectinload(CustomerAccount.holder).selectinload(Party.contact_points),
        selectinload(CustomerAccount.contracts).selectinload(Contract.offer),
        selectinload(CustomerAccount.contracts)
        .selectinload(Contract.delivery_point)
        .selectinload(DeliveryPoint.premise),
        selectinload(CustomerAccount.contracts)
        .selectinload(Contract.delivery_point)
        .selectinload(DeliveryPoint.installations)
        .selectinload(MeterInstallation.meter),
    )


def accounts_of_customer(*, customer_user_id: int) -> list[CustomerAccount]:
    """The accounts an online customer may see, with their contracts and points of delivery."""
    stmt = (
        select(CustomerAccount)
        .join(CustomerAccess, CustomerAccess.account_id == CustomerAccount.id)
        .where(CustomerAccess.customer_user_id == customer_user_id)
        .options(*_account_options())
        .order_by(CustomerAccount.account_number)
    )
    return list(db.session.scalars(stmt))


def account_of_customer(*, customer_user_id: int, account_number: str) -> CustomerAccount | None:
    """One account by its customer number, only if this customer may see it."""
    stmt = (
        select(CustomerAccount)
        .join(CustomerAccess, CustomerAccess.account_id == CustomerAccount.id)
        .where(CustomerAccess.customer_user_id == customer_user_id,
               CustomerAccount.account_number == account_number)
        .options(*_account_options())
    )
    return db.session.scalar(stmt)


def account_by_number(*, account_number: str) -> CustomerAccount | None:
    stmt = select(CustomerAccount).where(CustomerAccount.account_number == account_number).options(*_account_options())
    return db.session.scalar(stmt)


def balances(*, account_ids: list[int]) -> dict[int, Decimal]:
    """Amount owed per account (debits minus credits); positive means the customer owes."""
    if not account_ids:
        return {}
    rows = db.session.execute(
        select(LedgerEntry.account_id, LedgerEntry.direction, func.sum(LedgerEntry.amount))
        .where(LedgerEntry.account_id.in_(account_ids))
        .group_by(LedgerEntry.account_id, LedgerEntry.direction)
    )
    out = {account_id: Decimal("0.00") for account_id in account_ids}
    for account_id, direction, total in rows:
        total = Decimal(total or 0)
        out[account_id] += total if direction == "debit" else -total
    return {k: v.quantize(Decimal("0.01")) for k, v in out.items()}


def search_accounts(*, query: str, limit: int = 50) -> list[CustomerAccount]:
    """Back-office search by customer number, name, e-mail, postcode or point-of-delivery identifier."""
    q = (query or "").strip()
    if not q:
        return []
    like = f"%{q.lower()}%"
    party_match = select(Party.id).where(or_(
        func.lower(Party.last_name).like(like),
        func.lower(Party.first_name).like(like),
        func.lower(Party.organisation_name).like(like),
        Party.id.in_(select(ContactPoint.party_id).where(func.lower(ContactPoint.value).like(like))),
    ))
    dp_match = (
        select(Contract.account_id)
        .join(DeliveryPoint, DeliveryPoint.id == Contract.delivery_point_id)
        .join(Premise, Premise.id == DeliveryPoint.premise_id)
        .where(or_(func.lower(DeliveryPoint.identifier) == q.lower(), Premise.postcode == q))
    )
    stmt = (
        select(CustomerAccount)
        .where(or_(
            CustomerAccount.account_number == q.upper(),
            CustomerAccount.holder_party_id.in_(party_match),
            CustomerAccount.id.in_(dp_match),
        ))
        .options(selectinload(CustomerAccount.holder).selectinload(Party.contact_points))
        .order_by(CustomerAccount.account_number)
        .limit(limit)
    )
    return list(db.session.scalars(stmt))


# --- readings prevented by the customer (back-billing) ------------------------------------------------------------

READINGS_PREVENTED_REASON_MAX = 500


class ReadingsPreventedRefused(ValueError):
    """The flag cannot be set as asked; `code` says why (nothing was changed)."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


def mark_readings_prevented(*, contract: Contract, from_date: date, reason: str, today: date) -> None:
    """Record that the customer prevented readings of this contract's meter from `from_date` (no access, refused
    visits): bills then charge consumption from that day in full, beyond the back-billing limit. The audit trail
    records who set it and when; setting it again replaces the date and reason."""
    reason = " ".join((reason or "").split())
    if not reason:
        raise ReadingsPreventedRefused("reason", "say how the customer prevented readings")
    if len(reason) > READINGS_PREVENTED_REASON_MAX:
        raise ReadingsPreventedRefused("reason_length", "the reason is too long")
    if from_date > today:
        raise ReadingsPreventedRefused("future", "the date is in the future")
    if from_date < contract.start_date:
        raise ReadingsPreventedRefused("before_contract", "the date is before the contract started")
    contract.readings_prevented_from = from_date
    contract.readings_prevented_reason = reason
    db.session.flush()


def clear_readings_prevented(*, contract: Contract) -> None:
    """The back-billing limit applies to this contract again (bills issued meanwhile stay as they are)."""
    contract.readings_prevented_from = None
    contract.readings_prevented_reason = None
    db.session.flush()
