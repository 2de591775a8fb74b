"""Money given back on a card payment (refund or lost dispute): the customer gets one e-mail, in their language,
sent after the webhook's transaction commits; a replayed event sends nothing."""
from __future__ import annotations

from decimal import Decimal

from flask import current_app
from sqlalchemy import select

from domain.db import db
from domain.identity.models import CustomerUser
from domain.payments.providers import (
    charge_refunded_event,
    dispute_event,
    encode_event,
    sandbox_secret,
    sign_payload,
)
from tenants.context import tenant_scope
from tests.functional.test_portal_payments import _give_back, _paid_both, _payment, portal  # noqa: F401
from tests.integration.test_stripe_webhooks import shop, stripe_api  # noqa: F401


def _post_event(app, browser_a, tenant_id, event):
    payload = encode_event(event)
    with app.app_context():
        secret = sandbox_secret(app_secret=current_app.config["SECRET_KEY"], tenant_id=tenant_id)
    return browser_a.post("/payments/webhook", data=payload,
                          headers={"Stripe-Signature": sign_payload(payload, secret)})


def _body(mail) -> str:
    return mail.get_body(preferencelist=("plain",)).get_content()


def test_a_partial_refund_mails_the_customer_once_with_the_bill_due_again(app, portal, outbox):  # noqa: F811
    a, _b, browser_a, older, newer = portal
    public_id = _paid_both(app, portal)  # 125.00 for 80.00 (older) and 45.00 (newer)
    payment = _payment(app, a.tenant_id, public_id)
    receipts = len(outbox())
    event = charge_refunded_event(tenant_id=a.tenant_id, payment_public_id=public_id,
                                  payment_ref=payment.provider_payment_ref, amount=12500, amount_refunded=3000,
                                  currency="EUR")

    first = _post_event(app, browser_a, a.tenant_id, event)
    replay = _post_event(app, browser_a, a.tenant_id, event)

    assert first.get_json()["outcome"] == "applied" and replay.get_json()["outcome"] == "duplicate"
    mails = outbox()[receipts:]
    assert len(mails) == 1
    mail = mails[0]
    text = _body(mail)
    assert mail["To"] == a.customer_email
    assert mail["Subject"] == "Money given back on your card payment"
    assert "€30.00 of your card payment has been refunded to your card." in text
    assert public_id in text and "€125.00" in text
    assert f"Bill {newer}: €30.00" in text  # the newer bill loses the allocation first
    assert older not in text


def test_a_lost_dispute_mails_the_customer_in_their_language(app, portal, outbox):  # noqa: F811
    a, _b, browser_a, older, newer = portal
    with app.app_context(), tenant_scope(a.tenant_id):
        db.session.scalar(select(CustomerUser).where(CustomerUser.email == a.customer_email)).locale = "fr"
        db.session.commit()
    public_id = _paid_both(app, portal)
    payment = _payment(app, a.tenant_id, public_id)
    receipts = len(outbox())
    event = dispute_event(event_type="charge.dispute.closed", dispute_id="dp_test_lost_1",
                          payment_ref=payment.provider_payment_ref, amount=12500, currency="EUR", status="lost")

    _post_event(app, browser_a, a.tenant_id, event)
    _post_event(app, browser_a, a.tenant_id, {**event, "id": event["id"] + "_again"})  # the dispute ended already

    mails = outbox()[receipts:]
    assert len(mails) == 1
    text = _body(mails[0])
    assert mails[0]["Subject"] == "Votre paiement par carte a été contesté : somme restituée"
    assert "litige" in text and "125,00" in text
    assert older in text and newer in text  # wholly given back: both bills are due again
    assert _payment(app, a.tenant_id, public_id).status == "refunded"


def test_an_opened_dispute_or_an_older_refund_total_sends_nothing(app, portal, outbox):  # noqa: F811
    a, _b, browser_a, _older, _newer = portal
    public_id = _paid_both(app, portal)
    payment = _payment(app, a.tenant_id, public_id)
    _give_back(browser_a, public_id, "50.00")
    after_refund = len(outbox())
    opened = dispute_event(event_type="charge.dispute.created", dispute_id="dp_test_open_1",
                           payment_ref=payment.provider_payment_ref, amount=1000, currency="EUR",
                           status="needs_response")
    older_total = charge_refunded_event(tenant_id=a.tenant_id, payment_public_id=public_id,
                                        payment_ref=payment.provider_payment_ref, amount=12500,
                                        amount_refunded=2000, currency="EUR")

    _post_event(app, browser_a, a.tenant_id, opened)
    _post_event(app, browser_a, a.tenant_id, older_total)

    assert after_refund >= 2  # the receipt and the refund's notice
    assert len(outbox()) == after_refund
    assert _payment(app, a.tenant_id, public_id).refunded_amount == Decimal("50.00")


def test_a_stripe_refund_before_the_payment_is_told_with_its_receipt_once(app, shop, stripe_api, outbox):  # noqa: F811
    from tests.integration.test_stripe_webhooks import SECRETS, _checkout, _deliver

    _a, _b, bills, portal_a = shop
    session_id = _checkout(portal_a, bills)
    early = stripe_api.refunded_event(session_id, 3000)

    _deliver(portal_a, early, SECRETS["alpha"])
    _deliver(portal_a, stripe_api.event_for(session_id, "checkout.session.completed"), SECRETS["alpha"])
    _deliver(portal_a, early, SECRETS["alpha"])  # replayed: nothing more

    subjects = [m["Subject"] for m in outbox()]
    assert subjects == ["Your payment receipt", "Money given back on your card payment"]
    text = _body(outbox()[1])
    assert "€30.00 of your card payment has been refunded to your card." in text
    assert "These bills are due again:" in text
