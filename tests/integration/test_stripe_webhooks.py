"""Stripe Checkout through the real `stripe` library (against tests/stripe_fake.py) and signed webhooks."""
from __future__ import annotations

import time
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from domain.accounting.models import LedgerEntry, Payment, PaymentAllocation
from domain.db import db
from domain.payments.models import PaymentEvent
from tenants.context import platform_scope, tenant_scope
from tenants.models import Tenant
from tests.integration.test_payments import add_bill, balance_of, book_factory_payment
from tests.stripe_fake import StripeFake, signed

SECRETS = {"alpha": "whsec_test_alpha_secret", "bravo": "whsec_test_bravo_secret"}


@pytest.fixture
def stripe_api(app, monkeypatch):
    fake = StripeFake().start()
    monkeypatch.setitem(app.config, "STRIPE_API_BASE", fake.url)
    yield fake
    fake.stop()


@pytest.fixture
def shop(app, two_tenants, stripe_api, browser):
    """Both tenants on Stripe with their own keys; alpha's customer signed in with two open bills."""
    a, b = two_tenants
    with app.app_context(), platform_scope("test stripe keys"):
        for data in (a, b):
            tenant = db.session.get(Tenant, data.tenant_id)
            tenant.stripe_secret_key = f"sk_test_{data.slug}"
            tenant.stripe_webhook_secret = SECRETS[data.slug]
        db.session.commit()
    with app.app_context():
        book_factory_payment(a)
    with app.app_context(), tenant_scope(a.tenant_id):
        bills = [add_bill(a.account_number, "84.20").number, add_bill(a.account_number, "15.80").number]
        db.session.commit()
    portal = browser(a.slug)
    portal.login(a.customer_email)
    return a, b, bills, portal


def _checkout(portal, bills) -> str:
    """Pay the bills from the portal; returns the Stripe session id the customer was sent to."""
    response = portal.submit("/pay", {"mode": "bills", "bill": bills})
    assert response.status_code == 303, response.get_data(as_text=True)[:500]
    assert response.headers["Location"].startswith("https://checkout.stripe.com/c/pay/cs_test_")
    return response.headers["Location"].rsplit("/", 1)[1]


def _deliver(portal, event, secret, **kwargs):
    payload, headers = signed(event, secret, **kwargs)
    return portal.post("/payments/webhook", data=payload, headers=headers)


def _payment(app, tenant_id) -> Payment:
    with app.app_context(), tenant_scope(tenant_id):
        found = db.session.scalar(select(Payment).where(Payment.provider == "stripe"))
        db.session.expunge_all()
        return found


def _count(app, tenant_id, column, *where) -> int:
    with app.app_context(), tenant_scope(tenant_id):
        return db.session.scalar(select(func.count(column)).where(*where))


def test_checkout_session_is_created_with_the_real_library_and_our_amounts(app, shop, stripe_api):
    a, _b, bills, portal = shop

    session_id = _checkout(portal, bills)

    sent = stripe_api.checkout_requests()[-1]
    assert sent["headers"]["Authorization"] == "Bearer sk_test_alpha"
    params = sent["params"]
    payment = _payment(app, a.tenant_id)
    assert params["metadata"] == {"tenant_id": str(a.tenant_id), "payment_id": payment.public_id}
    assert params["mode"] == "payment"
    assert [(item["price_data"]["currency"], item["price_data"]["unit_amount"]) for item in params["line_items"]] \
        == [("eur", "8420"), ("eur", "1580")]
    assert params["success_url"].endswith(f"/payments/{payment.public_id}?return=success")
    assert params["cancel_url"].endswith(f"/payments/{payment.public_id}?return=cancel")
    assert (payment.status, payment.amount, payment.provider_reference) == ("pending", Decimal("100.00"), session_id)


