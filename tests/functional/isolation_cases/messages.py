"""Isolation cases of the customer file's messages and the portal's notification preferences: tenant A's staff
never see tenant B's customer's messages; a customer of A changes only their own preferences."""
from __future__ import annotations

from sqlalchemy import select

from domain.communications.models import Message, NotificationOptOut
from domain.communications.pipeline import Rendered, record_message
from domain.contracts.models import CustomerAccount
from domain.db import db, utcnow
from tenants.context import tenant_scope
from tests.isolation import MISSING, _same_as_missing


def _message_of(app, data, subject: str) -> None:
    with app.app_context(), tenant_scope(data.tenant_id):
        account = db.session.scalar(
            select(CustomerAccount).where(CustomerAccount.account_number == data.account_number))
        record_message(kind="payment_received", to=data.customer_email, now=utcnow(), account_id=account.id,
                       rendered=Rendered(subject=subject, text="x", html=None, sender_name="U",
                                         sender_address="u@example.test"))
        db.session.commit()


def case_backoffice_customer_messages(app, browser, a, b):
    _message_of(app, a, "Subject of A")
    _message_of(app, b, "Subject of B")
    office = browser(a.slug)
    office.login(a.staff_emails["agent"], area="/backoffice")

    own = office.get(f"/backoffice/customers/{a.account_number}/messages").get_data(as_text=True)
    assert "Subject of A" in own and "Subject of B" not in own
    _same_as_missing(office, f"/backoffice/customers/{b.account_number}/messages",
                     f"/backoffice/customers/{MISSING}/messages", b.account_number)


def case_portal_profile_notifications(app, browser, a, b):
    portal = browser(a.slug)
    portal.login(a.customer_email)

    response = portal.submit("/profile/notifications", {"enabled": []})

    assert response.status_code == 302
    with app.app_context(), tenant_scope(b.tenant_id):
        assert db.session.scalars(select(NotificationOptOut)).all() == []
    with app.app_context(), tenant_scope(a.tenant_id):
        assert {o.kind for o in db.session.scalars(select(NotificationOptOut))} == {
            "payment_received", "reading_rejected", "reading_to_check", "reading_accepted", "reading_window_open"}
        assert db.session.scalars(select(Message)).all() == []
