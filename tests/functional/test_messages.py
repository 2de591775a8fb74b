"""Messages in the back office's customer file (what was sent, how it went, an address refused for good), the
customer's choice of optional notifications in the portal, and the "bill available" notice."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from domain.billing.models import Bill
from domain.communications import pipeline, sending
from domain.communications.models import Message, NotificationOptOut
from domain.communications.notifications import bills_available
from domain.communications.outbound import SMTPTransport
from domain.contracts.models import CustomerAccount
from domain.db import db
from domain.jobs import inline_jobs
from tenants.context import tenant_scope
from tenants.models import Tenant
from tests.unit.test_outbound_mail import _Server


@pytest.fixture
def a(two_tenants):
    return two_tenants[0]


@pytest.fixture
def platform_mail(app):
    saved = app.extensions.get("mail_transport")

    def _use(transport):
        app.extensions["mail_transport"] = transport

    yield _use
    if saved is None:
        app.extensions.pop("mail_transport", None)
    else:
        app.extensions["mail_transport"] = saved


def _account(data) -> CustomerAccount:
    return db.session.scalar(select(CustomerAccount).where(CustomerAccount.account_number == data.account_number))


def _queue(data, *, to: str, kind: str = "payment_received", locale: str = "en", subject="Your payment receipt"):
    from app.messages import queue_message

    tenant = db.session.get(Tenant, data.tenant_id)
    return queue_message(kind=kind, tenant=tenant, to=to, locale=locale, subject=subject, template="settings_test",
                         account=_account(data), server=None)


def _office(browser, data):
    office = browser(data.slug)
    office.login(data.staff_emails["agent"], area="/backoffice")
    return office


def test_the_customer_file_lists_the_messages_and_warns_of_an_address_refused_for_good(
        app, a, browser, platform_mail):
    holder_address = f"{a.slug}.customer@example.test"
    with _Server({holder_address: ["550 5.1.1 mailbox unavailable"]}) as server:
        platform_mail(SMTPTransport(f"smtp://127.0.0.1:{server.port}"))
        with app.app_context(), tenant_scope(a.tenant_id):
            _queue(a, to=a.customer_email, subject="Receipt one")
            _queue(a, to=holder_address, subject="Receipt two")
            db.session.commit()
            sending.send_queued()

    page = _office(browser, a).get(f"/backoffice/customers/{a.account_number}").get_data(as_text=True)

    assert 'id="messages-heading"' in page and 'id="failing-addresses"' in page
    assert "E-mails to this customer do not arrive" in page
    assert f"{holder_address} is refused by its mail server since" in page and "5.1.1 mailbox unavailable" in page
    assert "Payment received" in page and "payment_received" not in page  # the kind in words, not its code
    assert "Receipt one" in page and "Receipt two" in page
    snippet = page[page.index("messages-heading"):]
    assert "Not delivered" in snippet, snippet[:3000]
    assert "mail server refused this address." in snippet and "The server said: 5.1.1 mailbox unavailable" in snippet


def test_a_later_delivery_clears_the_warning(app, a, browser, outbox):
    holder_address = f"{a.slug}.customer@example.test"
    with app.app_context(), tenant_scope(a.tenant_id):
        message = _queue(a, to=holder_address)
        sending.mark_permanent_failure(message, reason="550 no such user", now=message.queued_at)
        db.session.commit()
        _queue(a, to=holder_address)
        db.session.commit()
        with inline_jobs():
            pipeline.dispatch_committed()

    page = _office(browser, a).get(f"/backoffice/customers/{a.account_number}").get_data(as_text=True)

    assert 'id="failing-addresses"' not in page and "Sent" in page


def test_all_messages_are_paged_newest_first(app, a, browser):
    with app.app_context(), tenant_scope(a.tenant_id):
        for n in range(23):
            message = _queue(a, to=a.customer_email, subject=f"Receipt number {n:02d}")
            message.queued_at = message.queued_at.replace(microsecond=0) + __import__("datetime").timedelta(
                minutes=n)
        db.session.commit()
    office = _office(browser, a)

    file_page = office.get(f"/backoffice/customers/{a.account_number}").get_data(as_text=True)
    first = office.get(f"/backoffice/customers/{a.account_number}/messages").get_data(as_text=True)
    second = office.get(f"/backoffice/customers/{a.account_number}/messages?page=2").get_data(as_text=True)
    nonsense = office.get(f"/backoffice/customers/{a.account_number}/messages?page=abc")

    assert "Receipt number 22" in file_page and "Receipt number 17" not in file_page  # the latest 5
    assert "See all 23 messages" in file_page
    assert "Receipt number 22" in first and "Receipt number 03" in first and "Receipt number 02" not in first
    assert "Receipt number 02" in second and "Receipt number 00" in second and "Receipt number 03" not in second
    assert nonsense.status_code == 200


def test_staff_without_the_customer_view_permission_do_not_see_messages(app, a, browser):
    from tests.factories import StaffUserFactory

    with app.app_context(), tenant_scope(a.tenant_id):
        StaffUserFactory(email=f"noroles@{a.slug}.test", full_name="No roles")
        db.session.commit()
    office = browser(a.slug)
    office.login(f"noroles@{a.slug}.test", area="/backoffice")

    assert office.get(f"/backoffice/customers/{a.account_number}/messages").status_code == 403


# --- the customer's choice ------------------------------------------------------------------------------------------

def _portal(browser, data):
    portal = browser(data.slug)
    portal.login(data.customer_email)
    return portal


def test_the_profile_offers_only_optional_notifications_and_names_those_always_sent(app, a, browser):
    page = _portal(browser, a).get("/profile").get_data(as_text=True)

    assert 'name="enabled" value="payment_received"' in page and 'name="enabled" value="reading_rejected"' in page
    assert 'value="bill_available"' not in page and 'value="password_reset"' not in page
    assert "These always come, as the law or your safety requires:" in page
    assert "A new bill is available" in page


def test_a_switched_off_notification_is_recorded_as_skipped_and_not_sent(app, a, browser, outbox):
    portal = _portal(browser, a)

    saved = portal.submit("/profile", {"enabled": ["reading_rejected"]}, action="/profile/notifications")
    with app.app_context(), tenant_scope(a.tenant_id):
        skipped = _queue(a, to=a.customer_email, kind="payment_received")
        required = _queue(a, to=a.customer_email, kind="request_reply", subject="A reply")
        db.session.commit()
        with inline_jobs():
            pipeline.dispatch_committed()
        statuses = {m.kind: (m.status, m.failure_code) for m in db.session.scalars(select(Message))}
    page = portal.get("/profile").get_data(as_text=True)

    assert saved.status_code == 302 and (skipped, required)
    assert statuses == {"payment_received": ("skipped", "switched_off"), "request_reply": ("sent", None)}
    assert [m["Subject"] for m in outbox()] == ["A reply"]
    assert 'value="payment_received" id="notify-payment_received">' in page  # shown unticked
    assert 'value="reading_rejected" id="notify-reading_rejected" checked>' in page


def test_a_required_notification_cannot_be_switched_off_and_an_unknown_one_changes_nothing(app, a, browser):
    portal = _portal(browser, a)

    required = portal.submit("/profile", {"enabled": []}, action="/profile/notifications")
    with app.app_context(), tenant_scope(a.tenant_id):
        after_required = {o.kind for o in db.session.scalars(select(NotificationOptOut))}
    unknown = portal.submit("/profile", {"enabled": ["payment_received", "tell_me_everything"]},
                            action="/profile/notifications")
    with app.app_context(), tenant_scope(a.tenant_id):
        after_unknown = {o.kind for o in db.session.scalars(select(NotificationOptOut))}

    optional = {"payment_received", "reading_rejected", "reading_to_check", "reading_accepted", "reading_window_open"}
    assert required.status_code == 302 and after_required == optional
    assert unknown.status_code == 400 and after_unknown == after_required


# --- bill available -------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("paperless", [True, False])
def test_a_bill_available_notice_in_the_customers_language_attaches_the_pdf_for_paperless_customers(
        app, a, outbox, paperless):
    with app.app_context(), tenant_scope(a.tenant_id):
        account = _account(a)
        account.locale, account.paperless = "fr", paperless
        bill = db.session.scalar(select(Bill).where(Bill.number == a.bill_number))
        db.session.commit()
        bill_id = bill.id
        with inline_jobs():
            first = bills_available(bill_ids=[bill_id])
            again = bills_available(bill_ids=[bill_id])
            db.session.commit()
            pipeline.dispatch_committed()

    (mail,) = outbox()
    text = mail.get_body(("plain",)).get_content()
    attachments = [part.get_filename() for part in mail.iter_attachments()]
    assert first == {"queued": 1, "bills": 1} and again == {"queued": 0, "bills": 1}
    assert a.bill_number in mail["Subject"]  # its French wording comes with translations/pending (at merge)
    assert f"Numéro client : {a.account_number}" in text  # the French of the template's text
    assert mail["To"] == f"{a.slug}.customer@example.test"
    assert "60,00" in text and f"/bills/{a.bill_number}" in text
    assert attachments == ([f"{a.bill_number}.pdf"] if paperless else [])
