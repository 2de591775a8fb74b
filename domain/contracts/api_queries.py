"""What the integration API shows of customer accounts (with their holder, contact points, addresses and contracts)
and of contracts, in change order for syncing; a page is a handful of set-based queries, whatever its size."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import select

from domain.changes import ChangePage, Position, in_change_order, split_page
from domain.contracts.models import Contract, CustomerAccount
from domain.db import db
from domain.offers.models import Offer
from domain.parties.models import ContactPoint, Party
from domain.sites.models import DeliveryPoint


@dataclass(frozen=True)
class ContactPointRecord:
    kind: str  # email, phone, postal
    value: str | None
    address_line1: str | None
    address_line2: str | None
    postcode: str | None
    city: str | None
    country: str | None
    is_primary: bool
    verified: bool


@dataclass(frozen=True)
class HolderRecord:
    party_number: str
    kind: str  # person, organisation
    title: str | None
    first_name: str | None
    last_name: str | None
    organisation_name: str | None
    external_ref: str | None
    updated_at: datetime
    contact_points: list[ContactPointRecord]

    @property
    def name(self) -> str:
        if self.kind == "organisation":
            return self.organisation_name or ""
        return " ".join(p for p in (self.first_name, self.last_name) if p)


@dataclass(frozen=True)
class AccountContractRecord:
    contract_number: str
    delivery_point_identifier: str
    status: str
    start_date: date
    end_date: date | None


@dataclass(frozen=True)
class AccountRecord:
    account_number: str
    status: str
    payment_method: str
    paperless: bool
    locale: str | None
    opened_on: date
    closed_on: date | None
    external_ref: str | None
    created_at: datetime
    updated_at: datetime
    holder: HolderRecord
    contracts: list[AccountContractRecord]


@dataclass(frozen=True)
class ContractRecord:
    contract_number: str
    account_number: str
    delivery_point_identifier: str
    activity: str
    offer_code: str
    offer_name: str
    status: str
    start_date: date
    end_date: date | None
    billing_frequency: str
    estimated_annual_consumption: Decimal | None
    billed_until: date | None
    external_ref: str | None
    updated_at: datetime


def _account_columns():
    return (CustomerAccount.id, CustomerAccount.account_number, CustomerAccount.status,
            CustomerAccount.payment_method, CustomerAccount.paperless, CustomerAccount.locale,
            CustomerAccount.opened_on, CustomerAccount.closed_on, CustomerAccount.external_ref,
            CustomerAccount.created_at, CustomerAccount.updated_at, CustomerAccount.holder_party_id,
            Party.party_number, Party.kind, Party.title, Party.first_name, Party.last_name, Party.organisation_name,
            Party.external_ref.label("party_external_ref"), Party.updated_at.label("party_updated_at"))


def _accounts_select():
    return select(*_account_columns()).join(
        Party, (Party.tenant_id == CustomerAccount.tenant_id) & (Party.id == CustomerAccount.holder_party_id))


def _account_records(rows) -> list[AccountRecord]:
    """Records for account rows: their holders' contact points and their contracts in one query each."""
    if not rows:
        return []
    points: dict[int, list[ContactPointRecord]] = {}
    for cp in db.session.execute(
            select(ContactPoint.party_id, ContactPoint.kind, ContactPoint.value, ContactPoint.address_line1,
                   ContactPoint.address_line2, ContactPoint.postcode, ContactPoint.city, ContactPoint.country,
                   ContactPoint.is_primary, ContactPoint.verified_at)
            .where(ContactPoint.party_id.in_({r.holder_party_id for r in rows}))
            .order_by(ContactPoint.party_id, ContactPoint.kind, ContactPoint.is_primary.desc(), ContactPoint.id)):
        points.setdefault(cp.party_id, []).append(ContactPointRecord(
            cp.kind, cp.value, cp.address_line1, cp.address_line2, cp.postcode, cp.city, cp.country,
            bool(cp.is_primary), cp.verified_at is not None))
    contracts: dict[int, list[AccountContractRecord]] = {}
    for c in db.session.execute(
            select(Contract.account_id, Contract.contract_number, DeliveryPoint.identifier, Contract.status,
                   Contract.start_date, Contract.end_date)
            .join(DeliveryPoint, (DeliveryPoint.tenant_id == Contract.tenant_id)
                  & (DeliveryPoint.id == Contract.delivery_point_id))
            .where(Contract.account_id.in_([r.id for r in rows]))
            .order_by(Contract.account_id, Contract.start_date, Contract.id)):
        contracts.setdefault(c.account_id, []).append(AccountContractRecord(
            c.contract_number, c.identifier, c.status, c.start_date, c.end_date))
    return [AccountRecord(
        account_number=r.account_number, status=r.status, payment_method=r.payment_method,
        paperless=bool(r.paperless), locale=r.locale, opened_on=r.opened_on, closed_on=r.closed_on,
        external_ref=r.external_ref, created_at=r.created_at, updated_at=r.updated_at,
        holder=HolderRecord(r.party_number, r.kind, r.title, r.first_name, r.last_name, r.organisation_name,
                            r.party_external_ref, r.party_updated_at, points.get(r.holder_party_id, [])),
        contracts=contracts.get(r.id, [])) for r in rows]