def test_completed_event_fulfils_once_with_ledger_allocations_and_one_receipt(app, shop, stripe_api, outbox):
    a, _b, bills, portal = shop
    session_id = _checkout(portal, bills)
    event = stripe_api.event_for(session_id, "checkout.session.completed")

    first = _deliver(portal, event, SECRETS["alpha"])
    replay = _deliver(portal, event, SECRETS["alpha"])
    again = _deliver(portal, stripe_api.event_for(session_id, "checkout.session.completed"), SECRETS["alpha"])

    assert (first.status_code, first.json["outcome"]) == (200, "applied")
    assert replay.json["outcome"] == "duplicate"
    assert again.json["outcome"] == "ignored"
    payment = _payment(app, a.tenant_id)
    assert payment.status == "succeeded" and payment.received_at is not None and payment.receipt_sent_at
    assert _count(app, a.tenant_id, LedgerEntry.id, LedgerEntry.payment_id == payment.id) == 1
    with app.app_context(), tenant_scope(a.tenant_id):
        assert balance_of(a.account_number) == Decimal("0.00")
    assert _count(app, a.tenant_id, PaymentEvent.id) == 1 + 2  # the factory's event, then ours twice
    mails = outbox()
    assert len(mails) == 1
    assert mails[0]["To"] == a.customer_email
    body = mails[0].get_body(preferencelist=("plain",)).get_content()
    assert "100.00" in body and bills[0] in body and bills[1] in body


def test_bad_signature_is_refused_and_changes_nothing(app, shop, stripe_api, outbox):
    a, _b, bills, portal = shop
    session_id = _checkout(portal, bills)
    event = stripe_api.event_for(session_id, "checkout.session.completed")

    wrong_secret = _deliver(portal, event, "whsec_not_the_tenants")
    payload, headers = signed(event, SECRETS["alpha"])
    tampered = portal.post("/payments/webhook", data=payload.replace(b"10000", b"100"), headers=headers)
    unsigned = portal.post("/payments/webhook", data=payload, headers={"Content-Type": "application/json"})

    assert wrong_secret.status_code == tampered.status_code == unsigned.status_code == 400
    assert _payment(app, a.tenant_id).status == "pending"
    assert _count(app, a.tenant_id, PaymentEvent.id, PaymentEvent.provider == "stripe") == 0
    assert outbox() == []


def test_a_signature_older_than_five_minutes_is_refused(app, shop, stripe_api):
    a, _b, bills, portal = shop
    session_id = _checkout(portal, bills)
    event = stripe_api.event_for(session_id, "checkout.session.completed")

    old = _deliver(portal, event, SECRETS["alpha"], timestamp=int(time.time()) - 600)

    assert old.status_code == 400
    assert _payment(app, a.tenant_id).status == "pending"


def test_expired_after_completed_changes_nothing(app, shop, stripe_api, outbox):
    a, _b, bills, portal = shop
    session_id = _checkout(portal, bills)
    _deliver(portal, stripe_api.event_for(session_id, "checkout.session.completed"), SECRETS["alpha"])

    late = _deliver(portal, stripe_api.event_for(session_id, "checkout.session.expired"), SECRETS["alpha"])

    assert late.json["outcome"] == "ignored"
    payment = _payment(app, a.tenant_id)
    assert (payment.status, payment.failure_reason) == ("succeeded", None)
    assert len(outbox()) == 1


def test_expired_checkout_cancels_the_payment_and_a_late_completion_cannot_revive_it(app, shop, stripe_api):
    a, _b, bills, portal = shop
    session_id = _checkout(portal, bills)

    _deliver(portal, stripe_api.event_for(session_id, "checkout.session.expired"), SECRETS["alpha"])
    late = _deliver(portal, stripe_api.event_for(session_id, "checkout.session.completed"), SECRETS["alpha"])

    assert late.json["outcome"] == "ignored"
    payment = _payment(app, a.tenant_id)
    assert payment.status == "cancelled" and payment.failure_reason
    assert _count(app, a.tenant_id, LedgerEntry.id, LedgerEntry.payment_id == payment.id) == 0


