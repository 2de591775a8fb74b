"""Customer accounts (with their holder, contact points, addresses and contracts), points of delivery (with their
meters and registers) and contracts, as the integration API gives them."""
from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import AwareDatetime, BaseModel, Field

from api.pagination import PageQuery
from api.schemas.common import QuantityText
from api.schemas.sync import exact, quantity
from domain.contracts.api_queries import AccountRecord, ContractRecord
from domain.sites.api_queries import DeliveryPointRecord

ContractStatus = Literal["active", "ended", "pending"]
Activity = Literal["water", "gas", "electricity", "heating"]


class AccountListQuery(PageQuery):
    q: str | None = Field(None, min_length=1, max_length=200,
                          description="Search as the back office does: a name (typos tolerated), customer number, "
                                      "e-mail, phone, postcode or town, point of delivery, meter serial or bill "
                                      "number. The list is then the best matches (at most 500), in the same "
                                      "change order.")


class ContractListQuery(PageQuery):
    account_number: str | None = Field(None, min_length=1, max_length=20,
                                       description="Only the contracts of this customer account.")


class ContactOut(BaseModel):
    kind: Literal["email", "phone"]
    value: str | None
    is_primary: bool
    verified: bool = Field(description="The customer confirmed it (an e-mail address they clicked a link in).")


class AddressOut(BaseModel):
    line1: str | None
    line2: str | None
    postcode: str | None
    city: str | None
    country: str | None = Field(description="ISO 3166-1 alpha-2.")
    is_primary: bool


class HolderOut(BaseModel):
    party_number: str = Field(description="The holder's public number (one person or organisation may hold "
                                          "several accounts).")
    kind: Literal["person", "organisation"]
    name: str
    title: str | None
    first_name: str | None
    last_name: str | None
    organisation_name: str | None
    external_ref: str | None = Field(description="Your former system's reference, when the customer base was "
                                                 "imported with one.")
    contacts: list[ContactOut] = Field(description="E-mail addresses and phone numbers, the primary one first.")
    addresses: list[AddressOut] = Field(description="Postal addresses, the primary one first.")


class AccountContractOut(BaseModel):
    contract_number: str
    delivery_point: str = Field(description="The identifier of the point of delivery supplied.")
    status: ContractStatus
    start_date: date
    end_date: date | None = Field(description="Exclusive; `null` while it runs.")


class AccountOut(BaseModel):
    account_number: str = Field(description="The customer number: the account's public identifier.")
    status: Literal["active", "closed"]
    payment_method: Literal["transfer", "card", "direct_debit"]
    paperless: bool
    locale: str | None = Field(description="The language the customer reads (en, fr, de, es), if chosen.")
    opened_on: date
    closed_on: date | None
    external_ref: str | None
    created_at: AwareDatetime
    updated_at: AwareDatetime = Field(description="Moves when the account, its holder, the holder's contacts or "
                                                  "addresses, its contracts' numbers, statuses, dates or "
                                                  "points, or these points' identifiers change.")
    holder: HolderOut
    contracts: list[AccountContractOut] = Field(description="Its contracts, oldest first.")

    @classmethod
    def of(cls, r: AccountRecord) -> AccountOut:
        h = r.holder
        return cls(
            account_number=r.account_number, status=r.status, payment_method=r.payment_method,
            paperless=r.paperless, locale=r.locale, opened_on=r.opened_on, closed_on=r.closed_on,
            external_ref=r.external_ref, created_at=r.created_at, updated_at=r.updated_at,
            holder=HolderOut(
                party_number=h.party_number, kind=h.kind, name=h.name, title=h.title, first_name=h.first_name,
                last_name=h.last_name, organisation_name=h.organisation_name, external_ref=h.external_ref,
                contacts=[ContactOut(kind=c.kind, value=c.value, is_primary=c.is_primary, verified=c.verified)
                          for c in h.contact_points if c.kind in ("email", "phone")],
                addresses=[AddressOut(line1=c.address_line1, line2=c.address_line2, postcode=c.postcode, city=c.city,
                                      country=c.country, is_primary=c.is_primary)
                           for c in h.contact_points if c.kind == "postal"]),
            contracts=[AccountContractOut(contract_number=c.contract_number, delivery_point=c.delivery_point_identifier,
                                          status=c.status, start_date=c.start_date, end_date=c.end_date)
                       for c in r.contracts])


