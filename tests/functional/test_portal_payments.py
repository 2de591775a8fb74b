"""Journey 6, paying by card in test mode (the sandbox, no Stripe keys): end to end through the test client."""
from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from domain.accounting.models import LedgerEntry, Payment, PaymentAllocation
from domain.db import db
from domain.payments.models import PaymentEvent
from tenants.context import tenant_scope
from tests.integration.test_payments import add_bill, balance_of, book_factory_payment

TODAY = date.today()
_SANDBOX = re.compile(r"/payments/([0-9a-f-]{36})/sandbox$")


@pytest.fixture
def portal(app, two_tenants, browser):
    """Alpha's customer, signed in, with two open bills (80.00 overdue, 45.00 due)."""
    a, b = two_tenants
    with app.app_context():
        book_factory_payment(a)
    with app.app_context(), tenant_scope(a.tenant_id):
        older = add_bill(a.account_number, "80.00", due=TODAY - timedelta(days=5), start=date(2026, 8, 1)).number
        newer = add_bill(a.account_number, "45.00", due=TODAY + timedelta(days=10)).number
        db.session.commit()
    signed_in = browser(a.slug)
    signed_in.login(a.customer_email)
    return a, b, signed_in, older, newer


def _start(browser_a, data) -> str:
    response = browser_a.submit("/pay", data)
    assert response.status_code == 303, response.get_data(as_text=True)[:400]
    match = _SANDBOX.search(response.headers["Location"])
    assert match, response.headers["Location"]
    return match.group(1)


def _sandbox(browser_a, public_id: str, outcome: str):
    return browser_a.submit(f"/payments/{public_id}/sandbox", {"outcome": outcome})


def _payment(app, tenant_id, public_id) -> Payment:
    with app.app_context(), tenant_scope(tenant_id):
        found = db.session.scalar(select(Payment).where(Payment.public_id == public_id))
        db.session.expunge_all()
        return found


def _count(app, tenant_id, column, *where) -> int:
    with app.app_context(), tenant_scope(tenant_id):
        return db.session.scalar(select(func.count(column)).where(*where))


def _balance(app, data) -> Decimal:
    with app.app_context(), tenant_scope(data.tenant_id):
        return balance_of(data.account_number)


def test_pay_page_lists_open_bills_and_says_test_mode(portal):
    _a, _b, browser_a, older, newer = portal

    html = browser_a.get(f"/pay?bill={older}").get_data(as_text=True)

    assert "Test mode — no real money." in html
    assert f'value="{older}" checked' in html and f'value="{newer}">' in html
    assert "€80.00" in html and "€45.00" in html and "€125.00" in html  # each bill, the whole balance


def test_sandbox_payment_end_to_end(app, portal, outbox):
    a, _b, browser_a, older, newer = portal

    public_id = _start(browser_a, {"mode": "bills", "bill": [older]})
    checkout = browser_a.get(f"/payments/{public_id}/sandbox").get_data(as_text=True)
    paid = _sandbox(browser_a, public_id, "paid")
    status_page = browser_a.get(paid.headers["Location"]).get_data(as_text=True)
    bills_page = browser_a.get("/bills").get_data(as_text=True)

    assert "Test mode — no real money." in checkout and "€80.00" in checkout
    assert paid.status_code == 302 and paid.headers["Location"].endswith(f"/payments/{public_id}?return=success")
    assert "has been received" in status_page
    payment = _payment(app, a.tenant_id, public_id)
    assert (payment.status, payment.provider, payment.amount) == ("succeeded", "sandbox", Decimal("80.00"))
    assert _balance(app, a) == Decimal("45.00")
    row = bills_page[bills_page.index(f">{older}</a>"):]
    assert "Paid" in row[:row.index("</tr>")]
    assert _count(app, a.tenant_id, PaymentEvent.id, PaymentEvent.provider == "sandbox",
                  PaymentEvent.payment_id == payment.id) == 1
    mails = outbox()
    assert len(mails) == 1 and "receipt" in mails[0]["Subject"].lower()


