"""Read services over customer accounts and contracts."""
from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import func, or_, select
from sqlalchemy.orm import selectinload

from domain.accounting.models import LedgerEntry
from domain.contracts.models import Contract, CustomerAccount
from domain.db import db
from domain.identity.models import CustomerAccess
from domain.parties.models import Party
from domain.sites.models import DeliveryPoint, MeterInstallation


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


# --- staff data entry: accounts and contracts ---------------------------------------------------------------------

BILLING_FREQUENCIES = ("monthly", "bimonthly", "quarterly", "biannual", "annual")
MAX_START_DAYS_AHEAD = 365
MAX_ANNUAL_CONSUMPTION = Decimal("1000000000")


def next_account_number(*, tenant) -> str:
    """The next customer number, in the form of the latest one (the demo's `AQ00001001`, an import's ...)."""
    from domain.numbering import next_number, tenant_prefix

    return next_number(column=CustomerAccount.account_number, tenant_id=tenant.id, kind="account",
                       fallback_prefix=tenant_prefix(tenant.slug), fallback_width=8, fallback_first=1001)


def next_contract_number(*, tenant) -> str:
    from domain.numbering import next_number, tenant_prefix

    return next_number(column=Contract.contract_number, tenant_id=tenant.id, kind="contract",
                       fallback_prefix=f"{tenant_prefix(tenant.slug)}C", fallback_width=7)


def offers_for_entry() -> list:
    """The tenant's offers staff may put a new contract on (active ones), by activity and name."""
    from domain.offers.models import Offer

    return list(db.session.scalars(select(Offer).where(Offer.is_active.is_(True))
                                   .order_by(Offer.activity, Offer.name)))


def offer_by_code(code: str):
    from domain.offers.models import Offer

    return db.session.scalar(select(Offer).where(Offer.code == (code or "")))


def check_contract_terms(*, offer_code: str, activity: str, start_date: date | None, billing_frequency: str,
                         estimated_annual_consumption: Decimal | None, today: date, errors, prefix: str = "",
                         not_before: date | None = None):
    """The offer (active, of the point's activity, with a tariff in force on the start date), the start date (at
    most a year ahead; not before `not_before`), the billing frequency and the annual estimate. Returns the offer
    when it is usable."""
    offer = offer_by_code(offer_code)
    if offer is None or not offer.is_active:
        errors.add(prefix + "offer", "unknown")
        offer = None
    elif offer.activity != activity:
        errors.add(prefix + "offer", "other_activity")
        offer = None
    if start_date is None:
        errors.add(prefix + "start_date", "required")
    elif start_date > today + timedelta(days=MAX_START_DAYS_AHEAD):
        errors.add(prefix + "start_date", "too_far")
    elif not_before is not None and start_date < not_before:
        errors.add(prefix + "start_date", "before_installation", date=not_before)
    elif offer is not None and offer.version_on(start_date) is None:
        errors.add(prefix + "offer", "no_tariff", date=start_date)
    if billing_frequency not in BILLING_FREQUENCIES:
        errors.add(prefix + "billing_frequency", "unknown")
    if estimated_annual_consumption is not None and not (
            Decimal(0) < estimated_annual_consumption < MAX_ANNUAL_CONSUMPTION):
        errors.add(prefix + "estimated_annual_consumption", "range")
    return offer


def point_is_free(*, delivery_point_id: int, start_date: date) -> bool:
    """No contract of the point runs on or after `start_date` (a point is supplied under one contract at a time)."""
    clash = db.session.scalar(select(Contract.id).where(
        Contract.delivery_point_id == delivery_point_id,
        or_(Contract.end_date.is_(None), Contract.end_date > start_date)).limit(1))
    return clash is None


def open_account(*, holder: Party, tenant, opened_on: date, locale: str | None, paperless: bool,
                 now) -> CustomerAccount:
    """A new customer account for the holder, with the holder role from the day it opens."""
    from domain.parties.models import PartyRole

    account = CustomerAccount(account_number=next_account_number(tenant=tenant), holder_party_id=holder.id,
                              opened_on=opened_on, locale=locale, paperless=paperless, created_at=now)
    db.session.add(account)
    db.session.flush()
    db.session.add(PartyRole(party_id=holder.id, role="holder", account_id=account.id, start_date=opened_on))
    db.session.flush()
    return account


def add_contract(*, account: CustomerAccount, delivery_point: DeliveryPoint, offer, start_date: date,
                 billing_frequency: str, estimated_annual_consumption: Decimal | None, tenant,
                 today: date) -> Contract:
    """A contract supplying the point to the account under the offer from `start_date` (terms checked already)."""
    contract = Contract(contract_number=next_contract_number(tenant=tenant), account_id=account.id,
                        delivery_point_id=delivery_point.id, offer_id=offer.id, start_date=start_date,
                        status="active", billing_frequency=billing_frequency,
                        estimated_annual_consumption=estimated_annual_consumption)
    db.session.add(contract)
    db.session.flush()
    db.session.expire(account, ["contracts"])
    return contract