def account_page(*, after: Position | None, updated_since: datetime | None, limit: int,
                 account_numbers: list[str] | None = None) -> ChangePage[AccountRecord]:
    """Accounts of the current tenant in change order; `account_numbers` narrows them (to what a search found)."""
    stmt = _accounts_select()
    if account_numbers is not None:
        if not account_numbers:
            return ChangePage([], None)
        stmt = stmt.where(CustomerAccount.account_number.in_(account_numbers))
    rows = db.session.execute(in_change_order(stmt, CustomerAccount.updated_at, CustomerAccount.id, after=after,
                                              updated_since=updated_since, limit=limit)).all()
    rows, following = split_page(rows, limit, lambda r: Position(r.updated_at, r.id))
    return ChangePage(_account_records(rows), following)


def account_record(*, account_number: str) -> AccountRecord | None:
    """One account by its customer number (None when the current tenant has none by that number)."""
    rows = db.session.execute(_accounts_select().where(CustomerAccount.account_number == account_number)).all()
    records = _account_records(rows)
    return records[0] if records else None


def account_id_by_number(account_number: str) -> int | None:
    return db.session.scalar(select(CustomerAccount.id).where(CustomerAccount.account_number == account_number))


def _contracts_select():
    return (select(Contract.id, Contract.contract_number, CustomerAccount.account_number, DeliveryPoint.identifier,
                   DeliveryPoint.activity, Offer.code, Offer.name, Contract.status, Contract.start_date,
                   Contract.end_date, Contract.billing_frequency, Contract.estimated_annual_consumption,
                   Contract.billed_until, Contract.external_ref, Contract.updated_at)
            .join(CustomerAccount, (CustomerAccount.tenant_id == Contract.tenant_id)
                  & (CustomerAccount.id == Contract.account_id))
            .join(DeliveryPoint, (DeliveryPoint.tenant_id == Contract.tenant_id)
                  & (DeliveryPoint.id == Contract.delivery_point_id))
            .join(Offer, (Offer.tenant_id == Contract.tenant_id) & (Offer.id == Contract.offer_id)))


def _contract_record(r) -> ContractRecord:
    return ContractRecord(r.contract_number, r.account_number, r.identifier, r.activity, r.code, r.name, r.status,
                          r.start_date, r.end_date, r.billing_frequency, r.estimated_annual_consumption,
                          r.billed_until, r.external_ref, r.updated_at)


def contract_page(*, after: Position | None, updated_since: datetime | None, limit: int,
                  account_number: str | None = None) -> ChangePage[ContractRecord]:
    """Contracts in change order, optionally of one account (by its number)."""
    stmt = _contracts_select()
    if account_number is not None:
        stmt = stmt.where(CustomerAccount.account_number == account_number)
    rows = db.session.execute(in_change_order(stmt, Contract.updated_at, Contract.id, after=after,
                                              updated_since=updated_since, limit=limit)).all()
    rows, following = split_page(rows, limit, lambda r: Position(r.updated_at, r.id))
    return ChangePage([_contract_record(r) for r in rows], following)


def contract_record(*, contract_number: str) -> ContractRecord | None:
    row = db.session.execute(_contracts_select().where(Contract.contract_number == contract_number)).first()
    return _contract_record(row) if row else None