def test_the_return_page_never_fulfils(app, portal):
    a, _b, browser_a, older, _newer = portal
    public_id = _start(browser_a, {"mode": "bills", "bill": [older]})

    page = browser_a.get(f"/payments/{public_id}?return=success").get_data(as_text=True)

    assert "We are confirming your payment" in page
    assert f'href="/payments/{public_id}/sandbox"' in page  # back to the test checkout, if left by mistake
    assert _payment(app, a.tenant_id, public_id).status == "pending"
    assert _count(app, a.tenant_id, LedgerEntry.id, LedgerEntry.direction == "credit",
                  LedgerEntry.payment_id.isnot(None)) == 1  # only the factory's payment


def test_a_declined_card_is_shown_as_failed(app, portal, outbox):
    a, _b, browser_a, older, _newer = portal
    public_id = _start(browser_a, {"mode": "bills", "bill": [older]})

    _sandbox(browser_a, public_id, "declined")

    payment = _payment(app, a.tenant_id, public_id)
    assert (payment.status, payment.failure_reason) == ("failed", "Your card was declined.")
    assert "Your payment failed" in browser_a.get(f"/payments/{public_id}").get_data(as_text=True)
    bills_page = browser_a.get("/bills").get_data(as_text=True)
    assert "payment-status-failed" in bills_page
    assert _balance(app, a) == Decimal("125.00")
    (mail,) = outbox()  # the customer is told once, with no money taken
    assert mail["Subject"].startswith("Your payment of ") and "did not go through" in mail["Subject"]
    assert "no money was taken" in mail.get_body(("plain",)).get_content()
    assert public_id in mail.get_body(("plain",)).get_content()


def test_leaving_the_checkout_cancels_the_payment(app, portal):
    a, _b, browser_a, older, _newer = portal
    public_id = _start(browser_a, {"mode": "bills", "bill": [older]})

    response = _sandbox(browser_a, public_id, "abandoned")

    assert response.headers["Location"].endswith("?return=cancel")
    assert _payment(app, a.tenant_id, public_id).status == "cancelled"
    assert "was cancelled" in browser_a.get(f"/payments/{public_id}").get_data(as_text=True)
    # The checkout of an ended payment is closed: it goes back to the status page.
    assert browser_a.get(f"/payments/{public_id}/sandbox").status_code == 302


def test_a_forged_amount_changes_nothing(app, portal):
    a, _b, browser_a, older, _newer = portal

    public_id = _start(browser_a, {"mode": "bills", "bill": [older], "amount": "0.01", "currency": "JPY"})

    assert _payment(app, a.tenant_id, public_id).amount == Decimal("80.00")
    assert _payment(app, a.tenant_id, public_id).currency == "EUR"


def test_a_foreign_bill_in_the_form_is_refused_and_nothing_is_stored(app, portal):
    a, b, browser_a, older, _newer = portal

    response = browser_a.submit("/pay", {"mode": "bills", "bill": [older, b.bill_number]})

    assert response.status_code == 400
    assert "not yours or has nothing left to pay" in response.get_data(as_text=True)
    assert _count(app, a.tenant_id, Payment.id, Payment.status == "pending") == 0
    assert _count(app, b.tenant_id, Payment.id, Payment.status == "pending") == 0


def test_nothing_chosen_is_refused_with_a_message(app, portal):
    a, _b, browser_a, _older, _newer = portal

    response = browser_a.submit("/pay", {"mode": "bills"})

    assert response.status_code == 400
    assert "Choose at least one bill" in response.get_data(as_text=True)
    assert _count(app, a.tenant_id, Payment.id, Payment.status == "pending") == 0


def test_paying_the_whole_balance_settles_every_bill(app, portal):
    a, _b, browser_a, older, newer = portal

    public_id = _start(browser_a, {"mode": "balance", "account": a.account_number})
    _sandbox(browser_a, public_id, "paid")

    assert _payment(app, a.tenant_id, public_id).amount == Decimal("125.00")
    assert _balance(app, a) == Decimal("0.00")
    html = browser_a.get("/bills").get_data(as_text=True)
    for number in (older, newer):
        row = html[html.index(f">{number}</a>"):]
        assert "Paid" in row[:row.index("</tr>")]
    assert "There is nothing to pay" in browser_a.get("/pay").get_data(as_text=True)


