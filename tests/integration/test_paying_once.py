"""Paying once on Stripe (the real `stripe` library against tests/stripe_fake.py, signed webhooks): an event and
its effect are one transaction, concurrent deliveries credit once, future-dated signatures are refused, an
abandoned checkout expires, and a second checkout for the same bills replaces the first."""
# ruff: noqa: F811  (the `shop` and `stripe_api` fixtures are imported from the Stripe webhook tests)
from __future__ import annotations

import threading
import time
from datetime import timedelta
from decimal import Decimal

from sqlalchemy import func, select

from domain.accounting.models import LedgerEntry, Payment
from domain.db import db
from domain.payments import services as payment_services
from domain.payments.models import PaymentEvent
from tenants.context import tenant_scope
from tests.integration.test_payments import balance_of
from tests.integration.test_stripe_webhooks import SECRETS, _checkout, _deliver, shop, stripe_api  # noqa: F401
from tests.stripe_fake import signed


def _payments(app, tenant_id) -> list[Payment]:
    with app.app_context(), tenant_scope(tenant_id):
        found = list(db.session.scalars(select(Payment).where(Payment.provider == "stripe").order_by(Payment.id)))
        db.session.expunge_all()
        return found


def _count(app, tenant_id, column, *where) -> int:
    with app.app_context(), tenant_scope(tenant_id):
        return db.session.scalar(select(func.count(column)).where(*where))


def _balance(app, data) -> Decimal:
    with app.app_context(), tenant_scope(data.tenant_id):
        return balance_of(data.account_number)


# --- One transaction: an event whose processing fails is not kept ---------------------------------------------

