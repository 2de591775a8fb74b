"""A bill covered by a direct debit not yet collected: the portal says when it will be debited; paid by card before
the batch goes to the bank, it leaves the batch; once the batch is sent, it cannot be paid by card. Also the
sandbox's checkouts: one left open expires, and a second one for the same bills replaces the first."""
# ruff: noqa: F811  (the `portal` fixture is imported from the sandbox payment tests)
from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from domain.accounting.models import LedgerEntry, Payment
from domain.billing.models import Bill
from domain.db import db, utcnow
from domain.payments import sepa_collections as collections
from domain.payments.collection_models import CollectionItem
from tenants.context import tenant_scope
from tenants.models import Tenant
from tests.functional.test_portal_payments import _balance, _payment, _sandbox, _start, portal  # noqa: F401
from tests.integration.test_sepa_collections import configure

TODAY = date(2026, 11, 28)
COLLECTION = date(2026, 12, 3)


@pytest.fixture
def debited(app, portal):
    """Alpha's two open bills (80.00 overdue, 45.00 due) in a prepared direct-debit batch collected on 3 December
    (populate_tenant gave the account an active mandate)."""
    a, b, browser_a, older, newer = portal
    configure(app, a.slug)
    with app.app_context(), tenant_scope(a.tenant_id):
        db.session.scalar(select(Bill).where(Bill.number == newer)).due_date = COLLECTION
        db.session.flush()
        batch, added = collections.prepare_batch(tenant=db.session.get(Tenant, a.tenant_id),
                                                 collection_date=COLLECTION, today=TODAY, now=utcnow(),
                                                 prepared_by="Billing")
        db.session.commit()
        assert added == 2
        public_id = batch.public_id
    return a, browser_a, older, newer, public_id


def _submit(app, a, public_id) -> None:
    with app.app_context(), tenant_scope(a.tenant_id):
        collections.submit_batch(batch=collections.batch_by_public_id(public_id), now=utcnow(), today=TODAY,
                                 by="Billing")
        db.session.commit()


def _item_status(app, a, number) -> str:
    with app.app_context(), tenant_scope(a.tenant_id):
        return db.session.scalar(select(CollectionItem.status).join(Bill, Bill.id == CollectionItem.bill_id)
                                 .where(Bill.number == number))


def test_a_bill_to_be_debited_says_on_which_date_wherever_it_is_offered_for_card_payment(debited):
    _a, browser_a, older, _newer, _batch = debited

    detail = browser_a.get(f"/bills/{older}").get_data(as_text=True)
    listing = browser_a.get("/bills").get_data(as_text=True)
    pay = browser_a.get(f"/pay?bill={older}").get_data(as_text=True)

    assert re.search(r"will be debited from your bank account on (3 Dec 2026|Dec 3, 2026)", detail)
    assert "by card instead" in detail and "If you pay by card before then, it will not be debited" in detail
    assert "direct debit on" in listing
    assert "to be debited by direct debit on" in pay


def test_paying_by_card_before_submission_takes_the_bill_out_of_the_batch(app, debited):
    a, browser_a, older, newer, public_id = debited

    paid = _start(browser_a, {"mode": "bills", "bill": [older]})
    _sandbox(browser_a, paid, "paid")
    _submit(app, a, public_id)

    assert _payment(app, a.tenant_id, paid).status == "succeeded"
    assert (_item_status(app, a, older), _item_status(app, a, newer)) == ("cancelled", "pending")
    with app.app_context(), tenant_scope(a.tenant_id):
        xml = collections.xml_of(batch=collections.batch_by_public_id(public_id), tenant=db.session.get(
            Tenant, a.tenant_id), created_at=utcnow()).decode()
    assert "45.00" in xml and "80.00" not in xml
    assert _balance(app, a) == Decimal("45.00")


def test_a_bill_in_a_batch_sent_to_the_bank_cannot_be_paid_by_card(app, debited):
    a, browser_a, older, _newer, public_id = debited
    _submit(app, a, public_id)

    detail = browser_a.get(f"/bills/{older}").get_data(as_text=True)
    pay = browser_a.get("/pay").get_data(as_text=True)
    refused = browser_a.submit("/pay", {"mode": "bills", "bill": [older]})
    whole = browser_a.submit("/pay", {"mode": "balance", "account": a.account_number})

    assert "by card" not in detail and "there is nothing for you to do" in detail
    assert f'value="{older}"' not in pay and "it cannot be paid by card" in pay
    assert "Pay the whole balance" not in pay
    assert refused.status_code == 400 and "already being collected by direct debit" in refused.get_data(
        as_text=True)
    assert whole.status_code == 400
    with app.app_context(), tenant_scope(a.tenant_id):
        assert db.session.scalar(select(func.count(Payment.id)).where(Payment.method == "card",
                                                                      Payment.status == "pending")) == 0


# --- Sandbox checkouts: expiry, replacement -------------------------------------------------------------------

def test_a_sandbox_checkout_left_open_expires_and_shows_as_not_completed(app, portal, clock):
    a, _b, browser_a, older, _newer = portal
    public_id = _start(browser_a, {"mode": "bills", "bill": [older]})
    payment = _payment(app, a.tenant_id, public_id)

    clock.move_to(payment.expires_at + timedelta(minutes=6))
    page = browser_a.get(f"/payments/{public_id}").get_data(as_text=True)
    checkout = browser_a.get(f"/payments/{public_id}/sandbox")

    assert _payment(app, a.tenant_id, public_id).status == "cancelled"
    assert "not completed" in page and "We are confirming your payment" not in page
    assert "Not completed" in browser_a.get("/bills").get_data(as_text=True)
    assert checkout.status_code == 302  # nothing can be paid on it any more


def test_a_second_sandbox_checkout_for_the_same_bills_replaces_the_first(app, portal):
    a, _b, browser_a, older, newer = portal
    first = _start(browser_a, {"mode": "bills", "bill": [older, newer]})

    second = _start(browser_a, {"mode": "balance", "account": a.account_number})
    old_checkout = browser_a.get(f"/payments/{first}/sandbox")
    _sandbox(browser_a, second, "paid")
    old_page = browser_a.get(f"/payments/{first}").get_data(as_text=True)

    assert _payment(app, a.tenant_id, first).status == "cancelled"
    assert old_checkout.status_code == 302
    assert "newer payment for the same bills" in old_page
    assert _payment(app, a.tenant_id, second).status == "succeeded"
    assert _balance(app, a) == Decimal("0.00")
    with app.app_context(), tenant_scope(a.tenant_id):
        assert db.session.scalar(select(func.count(LedgerEntry.id)).where(
            LedgerEntry.direction == "credit", LedgerEntry.payment_id.is_not(None))) == 2  # factory's, second