def test_a_partial_payment_leaves_the_bill_partly_paid(app, portal):
    a, _b, browser_a, older, newer = portal
    # A credit of 100 on the account (e.g. a transfer not matched to a bill): the balance is 25.
    from tests.factories import LedgerEntryFactory
    from tests.integration.test_payments import account_of

    with app.app_context(), tenant_scope(a.tenant_id):
        LedgerEntryFactory(account=account_of(a.account_number), direction="credit", amount=Decimal("100.00"))
        db.session.commit()

    public_id = _start(browser_a, {"mode": "balance", "account": a.account_number})
    _sandbox(browser_a, public_id, "paid")

    assert _payment(app, a.tenant_id, public_id).amount == Decimal("25.00")
    html = browser_a.get("/bills").get_data(as_text=True)
    row = html[html.index(f">{older}</a>"):]
    assert "Partly paid" in row[:row.index("</tr>")] or "Overdue" in row[:row.index("</tr>")]
    assert "€55.00" in row[:row.index("</tr>")]  # 80 - 25 left to pay
    assert _balance(app, a) == Decimal("0.00")


def test_replayed_sandbox_button_changes_nothing_twice(app, portal, outbox):
    a, _b, browser_a, older, _newer = portal
    public_id = _start(browser_a, {"mode": "bills", "bill": [older]})
    _sandbox(browser_a, public_id, "paid")

    again = browser_a.post(f"/payments/{public_id}/sandbox",
                           data={"outcome": "paid", "csrf_token": browser_a.csrf("/pay")})

    assert again.status_code == 302  # the payment is no longer pending: back to its status page
    assert _count(app, a.tenant_id, LedgerEntry.id, LedgerEntry.payment_id.isnot(None),
                  LedgerEntry.direction == "credit") == 2  # the factory's and this one
    assert _count(app, a.tenant_id, PaymentAllocation.id,
                  PaymentAllocation.amount == Decimal("80.00")) == 1
    assert len(outbox()) == 1


def test_sandbox_webhook_with_a_bad_signature_is_refused(app, portal):
    a, _b, browser_a, older, _newer = portal
    public_id = _start(browser_a, {"mode": "bills", "bill": [older]})
    from domain.payments.providers import encode_event, sandbox_event, sign_payload

    event = sandbox_event(outcome="paid", tenant_id=a.tenant_id, payment_public_id=public_id, session_id="cs_x",
                          amount=8000, currency="EUR")
    payload = encode_event(event)

    response = browser_a.post("/payments/webhook", data=payload,
                              headers={"Stripe-Signature": sign_payload(payload, "whsec_guessed")})

    assert response.status_code == 400
    assert _payment(app, a.tenant_id, public_id).status == "pending"


@pytest.mark.parametrize("locale,text", [("fr", "Mode test"), ("de", "Testmodus"), ("es", "Modo de prueba")])
def test_sandbox_page_in_the_customers_language(portal, locale, text):
    _a, _b, browser_a, older, _newer = portal
    browser_a.submit("/pay", {"locale": locale}, action="/language")

    public_id = _start(browser_a, {"mode": "bills", "bill": [older]})

    assert text in browser_a.get(f"/payments/{public_id}/sandbox").get_data(as_text=True)


# --- Test mode: giving money back ----------------------------------------------------------------------------

def _paid_both(app, portal):
    a, _b, browser_a, older, newer = portal
    public_id = _start(browser_a, {"mode": "bills", "bill": [older, newer]})
    _sandbox(browser_a, public_id, "paid")
    return public_id


def _give_back(browser_a, public_id, amount, outcome="refund"):
    return browser_a.submit(f"/payments/{public_id}", {"amount": amount, "outcome": outcome},
                            action=f"/payments/{public_id}/sandbox/refund")


