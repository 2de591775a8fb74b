"""Webhook events from the pages where the facts happen: a customer's contact details changed by staff or by the
customer in the portal is published as `customer.updated` (with the new details) once the request commits."""
from __future__ import annotations

import json

from sqlalchemy import select

from domain.db import db
from domain.webhooks.models import WebhookEvent
from tenants.context import tenant_scope
from tests.factories import make_webhook_subscription
from tests.functional.test_backoffice_customer_entry import NEW, _office
from tests.functional.test_portal_profile import ADDRESS


def _listening(app, data) -> None:
    with app.app_context(), tenant_scope(data.tenant_id):
        make_webhook_subscription(url="https://hooks.example.invalid/in", event_types=("customer.updated",))
        db.session.commit()


def _customers(app, data) -> list[dict]:
    with app.app_context(), tenant_scope(data.tenant_id):
        return [json.loads(e.payload) for e in db.session.scalars(
            select(WebhookEvent).where(WebhookEvent.event_type == "customer.updated"))]


def test_staff_changing_contact_details_publishes_the_customer(app, browser, two_tenants, monkeypatch):
    monkeypatch.setitem(app.config, "REDIS_URL", None)
    a, b = two_tenants
    _listening(app, a)
    office = _office(browser, a, "supervisor")

    office.submit(f"/backoffice/customers/{a.account_number}/contact",
                  {**{k: NEW[k] for k in ("first_name", "last_name", "address_line1", "postcode", "city", "country")},
                   "email": "moved@example.test", "phone": ""})

    [customer] = _customers(app, a)
    assert customer["email"] == "moved@example.test" and customer["postal_address"]["city"] == "Lyon"
    assert a.account_number in customer["account_numbers"] and _customers(app, b) == []


def test_a_customer_changing_their_contact_details_publishes_them(app, browser, two_tenants, monkeypatch):
    monkeypatch.setitem(app.config, "REDIS_URL", None)
    a, _b = two_tenants
    _listening(app, a)
    portal = browser(a.slug)
    portal.login(a.customer_email)

    portal.submit("/profile/contact", ADDRESS)

    [customer] = _customers(app, a)
    assert customer["phone"] == "+33 4 72 10 20 30" and customer["postal_address"]["postcode"] == "69006"
