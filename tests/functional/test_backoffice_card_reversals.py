"""The customer file lists the account's card payments that were refunded or disputed, read-only; another
tenant's or another account's are never shown."""
from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import select

from domain.db import db
from domain.identity.models import StaffUser
from domain.payments import services
from tenants.context import tenant_scope
from tests.factories import PaymentFactory
from tests.integration.test_payments import account_of

NOW = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)


def _reversals(data, amount: str, *, dispute_reason: str | None = None, dispute_status: str = "lost"):
    """A succeeded card payment of `amount` on the account, refunded 10.00 then disputed for 20.00."""
    with tenant_scope(data.tenant_id):
        payment = PaymentFactory(account=account_of(data.account_number), amount=Decimal(amount))
        db.session.flush()
        services.record_refunded_total(payment=payment, provider="sandbox", reference=f"evt_{data.slug}_1",
                                       refunded_total=Decimal("10.00"), now=NOW, today=date(2026, 11, 20))
        services.record_dispute(payment=payment, provider="sandbox", dispute_id=f"dp_{data.slug}_1",
                                amount=Decimal("20.00"), provider_status=dispute_status, reason=dispute_reason,
                                now=NOW, today=date(2026, 11, 20))
        db.session.commit()
        return payment.public_id


@pytest.fixture
def office(app, two_tenants, browser):
    a, b = two_tenants
    with app.app_context():
        paid_a = _reversals(a, "61.00", dispute_reason="fraudulent")
        paid_b = _reversals(b, "97.00", dispute_reason="duplicate", dispute_status="won")
    signed_in = browser(a.slug)
    signed_in.login(a.staff_emails["agent"], area="/backoffice")
    return a, b, signed_in, paid_a, paid_b


def _section(html: str) -> str:
    start = html.index('id="card-reversals"')
    return html[start:html.index("</table>", start)]


def test_the_customer_file_lists_refunds_and_disputes_of_the_account(office):
    a, _b, signed_in, paid_a, paid_b = office

    html = signed_in.get(f"/backoffice/customers/{a.account_number}").get_data(as_text=True)

    section = _section(html)
    rows = section.split("<tr>")[2:]
    assert len(rows) == 2
    dispute, refund = rows  # latest first: same time, the dispute was recorded after the refund
    assert "Dispute" in dispute and "€20.00" in dispute and "Dispute lost: given back" in dispute
    assert "the cardholder says the payment was not theirs" in dispute
    assert "Refund" in refund and "€10.00" in refund and "Refunded to the card" in refund
    assert paid_a[:8] in refund and "€61.00" in refund
    assert paid_b[:8] not in html and "€97.00" not in html


def test_a_customer_without_any_refund_shows_no_section(app, two_tenants, browser):
    a, _b = two_tenants
    signed_in = browser(a.slug)
    signed_in.login(a.staff_emails["agent"], area="/backoffice")

    response = signed_in.get(f"/backoffice/customers/{a.account_number}")

    assert response.status_code == 200
    assert 'id="card-reversals"' not in response.get_data(as_text=True)


def test_the_section_is_in_the_staff_members_language(app, office):
    a, _b, signed_in, _paid_a, _paid_b = office
    with app.app_context(), tenant_scope(a.tenant_id):
        db.session.scalar(select(StaffUser).where(StaffUser.email == a.staff_emails["agent"])).locale = "fr"
        db.session.commit()

    html = signed_in.get(f"/backoffice/customers/{a.account_number}").get_data(as_text=True)

    section = _section(html)
    assert "Paiements par carte remboursés ou contestés" in html
    assert "Litige perdu : somme restituée" in section and "Remboursé sur la carte" in section
    assert ">Remboursement</td>" in section and ">Litige</td>" in section  # the kind, a noun
    assert "Rembourser" not in section  # the verb of the portal's button
