"""`customer.updated` for webhook subscribers: a customer (party) in the API's shape, with the accounts it holds."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from domain.contracts.models import CustomerAccount
from domain.db import db
from domain.parties.models import Party, PartyRole
from domain.webhooks.events import listening, publish


def customer_object(party: Party) -> dict:
    email, phone, postal = party.primary("email"), party.primary("phone"), party.primary("postal")
    accounts = list(db.session.scalars(
        select(CustomerAccount.account_number).join(PartyRole, PartyRole.account_id == CustomerAccount.id)
        .where(PartyRole.party_id == party.id).distinct().order_by(CustomerAccount.account_number)))
    return {"party_number": party.party_number, "kind": party.kind, "title": party.title,
            "first_name": party.first_name, "last_name": party.last_name,
            "organisation_name": party.organisation_name, "email": email.value if email else None,
            "phone": phone.value if phone else None,
            "postal_address": None if postal is None else {
                "address_line1": postal.address_line1, "address_line2": postal.address_line2,
                "postcode": postal.postcode, "city": postal.city, "country": postal.country},
            "account_numbers": accounts}


def publish_customer_updated(party: Party, *, now: datetime) -> None:
    """After a change of a customer's details (staff's edit, the customer's own profile), when one listens."""
    if listening("customer.updated"):
        db.session.flush()
        db.session.expire(party, ["contact_points"])
        publish("customer.updated", [customer_object(party)], occurred_at=now)