class RegisterOut(BaseModel):
    code: str = Field(description="TOTAL, PEAK, OFFPEAK...: what a reading names.")
    label: str


class MeterOut(BaseModel):
    serial_number: str
    model: str | None
    digits: int = Field(description="Digits on the index: past the largest value it rolls over to zero.")
    multiplier: str = Field(description="What the index difference is multiplied by, as text.")
    unit: str
    is_smart: bool
    installed_on: date
    removed_on: date | None = Field(description="Exclusive; `null`: the meter in place.")
    registers: list[RegisterOut]


class PremiseOut(BaseModel):
    public_id: str = Field(description="The premise's identifier (UUID).")
    line1: str
    line2: str | None
    postcode: str
    city: str
    country: str


class DeliveryPointOut(BaseModel):
    identifier: str = Field(description="The point's identifier on the network: its public identifier.")
    activity: Activity
    unit: Literal["kWh", "m3"]
    status: Literal["active", "inactive"]
    subscribed_power: str | None = Field(description="kVA (electricity) or kW (heating), as text.")
    calorific_zone: str | None
    external_ref: str | None
    updated_at: AwareDatetime = Field(description="Moves when the point, its premise's address or its meter "
                                                  "installations change.")
    premise: PremiseOut
    meters: list[MeterOut] = Field(description="Meters installed over time, oldest first.")

    @classmethod
    def of(cls, r: DeliveryPointRecord) -> DeliveryPointOut:
        p = r.premise
        return cls(
            identifier=r.identifier, activity=r.activity, unit=r.unit, status=r.status,
            subscribed_power=exact(r.subscribed_power), calorific_zone=r.calorific_zone, external_ref=r.external_ref,
            updated_at=r.updated_at,
            premise=PremiseOut(public_id=p.public_id, line1=p.address_line1, line2=p.address_line2,
                               postcode=p.postcode, city=p.city, country=p.country),
            meters=[MeterOut(serial_number=m.serial_number, model=m.model, digits=m.digits,
                             multiplier=exact(m.multiplier), unit=m.unit, is_smart=m.is_smart,
                             installed_on=m.installed_on, removed_on=m.removed_on,
                             registers=[RegisterOut(code=g.code, label=g.label) for g in m.registers])
                    for m in r.meters])


class ContractOut(BaseModel):
    contract_number: str = Field(description="The contract's public number.")
    account_number: str
    delivery_point: str = Field(description="The identifier of the point of delivery supplied.")
    activity: Activity
    offer_code: str
    offer_name: str
    status: ContractStatus
    start_date: date
    end_date: date | None = Field(description="Exclusive; `null` while it runs.")
    billing_frequency: Literal["monthly", "bimonthly", "quarterly", "biannual", "annual"]
    estimated_annual_consumption: QuantityText | None
    billed_until: date | None = Field(description="Exclusive end of the latest period billed.")
    external_ref: str | None
    updated_at: AwareDatetime

    @classmethod
    def of(cls, r: ContractRecord) -> ContractOut:
        return cls(contract_number=r.contract_number, account_number=r.account_number,
                   delivery_point=r.delivery_point_identifier, activity=r.activity, offer_code=r.offer_code,
                   offer_name=r.offer_name, status=r.status, start_date=r.start_date, end_date=r.end_date,
                   billing_frequency=r.billing_frequency,
                   estimated_annual_consumption=quantity(r.estimated_annual_consumption),
                   billed_until=r.billed_until, external_ref=r.external_ref, updated_at=r.updated_at)
