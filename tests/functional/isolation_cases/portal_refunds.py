"""Isolation case of the sandbox's "give money back" button: tenant B's payment seen from tenant A."""
from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select

from domain.accounting.models import Payment
from domain.db import db
from tenants.context import tenant_scope
from tests.isolation import MISSING, same_page


def case_portal_sandbox_refund(app, browser, a, b):
    from tests.factories import PaymentFactory
    from tests.integration.test_payments import account_of

    with app.app_context(), tenant_scope(b.tenant_id):
        payment = PaymentFactory(account=account_of(b.account_number), status="succeeded", amount=Decimal("42.00"),
                                 provider="sandbox")
        db.session.commit()
        public_id = payment.public_id
    portal = browser(a.slug)
    portal.login(a.customer_email)
    token = portal.csrf("/pay")

    foreign = portal.post(f"/payments/{public_id}/sandbox/refund",
                          data={"amount": "42.00", "outcome": "refund", "csrf_token": token})
    missing = portal.post(f"/payments/{MISSING}/sandbox/refund",
                          data={"amount": "42.00", "outcome": "refund", "csrf_token": token})

    assert foreign.status_code == missing.status_code == 404
    assert same_page(foreign, missing, public_id)
    with app.app_context(), tenant_scope(b.tenant_id):
        found = db.session.scalar(select(Payment).where(Payment.public_id == public_id))
        assert (found.status, found.refunded_amount) == ("succeeded", Decimal("0.00"))