def _bill_state(app, a, number):
    from domain.billing import bills as bill_service

    with app.app_context(), tenant_scope(a.tenant_id):
        view = bill_service.issued_bill(number=number)
        found = bill_service.bill_views([view], today=TODAY)[0]
        return found.status, found.outstanding


def test_sandbox_partial_refund_then_lost_dispute(app, portal):
    a, _b, browser_a, older, newer = portal
    public_id = _paid_both(app, portal)  # 125.00 for 80.00 (older) and 45.00 (newer)
    page = browser_a.get(f"/payments/{public_id}").get_data(as_text=True)

    refunded = _give_back(browser_a, public_id, "50.00")
    after_refund = browser_a.get(f"/payments/{public_id}").get_data(as_text=True)
    newer_after_refund = _bill_state(app, a, newer)
    older_after_refund = _bill_state(app, a, older)
    lost = _give_back(browser_a, public_id, "75.00", outcome="dispute_lost")
    after_dispute = browser_a.get(f"/payments/{public_id}").get_data(as_text=True)

    assert "Simulate money given back" in page and 'name="amount"' in page
    assert refunded.status_code == 302 and lost.status_code == 302
    assert "Partly refunded" in after_refund and "€50.00" in after_refund
    assert newer_after_refund == ("due", Decimal("45.00"))  # the newer bill first
    assert older_after_refund == ("overdue", Decimal("5.00"))
    assert _payment(app, a.tenant_id, public_id).status == "refunded"
    assert "Refunded" in after_dispute and "Simulate money given back" not in after_dispute
    assert _balance(app, a) == Decimal("125.00")
    assert _count(app, a.tenant_id, PaymentEvent.id, PaymentEvent.event_type == "charge.refunded") == 1
    assert _count(app, a.tenant_id, PaymentEvent.id, PaymentEvent.event_type == "charge.dispute.closed") == 1


@pytest.mark.parametrize("amount, message", [
    ("", "Enter the amount to give back."), ("abc", "Enter an amount such as 12.50."),
    ("0", "Enter an amount of at least 0.01."), ("-5", "Enter an amount of at least 0.01."),
    ("125.01", "Give back at most €125.00."), ("1e9", "Give back at most €125.00."),
    ("NaN", "Enter an amount such as 12.50."), ("Infinity", "Enter an amount such as 12.50."),
])
def test_sandbox_refund_with_a_bad_amount_says_why_and_changes_nothing(app, portal, amount, message):
    a, _b, browser_a, _older, _newer = portal
    public_id = _paid_both(app, portal)

    response = _give_back(browser_a, public_id, amount)

    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "There is a problem" in html and message in html
    assert html.count('class="error-message"') == 1  # one clear reason, not two
    assert 'aria-invalid="true"' in html
    payment = _payment(app, a.tenant_id, public_id)
    assert (payment.status, payment.refunded_amount) == ("succeeded", Decimal("0.00"))


def test_sandbox_refund_of_a_payment_not_received_changes_nothing(app, portal):
    a, _b, browser_a, older, _newer = portal
    public_id = _start(browser_a, {"mode": "bills", "bill": [older]})

    response = _give_back(browser_a, public_id, "10.00")

    assert response.status_code == 302
    payment = _payment(app, a.tenant_id, public_id)
    assert (payment.status, payment.refunded_amount) == ("pending", Decimal("0.00"))
    assert _count(app, a.tenant_id, PaymentEvent.id, PaymentEvent.event_type == "charge.refunded") == 0


def test_the_bills_page_shows_a_refunded_payment(app, portal):
    _a, _b, browser_a, _older, _newer = portal
    public_id = _paid_both(app, portal)
    _give_back(browser_a, public_id, "125.00")

    html = browser_a.get("/bills").get_data(as_text=True)

    row = html[html.index(f"/payments/{public_id}"):]
    row = row[:row.index("</tr>")]
    assert "payment-status-refunded" in row and "Refunded" in row
