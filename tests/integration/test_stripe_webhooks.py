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


# --- Refunds and disputes ------------------------------------------------------------------------------------------

def _paid(portal, stripe_api, bills) -> str:
    session_id = _checkout(portal, bills)
    assert _deliver(portal, stripe_api.event_for(session_id, "checkout.session.completed"),
                    SECRETS["alpha"]).json["outcome"] == "applied"
    return session_id


def _state(app, a, bills):
    """(payment status, refunded, balance, {bill number: (status, left to pay)}, ledger debits of reversals)."""
    from domain.billing import bills as bill_service
    from domain.billing.models import Bill

    with app.app_context(), tenant_scope(a.tenant_id):
        payment = db.session.scalar(select(Payment).where(Payment.provider == "stripe"))
        views = bill_service.bill_views(
            list(db.session.scalars(select(Bill).where(Bill.number.in_(bills)))), today=time_today())
        debits = sorted(db.session.scalars(select(LedgerEntry.amount).where(
            LedgerEntry.direction == "debit", LedgerEntry.bill_id.is_(None))))
        return (payment.status, payment.refunded_amount, balance_of(a.account_number),
                {v.bill.number: (v.status, v.outstanding) for v in views}, debits)


def time_today():
    from datetime import date

    return date.today()


def test_partial_refund_reverses_that_much_and_reopens_the_newest_bill_first(app, shop, stripe_api):
    a, _b, bills, portal = shop  # 84.20 then 15.80, paid together (100.00)
    session_id = _paid(portal, stripe_api, bills)

    response = _deliver(portal, stripe_api.refunded_event(session_id, 2000), SECRETS["alpha"])

    status, refunded, balance, by_bill, debits = _state(app, a, bills)
    assert response.json["outcome"] == "applied"
    assert (status, refunded, balance) == ("succeeded", Decimal("20.00"), Decimal("20.00"))
    assert by_bill[bills[1]] == ("due", Decimal("15.80"))  # the newest bill is undone first...
    assert by_bill[bills[0]] == ("partly_paid", Decimal("4.20"))  # ...then the older one for the rest
    assert debits == [Decimal("20.00")]
    html = portal.get("/bills").get_data(as_text=True)
    assert "Partly refunded" in html


def test_refunds_in_steps_then_in_full_make_the_payment_refunded(app, shop, stripe_api):
    a, _b, bills, portal = shop
    session_id = _paid(portal, stripe_api, bills)

    _deliver(portal, stripe_api.refunded_event(session_id, 2000), SECRETS["alpha"])
    _deliver(portal, stripe_api.refunded_event(session_id, 10000), SECRETS["alpha"])

    status, refunded, balance, by_bill, debits = _state(app, a, bills)
    assert (status, refunded, balance) == ("refunded", Decimal("100.00"), Decimal("100.00"))
    assert by_bill == {bills[0]: ("due", Decimal("84.20")), bills[1]: ("due", Decimal("15.80"))}
    assert debits == [Decimal("20.00"), Decimal("80.00")]
    payment = _payment(app, a.tenant_id)
    page = portal.get(f"/payments/{payment.public_id}").get_data(as_text=True)
    assert "Refunded" in page and "has been refunded" in page


def test_a_replayed_or_older_refund_event_changes_nothing(app, shop, stripe_api):
    a, _b, bills, portal = shop
    session_id = _paid(portal, stripe_api, bills)
    older = stripe_api.refunded_event(session_id, 2000)
    newer = stripe_api.refunded_event(session_id, 5000)

    first = _deliver(portal, newer, SECRETS["alpha"])
    replay = _deliver(portal, newer, SECRETS["alpha"])
    late = _deliver(portal, older, SECRETS["alpha"])

    assert [r.json["outcome"] for r in (first, replay, late)] == ["applied", "duplicate", "ignored"]
    status, refunded, balance, _by_bill, debits = _state(app, a, bills)
    assert (status, refunded, balance, debits) == ("succeeded", Decimal("50.00"), Decimal("50.00"),
                                                    [Decimal("50.00")])


def test_a_refund_that_arrives_before_the_payment_waits_for_it(app, shop, stripe_api, outbox):
    a, _b, bills, portal = shop
    session_id = _checkout(portal, bills)

    early = _deliver(portal, stripe_api.refunded_event(session_id, 10000), SECRETS["alpha"])
    before = _state(app, a, bills)
    completed = _deliver(portal, stripe_api.event_for(session_id, "checkout.session.completed"), SECRETS["alpha"])

    assert early.json["outcome"] == "applied" and completed.json["outcome"] == "applied"
    assert before[:3] == ("pending", Decimal("0.00"), Decimal("100.00")) and before[4] == []
    status, refunded, balance, by_bill, debits = _state(app, a, bills)
    assert (status, refunded, balance, debits) == ("refunded", Decimal("100.00"), Decimal("100.00"),
                                                    [Decimal("100.00")])
    assert by_bill[bills[0]][0] == by_bill[bills[1]][0] == "due"
    assert outbox() == []  # no receipt for money already given back