def test_a_webhook_that_fails_after_recording_its_event_is_applied_on_the_providers_retry(
        app, shop, stripe_api, monkeypatch):
    a, _b, bills, portal = shop
    session_id = _checkout(portal, bills)
    event = stripe_api.event_for(session_id, "checkout.session.completed")
    real = payment_services.mark_succeeded
    calls = []

    def fails_once(**kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("the database went away mid-way")
        return real(**kwargs)

    monkeypatch.setattr(payment_services, "mark_succeeded", fails_once)

    first = _deliver(portal, event, SECRETS["alpha"])
    retry = _deliver(portal, event, SECRETS["alpha"])

    assert first.status_code == 500
    assert (retry.status_code, retry.json["outcome"]) == (200, "applied")
    payment = _payments(app, a.tenant_id)[0]
    assert payment.status == "succeeded"
    assert _count(app, a.tenant_id, LedgerEntry.id, LedgerEntry.payment_id == payment.id) == 1
    assert _count(app, a.tenant_id, PaymentEvent.id, PaymentEvent.event_id == event["id"]) == 1
    assert _balance(app, a) == Decimal("0.00")


def test_concurrent_deliveries_for_one_payment_credit_it_once_and_all_answer_200(app, shop, stripe_api):
    a, _b, bills, portal = shop
    session_id = _checkout(portal, bills)
    # Five events about the same paid session (Stripe may send completed more than once, with new ids), and one
    # of them delivered twice.
    events = [stripe_api.event_for(session_id, "checkout.session.completed") for _ in range(4)]
    events.append(events[0])
    deliveries = [signed(event, SECRETS["alpha"]) for event in events]
    answers: list = [None] * len(deliveries)
    start = threading.Barrier(len(deliveries))

    def deliver(index: int) -> None:
        payload, headers = deliveries[index]
        client = app.test_client()
        start.wait()
        try:
            response = client.post("/payments/webhook", data=payload, headers=headers, base_url=portal.base_url)
        except Exception as exc:  # the test client re-raises what a server answers with a 500
            answers[index] = (500, repr(exc)[:80])
            return
        answers[index] = (response.status_code, (response.json or {}).get("outcome"))

    threads = [threading.Thread(target=deliver, args=(i,)) for i in range(len(deliveries))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert [status for status, _outcome in answers] == [200] * 5, answers
    assert sorted(outcome for _status, outcome in answers).count("applied") == 1, answers
    payment = _payments(app, a.tenant_id)[0]
    assert payment.status == "succeeded"
    assert _count(app, a.tenant_id, LedgerEntry.id, LedgerEntry.payment_id == payment.id) == 1
    assert _balance(app, a) == Decimal("0.00")


# --- Webhook timestamps --------------------------------------------------------------------------------------

def test_a_signature_dated_in_the_future_beyond_the_tolerance_is_refused(app, shop, stripe_api):
    a, _b, bills, portal = shop
    session_id = _checkout(portal, bills)
    event = stripe_api.event_for(session_id, "checkout.session.completed")

    future = _deliver(portal, event, SECRETS["alpha"], timestamp=int(time.time()) + 600)
    near = _deliver(portal, event, SECRETS["alpha"], timestamp=int(time.time()) + 60)

    assert future.status_code == 400
    assert near.status_code == 200  # a clock a minute ahead is within the tolerance
    assert _count(app, a.tenant_id, PaymentEvent.id, PaymentEvent.event_id == event["id"]) == 1


# --- Abandoned checkouts expire --------------------------------------------------------------------------------

def test_the_checkout_is_opened_with_an_expiry_that_the_payment_keeps(app, shop, stripe_api):
    a, _b, bills, portal = shop

    session_id = _checkout(portal, bills)

    sent = stripe_api.checkout_requests()[-1]["params"]
    payment = _payments(app, a.tenant_id)[0]
    assert payment.expires_at is not None
    assert int(sent["expires_at"]) == int(payment.expires_at.timestamp()) == stripe_api.sessions[session_id][
        "expires_at"]
    assert timedelta(minutes=30) <= payment.expires_at - payment.created_at <= timedelta(hours=24)


def test_an_expired_event_shows_the_checkout_as_not_completed(app, shop, stripe_api):
    a, _b, bills, portal = shop
    session_id = _checkout(portal, bills)

    _deliver(portal, stripe_api.event_for(session_id, "checkout.session.expired"), SECRETS["alpha"])

    payment = _payments(app, a.tenant_id)[0]
    page = portal.get(f"/payments/{payment.public_id}").get_data(as_text=True)
    assert payment.status == "cancelled"
    assert "not completed" in page and "We are confirming your payment" not in page


def test_a_checkout_left_open_past_its_expiry_is_swept_and_shown_as_not_completed(app, shop, stripe_api, clock):
    a, _b, bills, portal = shop
    session_id = _checkout(portal, bills)
    payment = _payments(app, a.tenant_id)[0]
    # No `checkout.session.expired` ever arrives (a webhook endpoint misconfigured, say).

    clock.move_to(payment.expires_at + timedelta(minutes=10))
    page = portal.get(f"/payments/{payment.public_id}").get_data(as_text=True)

    assert _payments(app, a.tenant_id)[0].status == "cancelled"
    assert stripe_api.sessions[session_id]["status"] == "expired"
    assert "not completed" in page and "We are confirming your payment" not in page


def test_the_sweep_job_expires_every_stale_checkout_of_the_tenant(app, shop, stripe_api, clock):
    from domain.payments.checkout_jobs import expire_checkouts

    a, _b, bills, portal = shop
    _checkout(portal, bills)
    payment = _payments(app, a.tenant_id)[0]

    clock.move_to(payment.expires_at - timedelta(minutes=1))
    with app.app_context(), tenant_scope(a.tenant_id):
        early = expire_checkouts(stripe_api_base=stripe_api.url)
        db.session.commit()
    clock.move_to(payment.expires_at + timedelta(minutes=6))
    with app.app_context(), tenant_scope(a.tenant_id):
        late = expire_checkouts(stripe_api_base=stripe_api.url)
        db.session.commit()

    assert early == {"expired": 0} and late == {"expired": 1}
    assert _payments(app, a.tenant_id)[0].status == "cancelled"


def test_a_checkout_paid_in_its_last_moments_is_not_swept(app, shop, stripe_api, clock):
    a, _b, bills, portal = shop
    session_id = _checkout(portal, bills)
    payment = _payments(app, a.tenant_id)[0]
    stripe_api.complete(session_id)  # paid; its webhook is late

    clock.move_to(payment.expires_at + timedelta(minutes=10))
    portal.get(f"/payments/{payment.public_id}")
    late = _deliver(portal, stripe_api.event_for(session_id, "checkout.session.completed"), SECRETS["alpha"])

    assert late.json["outcome"] == "applied"
    assert _payments(app, a.tenant_id)[0].status == "succeeded"


# --- A second checkout for the same bills replaces the first ----------------------------------------------------

def test_a_second_checkout_for_the_same_bills_expires_the_first_so_only_one_can_be_credited(
        app, shop, stripe_api):
    a, _b, bills, portal = shop
    first = _checkout(portal, bills)

    second = _checkout(portal, [bills[0]])
    late_first = _deliver(portal, stripe_api.event_for(first, "checkout.session.completed"), SECRETS["alpha"])
    paid_second = _deliver(portal, stripe_api.event_for(second, "checkout.session.completed"), SECRETS["alpha"])

    assert [r["path"] for r in stripe_api.expire_requests()] == [f"/v1/checkout/sessions/{first}/expire"]
    assert stripe_api.sessions[first]["status"] == "expired"
    old, new = _payments(app, a.tenant_id)
    assert (old.status, new.status) == ("cancelled", "succeeded")
    assert late_first.json["outcome"] == "ignored" and paid_second.json["outcome"] == "applied"
    assert _balance(app, a) == Decimal("15.80")  # the second bill is still to pay; nothing was credited twice


def test_a_checkout_already_paid_is_not_replaced_and_the_new_one_is_refused(app, shop, stripe_api):
    a, _b, bills, portal = shop
    first = _checkout(portal, bills)
    stripe_api.complete(first)  # paid on Stripe; the webhook has not arrived yet

    refused = portal.submit("/pay", {"mode": "bills", "bill": bills})

    assert refused.status_code == 409
    assert "being confirmed" in refused.get_data(as_text=True)
    assert [p.status for p in _payments(app, a.tenant_id)] == ["pending"]


def test_checkouts_for_other_bills_stay_open(app, shop, stripe_api):
    a, _b, bills, portal = shop
    _checkout(portal, [bills[0]])

    _checkout(portal, [bills[1]])

    assert stripe_api.expire_requests() == []
    assert [p.status for p in _payments(app, a.tenant_id)] == ["pending", "pending"]


def test_money_that_arrives_for_bills_paid_meanwhile_is_credit_shown_to_customer_and_staff(
        app, shop, stripe_api, browser):
    from tests.integration.test_payments import account_of, pay_allocated
    from domain.billing.models import Bill

    a, _b, bills, portal = shop
    session_id = _checkout(portal, bills)
    with app.app_context(), tenant_scope(a.tenant_id):
        bill = db.session.scalar(select(Bill).where(Bill.number == bills[0]))
        pay_allocated(bill, "84.20")  # a bank transfer matched while the checkout was open
        db.session.commit()
        account_of(a.account_number)

    _deliver(portal, stripe_api.event_for(session_id, "checkout.session.completed"), SECRETS["alpha"])

    assert _balance(app, a) == Decimal("-84.20")
    home = portal.get("/").get_data(as_text=True)
    assert "€84.20" in home and "in credit" in home
    staff = browser(a.slug)
    staff.login(a.staff_emails["collections"], area="/backoffice")
    page = staff.get(f"/backoffice/customers/{a.account_number}").get_data(as_text=True)
    assert "in the customer&#39;s favour" in page or "in the customer's favour" in page
    assert "Held as credit" in page and "€84.20" in page