def test_failed_card_then_success_in_the_same_checkout_is_recorded(app, shop, stripe_api):
    a, _b, bills, portal = shop
    session_id = _checkout(portal, bills)
    payment = _payment(app, a.tenant_id)
    failed = {"id": "evt_failed_1", "object": "event", "created": int(time.time()),
              "type": "payment_intent.payment_failed",
              "data": {"object": {"id": "pi_1", "object": "payment_intent", "amount": 10000, "currency": "eur",
                                  "metadata": {"tenant_id": str(a.tenant_id), "payment_id": payment.public_id},
                                  "last_payment_error": {"code": "card_declined",
                                                         "message": "Your card was declined."}}}}

    _deliver(portal, failed, SECRETS["alpha"])
    assert _payment(app, a.tenant_id).failure_reason == "Your card was declined."
    _deliver(portal, stripe_api.event_for(session_id, "checkout.session.completed"), SECRETS["alpha"])

    assert _payment(app, a.tenant_id).status == "succeeded"


def test_an_event_whose_amount_differs_from_the_payment_is_not_fulfilled(app, shop, stripe_api, outbox):
    a, _b, bills, portal = shop
    session_id = _checkout(portal, bills)

    response = _deliver(portal, stripe_api.event_for(session_id, "checkout.session.completed", amount_total=100),
                        SECRETS["alpha"])

    assert response.json["outcome"] == "amount_mismatch"
    assert _payment(app, a.tenant_id).status == "pending"
    assert outbox() == []


def test_tenant_a_webhook_does_not_accept_a_payment_of_tenant_b(app, shop, stripe_api, browser):
    a, b, _bills, _portal = shop
    with app.app_context(), tenant_scope(b.tenant_id):
        b_bill = add_bill(b.account_number, "33.00").number
        db.session.commit()
    b_portal = browser(b.slug)
    b_portal.login(b.customer_email)
    b_session = _checkout(b_portal, [b_bill])
    event = stripe_api.event_for(b_session, "checkout.session.completed")
    a_portal = browser(a.slug)

    with_a_secret = _deliver(a_portal, event, SECRETS["alpha"])
    with_b_secret = _deliver(a_portal, event, SECRETS["bravo"])

    assert with_a_secret.json["outcome"] == "unknown_payment"
    assert with_b_secret.status_code == 400
    assert _payment(app, b.tenant_id).status == "pending"
    assert _count(app, b.tenant_id, PaymentEvent.id, PaymentEvent.provider == "stripe") == 0


def test_stripe_down_stores_no_payment_and_says_so(app, shop, stripe_api):
    a, _b, bills, portal = shop
    stripe_api.fail_next = 500
    stripe_api.fail_times = 5

    response = portal.submit("/pay", {"mode": "bills", "bill": bills})

    assert response.status_code == 502
    assert "cannot be reached" in response.get_data(as_text=True)
    assert _count(app, a.tenant_id, Payment.id, Payment.provider == "stripe") == 0
    assert _count(app, a.tenant_id, PaymentAllocation.id, PaymentAllocation.amount == Decimal("84.20")) == 0


def test_the_pay_page_allows_its_form_to_go_on_to_stripe_checkout_only(shop):
    _a, _b, _bills, portal = shop

    csp = portal.get("/pay").headers["Content-Security-Policy"]

    assert "form-action 'self' https://checkout.stripe.com" in csp
    assert "script-src 'self'" in csp


@pytest.mark.parametrize(("amount", "currency", "expected"), [
    ("12.34", "EUR", 1234), ("0.50", "gbp", 50), ("1200", "JPY", 1200), ("99.99", "USD", 9999),
])
def test_amounts_are_sent_in_the_currencys_minor_unit(amount, currency, expected):
    from domain.payments.providers import minor_units

    assert minor_units(Decimal(amount), currency) == expected
