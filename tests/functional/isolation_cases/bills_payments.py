"""Isolation cases of the bills and card-payment routes: tenant B's bills and payments seen from tenant A."""
from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select

from domain.accounting.models import Payment
from domain.db import db
from tenants.context import tenant_scope
from tests.isolation import MISSING, _same_as_missing


def _signed_in(browser, a):
    portal = browser(a.slug)
    portal.login(a.customer_email)
    return portal


def _b_payment(app, b) -> tuple[str, str]:
    """A pending sandbox payment of tenant B's customer: (public id, status)."""
    from tests.factories import PaymentFactory
    from tests.integration.test_payments import account_of

    with app.app_context(), tenant_scope(b.tenant_id):
        payment = PaymentFactory(account=account_of(b.account_number), status="pending", received_at=None,
                                 amount=Decimal("42.00"), provider="sandbox")
        db.session.commit()
        return payment.public_id, payment.status


def _status_of(app, tenant_id, public_id) -> str:
    with app.app_context(), tenant_scope(tenant_id):
        return db.session.scalar(select(Payment.status).where(Payment.public_id == public_id))


def case_portal_bills(app, browser, a, b):
    portal = _signed_in(browser, a)
    page = portal.get("/bills")
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and a.bill_number in text and b.bill_number not in text
    _same_as_missing(portal, f"/bills?account={b.account_number}", f"/bills?account={MISSING}", b.account_number)


def case_portal_bill(app, browser, a, b):
    portal = _signed_in(browser, a)
    _same_as_missing(portal, f"/bills/{b.bill_number}", f"/bills/{MISSING}", b.bill_number)
    assert portal.get(f"/bills/{a.bill_number}").status_code == 200


def case_portal_bill_pdf(app, browser, a, b):
    portal = _signed_in(browser, a)
    _same_as_missing(portal, f"/bills/{b.bill_number}.pdf", f"/bills/{MISSING}.pdf", b.bill_number)
    assert portal.get(f"/bills/{a.bill_number}.pdf").headers["Content-Type"] == "application/pdf"


def case_portal_pay(app, browser, a, b):
    portal = _signed_in(browser, a)
    page = portal.get(f"/pay?bill={b.bill_number}&account={b.account_number}").get_data(as_text=True)
    text = page[page.index("<main"):page.index("</main>")]  # the language switcher echoes the address
    assert b.bill_number not in text and b.account_number not in text


def case_portal_pay_submit(app, browser, a, b):
    from tests.integration.test_payments import add_bill

    with app.app_context(), tenant_scope(b.tenant_id):
        open_b = add_bill(b.account_number, "50.00").number
        db.session.commit()
    portal = _signed_in(browser, a)
    by_bill = portal.submit("/pay", {"mode": "bills", "bill": [open_b]})
    by_account = portal.submit("/pay", {"mode": "balance", "account": b.account_number})
    assert by_bill.status_code == by_account.status_code == 400
    for tenant_id in (a.tenant_id, b.tenant_id):
        with app.app_context(), tenant_scope(tenant_id):
            assert db.session.scalar(select(Payment.id).where(Payment.status == "pending")) is None


def case_portal_payment(app, browser, a, b):
    public_id, _status = _b_payment(app, b)
    _same_as_missing(_signed_in(browser, a), f"/payments/{public_id}", f"/payments/{MISSING}", public_id)


def case_portal_sandbox_checkout(app, browser, a, b):
    public_id, status = _b_payment(app, b)
    portal = _signed_in(browser, a)
    _same_as_missing(portal, f"/payments/{public_id}/sandbox", f"/payments/{MISSING}/sandbox", public_id)
    token = portal.csrf("/pay")
    response = portal.post(f"/payments/{public_id}/sandbox", data={"outcome": "paid", "csrf_token": token})
    assert response.status_code == 404
    assert _status_of(app, b.tenant_id, public_id) == status


def case_portal_payment_webhook(app, browser, a, b):
    """A's webhook, with an event about B's payment signed by A's own (sandbox) secret: B's payment is unknown."""
    from domain.payments.providers import encode_event, sandbox_event, sandbox_secret, sign_payload

    public_id, status = _b_payment(app, b)
    event = sandbox_event(outcome="paid", tenant_id=b.tenant_id, payment_public_id=public_id, session_id="",
                          amount=4200, currency="EUR")
    payload = encode_event(event)
    a_secret = sandbox_secret(app_secret=app.config["SECRET_KEY"], tenant_id=a.tenant_id)
    b_secret = sandbox_secret(app_secret=app.config["SECRET_KEY"], tenant_id=b.tenant_id)
    webhook = browser(a.slug)

    with_a_secret = webhook.post("/payments/webhook", data=payload,
                                 headers={"Stripe-Signature": sign_payload(payload, a_secret)})
    with_b_secret = webhook.post("/payments/webhook", data=payload,
                                 headers={"Stripe-Signature": sign_payload(payload, b_secret)})

    assert with_a_secret.json["outcome"] == "unknown_payment"
    assert with_b_secret.status_code == 400
    assert _status_of(app, b.tenant_id, public_id) == status
