"""Parties and their contact points as staff enter them: a new holder, and changes to its contact details."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime

from domain.db import db
from domain.field_errors import ErrorCollector
from domain.numbering import next_number, tenant_prefix
from domain.parties.models import PARTY_KINDS, ContactPoint, Party

EMAIL_SHAPE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
PHONE_SHAPE = re.compile(r"^\+?[0-9 ().-]{6,24}$")
# Countries a postal address may be in (the utilities served are European).
COUNTRIES = ("FR", "BE", "LU", "CH", "DE", "AT", "ES", "PT", "IT", "NL", "GB", "IE", "MC")


@dataclass(frozen=True)
class Address:
    address_line1: str
    address_line2: str | None
    postcode: str
    city: str
    country: str


@dataclass(frozen=True)
class HolderDetails:
    """Who the customer is and how to reach them (e-mail and phone optional, a postal address required)."""

    kind: str  # person or organisation
    title: str | None
    first_name: str | None
    last_name: str | None
    organisation_name: str | None
    registration_number: str | None
    birth_date: date | None
    email: str | None
    phone: str | None
    address: Address


def _clean(text: str | None) -> str | None:
    text = " ".join((text or "").split())
    return text or None


def clean_address(address: Address) -> Address:
    """Spaces tidied, an empty second line as None, postcode and country in capitals."""
    return Address(address_line1=_clean(address.address_line1) or "", address_line2=_clean(address.address_line2),
                   postcode=(_clean(address.postcode) or "").upper(), city=_clean(address.city) or "",
                   country=(address.country or "").upper())


def clean_holder(details: HolderDetails) -> HolderDetails:
    """The details with spaces tidied, empty texts as None, e-mail in lower case, postcode in capitals."""
    return HolderDetails(
        kind=details.kind, title=_clean(details.title), first_name=_clean(details.first_name),
        last_name=_clean(details.last_name), organisation_name=_clean(details.organisation_name),
        registration_number=_clean(details.registration_number), birth_date=details.birth_date,
        email=(_clean(details.email) or "").lower() or None, phone=_clean(details.phone),
        address=clean_address(details.address),
    )


def check_address(address: Address, errors: ErrorCollector, prefix: str = "") -> None:
    if not address.address_line1:
        errors.add(prefix + "address_line1", "required")
    if not address.postcode:
        errors.add(prefix + "postcode", "required")
    if not address.city:
        errors.add(prefix + "city", "required")
    if address.country not in COUNTRIES:
        errors.add(prefix + "country", "unknown")


def check_holder(details: HolderDetails, errors: ErrorCollector, *, today: date) -> None:
    """Every problem of the holder's details, per field (nothing is looked up: a party is not unique by name)."""
    if details.kind not in PARTY_KINDS:
        errors.add("kind", "unknown")
    elif details.kind == "person":
        if not details.last_name:
            errors.add("last_name", "required")
        if details.birth_date is not None and details.birth_date >= today:
            errors.add("birth_date", "future")
    elif not details.organisation_name:
        errors.add("organisation_name", "required")
    if details.email and not EMAIL_SHAPE.match(details.email):
        errors.add("email", "invalid")
    if details.phone and not PHONE_SHAPE.match(details.phone):
        errors.add("phone", "invalid")
    check_address(details.address, errors)


def next_party_number(*, tenant) -> str:
    return next_number(column=Party.party_number, tenant_id=tenant.id, kind="party",
                       fallback_prefix=f"{tenant_prefix(tenant.slug)}P", fallback_width=6)


def create_party(*, details: HolderDetails, tenant, now: datetime) -> Party:
    """A new party with its contact points (each the main one of its kind). The details are checked already."""
    person = details.kind == "person"
    party = Party(
        party_number=next_party_number(tenant=tenant), kind=details.kind,
        title=details.title if person else None, first_name=details.first_name if person else None,
        last_name=details.last_name if person else None,
        organisation_name=None if person else details.organisation_name,
        registration_number=None if person else details.registration_number,
        birth_date=details.birth_date if person else None, created_at=now,
    )
    db.session.add(party)
    db.session.flush()
    _set_contact_points(party, details)
    return party


def _set_contact_points(party: Party, details: HolderDetails) -> None:
    for kind, value in (("email", details.email), ("phone", details.phone)):
        point = party.primary(kind)
        if value is None:
            if point is not None:
                db.session.delete(point)
                party.contact_points.remove(point)
            continue
        if point is None:
            point = ContactPoint(party_id=party.id, kind=kind, is_primary=True)
            party.contact_points.append(point)
        if point.value != value:
            point.value = value
            point.verified_at = None  # a new address or number is not verified
    address = details.address
    postal = party.primary("postal")
    if postal is None:
        postal = ContactPoint(party_id=party.id, kind="postal", is_primary=True)
        party.contact_points.append(postal)
    postal.address_line1 = address.address_line1
    postal.address_line2 = address.address_line2
    postal.postcode = address.postcode
    postal.city = address.city
    postal.country = address.country
    db.session.flush()


def update_holder(*, party: Party, details: HolderDetails) -> None:
    """Change the holder's name and main contact points (the kind of party stays). The details are checked
    already; the audit trail records each changed field with its author."""
    if party.kind == "person":
        party.title, party.first_name, party.last_name = details.title, details.first_name, details.last_name
        party.birth_date = details.birth_date
    else:
        party.organisation_name, party.registration_number = details.organisation_name, details.registration_number
    _set_contact_points(party, details)
