"""In production the sandbox checkout (no money moves) is refused unless the platform operator made the tenant a
demo; a utility with no card provider offers no card payment and says how else to pay."""
# ruff: noqa: F811  (the `portal` fixture is imported from the sandbox payment tests)
from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import func, select

from domain.accounting.models import Payment
from domain.db import db
from domain.payments.providers import encode_event, sandbox_event, sandbox_secret, sign_payload
from tenants.context import platform_scope, tenant_scope
from tenants.models import Tenant
from tests.functional.test_portal_payments import _balance, _start, portal  # noqa: F401


@pytest.fixture
def production(app, monkeypatch):
    monkeypatch.setitem(app.config, "ENV_NAME", "production")


def _payments(app, tenant_id) -> int:
    with app.app_context(), tenant_scope(tenant_id):
        return db.session.scalar(select(func.count(Payment.id)))


def _set_iban(app, tenant_id, iban="FR7630006000011234567890189"):
    with app.app_context(), platform_scope("test: bank details"):
        db.session.get(Tenant, tenant_id).iban = iban
        db.session.commit()


def test_production_without_stripe_keys_offers_no_card_payment_and_says_how_else_to_pay(app, portal, production):
    a, _b, browser_a, older, _newer = portal
    _set_iban(app, a.tenant_id)
    before = _payments(app, a.tenant_id)

    page = browser_a.get("/pay").get_data(as_text=True)
    bills = browser_a.get("/bills").get_data(as_text=True)
    bill = browser_a.get(f"/bills/{older}").get_data(as_text=True)
    home = browser_a.get("/").get_data(as_text=True)
    token = browser_a.csrf("/profile")
    tried = browser_a.post("/pay", {"mode": "bills", "bill": [older], "csrf_token": token})

    assert "Card payment is not available" in page and "FR7630006000011234567890189" in page
    assert "Pay the whole balance" not in page and "Test mode" not in page
    assert 'href="/pay?' not in bills and "by card" not in bill and "Pay now" not in home
    assert tried.status_code == 409 and "Card payment is not available" in tried.get_data(as_text=True)
    assert _payments(app, a.tenant_id) == before
    assert _balance(app, a) == Decimal("125.00")


def test_production_refuses_the_sandbox_routes_and_its_signed_events(app, portal, production, monkeypatch):
    a, _b, browser_a, older, _newer = portal
    monkeypatch.setitem(app.config, "ENV_NAME", "test")
    public_id = _start(browser_a, {"mode": "bills", "bill": [older]})  # opened before the switch to production
    monkeypatch.setitem(app.config, "ENV_NAME", "production")
    event = sandbox_event(outcome="paid", tenant_id=a.tenant_id, payment_public_id=public_id, session_id="",
                          amount=8000, currency="EUR")
    payload = encode_event(event)
    signature = sign_payload(payload, sandbox_secret(app_secret=app.config["SECRET_KEY"], tenant_id=a.tenant_id))

    checkout = browser_a.get(f"/payments/{public_id}/sandbox")
    token = browser_a.csrf("/profile")
    paid = browser_a.post(f"/payments/{public_id}/sandbox", {"outcome": "paid", "csrf_token": token})
    webhook = browser_a.post("/payments/webhook", data=payload,
                             headers={"Stripe-Signature": signature, "Content-Type": "application/json"})

    assert (checkout.status_code, paid.status_code, webhook.status_code) == (404, 404, 404)
    with app.app_context(), tenant_scope(a.tenant_id):
        assert db.session.scalar(select(Payment.status).where(Payment.public_id == public_id)) == "pending"
    assert _balance(app, a) == Decimal("125.00")


def test_only_the_operator_makes_a_tenant_a_demo_whose_sandbox_then_works_in_production(app, portal, production):
    a, _b, browser_a, older, _newer = portal

    result = app.test_cli_runner().invoke(args=["tenants", "set-demo", a.slug, "--on"])
    public_id = _start(browser_a, {"mode": "bills", "bill": [older]})
    page = browser_a.get(f"/payments/{public_id}/sandbox").get_data(as_text=True)
    off = app.test_cli_runner().invoke(args=["tenants", "set-demo", a.slug, "--off"])

    assert result.exit_code == 0, result.output
    assert "Test mode — no real money." in page
    assert off.exit_code == 0 and browser_a.get(f"/payments/{public_id}/sandbox").status_code == 404
    unknown = app.test_cli_runner().invoke(args=["tenants", "set-demo", "nowhere", "--on"])
    assert unknown.exit_code != 0 and "no tenant" in unknown.output


def test_outside_production_a_tenant_without_keys_keeps_the_labelled_sandbox(app, portal):
    _a, _b, browser_a, older, _newer = portal

    page = browser_a.get("/pay").get_data(as_text=True)

    assert "Test mode — no real money." in page and "Pay the whole balance" in page