def test_a_refund_in_another_currency_or_of_another_amount_is_not_applied(app, shop, stripe_api):
    a, _b, bills, portal = shop
    session_id = _paid(portal, stripe_api, bills)
    other_currency = stripe_api.refunded_event(session_id, 2000)
    other_currency["data"]["object"]["currency"] = "usd"
    other_amount = stripe_api.refunded_event(session_id, 2000)
    other_amount["data"]["object"]["amount"] = 999999

    outcomes = [_deliver(portal, e, SECRETS["alpha"]).json["outcome"] for e in (other_currency, other_amount)]

    assert outcomes == ["amount_mismatch", "amount_mismatch"]
    assert _state(app, a, bills)[:3] == ("succeeded", Decimal("0.00"), Decimal("0.00"))


def test_a_dispute_won_changes_nothing(app, shop, stripe_api):
    a, _b, bills, portal = shop
    session_id = _paid(portal, stripe_api, bills)

    opened = _deliver(portal, stripe_api.dispute_event(session_id, "charge.dispute.created", dispute_id="dp_1",
                                                       status="needs_response"), SECRETS["alpha"])
    during = _state(app, a, bills)
    won = _deliver(portal, stripe_api.dispute_event(session_id, "charge.dispute.closed", dispute_id="dp_1",
                                                    status="won"), SECRETS["alpha"])

    assert opened.json["outcome"] == won.json["outcome"] == "applied"
    assert during[:3] == _state(app, a, bills)[:3] == ("succeeded", Decimal("0.00"), Decimal("0.00"))
    assert _state(app, a, bills)[4] == []


def test_a_dispute_lost_is_given_back_like_a_refund(app, shop, stripe_api):
    a, _b, bills, portal = shop
    session_id = _paid(portal, stripe_api, bills)

    _deliver(portal, stripe_api.dispute_event(session_id, "charge.dispute.created", dispute_id="dp_2",
                                              status="needs_response"), SECRETS["alpha"])
    lost = _deliver(portal, stripe_api.dispute_event(session_id, "charge.dispute.closed", dispute_id="dp_2",
                                                     status="lost"), SECRETS["alpha"])
    again = _deliver(portal, stripe_api.dispute_event(session_id, "charge.dispute.closed", dispute_id="dp_2",
                                                      status="lost"), SECRETS["alpha"])

    assert (lost.json["outcome"], again.json["outcome"]) == ("applied", "ignored")
    status, refunded, balance, by_bill, debits = _state(app, a, bills)
    assert (status, refunded, balance, debits) == ("refunded", Decimal("100.00"), Decimal("100.00"),
                                                    [Decimal("100.00")])


def test_a_dispute_closed_before_it_was_opened_ends_once(app, shop, stripe_api):
    a, _b, bills, portal = shop
    session_id = _paid(portal, stripe_api, bills)

    lost = _deliver(portal, stripe_api.dispute_event(session_id, "charge.dispute.closed", dispute_id="dp_3",
                                                     status="lost", amount=3000), SECRETS["alpha"])
    late_open = _deliver(portal, stripe_api.dispute_event(session_id, "charge.dispute.created", dispute_id="dp_3",
                                                          status="needs_response", amount=3000), SECRETS["alpha"])

    assert (lost.json["outcome"], late_open.json["outcome"]) == ("applied", "ignored")
    status, refunded, balance, by_bill, debits = _state(app, a, bills)
    assert (status, refunded, balance, debits) == ("succeeded", Decimal("30.00"), Decimal("30.00"),
                                                    [Decimal("30.00")])
    assert by_bill[bills[1]] == ("due", Decimal("15.80")) and by_bill[bills[0]] == ("partly_paid", Decimal("14.20"))


def test_refund_then_lost_dispute_never_give_back_more_than_was_paid(app, shop, stripe_api):
    a, _b, bills, portal = shop
    session_id = _paid(portal, stripe_api, bills)

    _deliver(portal, stripe_api.refunded_event(session_id, 4000), SECRETS["alpha"])
    _deliver(portal, stripe_api.dispute_event(session_id, "charge.dispute.closed", dispute_id="dp_4",
                                              status="lost"), SECRETS["alpha"])  # disputes the whole 100.00

    status, refunded, balance, _by_bill, debits = _state(app, a, bills)
    assert (status, refunded, balance, debits) == ("refunded", Decimal("100.00"), Decimal("100.00"),
                                                    [Decimal("40.00"), Decimal("60.00")])


def test_a_dispute_of_another_tenants_payment_is_unknown_here(app, shop, stripe_api, browser):
    a, b, bills, portal = shop
    session_id = _paid(portal, stripe_api, bills)  # alpha's payment
    event = stripe_api.dispute_event(session_id, "charge.dispute.closed", dispute_id="dp_5", status="lost")
    refund = stripe_api.refunded_event(session_id, 10000)

    on_bravo = _deliver(browser(b.slug), event, SECRETS["bravo"])
    refund_on_bravo = _deliver(browser(b.slug), refund, SECRETS["bravo"])

    assert on_bravo.json["outcome"] == refund_on_bravo.json["outcome"] == "unknown_payment"
    assert _state(app, a, bills)[:3] == ("succeeded", Decimal("0.00"), Decimal("0.00"))


def test_a_refund_without_our_metadata_is_found_by_its_payment_intent(app, shop, stripe_api):
    a, _b, bills, portal = shop
    session_id = _paid(portal, stripe_api, bills)
    event = stripe_api.refunded_event(session_id, 1580)
    event["data"]["object"]["metadata"] = {}

    response = _deliver(portal, event, SECRETS["alpha"])

    assert response.json["outcome"] == "applied"
    assert _state(app, a, bills)[:3] == ("succeeded", Decimal("15.80"), Decimal("15.80"))
