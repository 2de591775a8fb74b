"""Staff handle complaints and requests: list and filters, conversation, reply by e-mail, internal notes, status."""
from __future__ import annotations

import io
import re
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from domain.db import db, utcnow
from domain.identity.models import CustomerUser
from domain.requests.models import RequestAttachment, RequestMessage, ServiceRequest
from domain.tasks.models import Task
from tenants.context import tenant_scope
from tests.factories import RequestMessageFactory, ServiceRequestFactory

PDF = b"%PDF-1.4\n%%EOF\n"


@pytest.fixture
def alpha(two_tenants):
    return two_tenants[0]


@pytest.fixture
def office(browser, alpha):
    signed_in = browser(alpha.slug)
    signed_in.login(alpha.staff_emails["agent"], area="/backoffice")
    return signed_in


def _query(app, data, fn):
    with app.app_context(), tenant_scope(data.tenant_id):
        return fn()


def _request(app, data) -> ServiceRequest:
    return _query(app, data, lambda: db.session.scalar(
        select(ServiceRequest).where(ServiceRequest.reference == data.request_reference)))


def _path(data) -> str:
    return f"/backoffice/requests/{data.request_reference}"


def test_the_list_filters_by_status_kind_and_overdue(app, office, alpha):
    with app.app_context(), tenant_scope(alpha.tenant_id):
        account_id = db.session.scalar(select(ServiceRequest.account_id))
        ServiceRequestFactory(account_id=account_id, reference="R2026-000900", kind="move_out", status="in_progress",
                              subject="Leaving soon", opened_at=utcnow(), due_at=utcnow() + timedelta(days=9))
        ServiceRequestFactory(account_id=account_id, reference="R2026-000901", kind="complaint", status="resolved",
                              subject="Old and done", opened_at=utcnow() - timedelta(days=60),
                              due_at=utcnow() - timedelta(days=50))
        db.session.commit()

    everything = office.get("/backoffice/requests").get_data(as_text=True)
    moves = office.get("/backoffice/requests?kind=move_out").get_data(as_text=True)
    resolved = office.get("/backoffice/requests?status=resolved").get_data(as_text=True)
    overdue = office.get("/backoffice/requests?overdue=1").get_data(as_text=True)

    assert all(ref in everything for ref in (alpha.request_reference, "R2026-000900", "R2026-000901"))
    assert "R2026-000900" in moves and alpha.request_reference not in moves
    assert "R2026-000901" in resolved and "R2026-000900" not in resolved
    # populate_tenant's request was due on 11 November 2026 and is open: overdue; the resolved one is not.
    assert alpha.request_reference in overdue and "R2026-000901" not in overdue and "R2026-000900" not in overdue
    assert 'href="/backoffice/requests"' in everything  # navigation link


def _staff_locale(app, data, email: str, locale: str) -> None:
    from domain.identity.models import StaffUser

    with app.app_context(), tenant_scope(data.tenant_id):
        db.session.scalar(select(StaffUser).where(StaffUser.email == email)).locale = locale
        db.session.commit()


def test_the_list_calls_a_requests_reference_by_its_name_and_stacks_on_a_phone(app, office, alpha):
    _staff_locale(app, alpha, alpha.staff_emails["agent"], "de")

    html = office.get("/backoffice/requests").get_data(as_text=True)

    assert "Vorgangsnummer" in html and "Verwendungszweck" not in html  # a transfer's reference, not a request's
    assert 'class="stack-on-mobile"' in html
    assert 'data-label="Vorgangsnummer"' in html and 'data-label="Antwort fällig"' in html


def test_staff_without_the_permission_are_refused(browser, alpha):
    billing = browser(alpha.slug)
    billing.login(alpha.staff_emails["billing"], area="/backoffice")

    assert billing.get("/backoffice/requests").status_code == 403
    assert billing.get(_path(alpha)).status_code == 403
    assert 'href="/backoffice/requests"' not in billing.get("/backoffice/").get_data(as_text=True)


def test_a_reply_is_mailed_to_the_customer_in_their_language_with_a_link(app, office, alpha, outbox):
    with app.app_context(), tenant_scope(alpha.tenant_id):
        db.session.scalar(select(CustomerUser).where(CustomerUser.email == alpha.customer_email)).locale = "fr"
        db.session.commit()

    response = office.submit(_path(alpha), {"reply-body": "We have corrected your bill.",
                                            "reply-status": "resolved",
                                            "reply-attachments": [(io.BytesIO(PDF), "credit.pdf")]},
                             action=f"{_path(alpha)}/reply")

    assert response.status_code == 302
    mails = outbox()
    assert len(mails) == 1
    mail = mails[0]
    text = mail.get_body(("plain",)).get_content()
    assert mail["To"] == alpha.customer_email and "Alpha Utility" in mail["From"]
    assert alpha.request_reference in mail["Subject"] and "a répondu à votre demande" in mail["Subject"]
    assert "We have corrected your bill." in text and "Bonjour" in text
    assert f"http://{alpha.slug}.localhost/requests/{alpha.request_reference}" in text
    request = _request(app, alpha)
    assert request.status == "resolved" and request.closed_at is not None
    page = office.get(_path(alpha)).get_data(as_text=True)
    assert "We have corrected your bill." in page and "credit.pdf" in page


def test_a_reply_with_keep_the_status_keeps_it_exactly(app, office, alpha, outbox):
    page = office.get(_path(alpha)).get_data(as_text=True)
    assert '<option value="">keep the status</option>' in page

    response = office.submit(_path(alpha), {"reply-body": "We are looking into it.", "reply-status": ""},
                             action=f"{_path(alpha)}/reply")

    assert response.status_code == 302
    request = _request(app, alpha)
    assert (request.status, request.closed_at) == ("open", None)
    assert len(outbox()) == 1
    assert "We are looking into it." in office.get(_path(alpha)).get_data(as_text=True)


@pytest.mark.parametrize("chosen", ["in_progress", "waiting_customer"])
def test_a_reply_sets_the_status_staff_chose(app, office, alpha, outbox, chosen):
    office.submit(_path(alpha), {"reply-body": "We are looking into it.", "reply-status": chosen},
                  action=f"{_path(alpha)}/reply")

    assert _request(app, alpha).status == chosen


def test_an_internal_note_is_kept_for_staff_and_mails_nobody(app, office, browser, alpha, outbox):
    response = office.submit(_path(alpha), {"note-note": "Customer called twice, check the meter."},
                             action=f"{_path(alpha)}/note")

    assert response.status_code == 302 and outbox() == []
    staff_page = office.get(_path(alpha)).get_data(as_text=True)
    assert "Customer called twice" in staff_page and "Internal note" in staff_page
    portal = browser(alpha.slug)
    portal.login(alpha.customer_email)
    assert "Customer called twice" not in portal.get(f"/requests/{alpha.request_reference}").get_data(as_text=True)


def test_an_empty_reply_or_a_bad_file_is_refused_and_nothing_is_sent(app, office, alpha, outbox):
    def count():
        return _query(app, alpha, lambda: db.session.scalar(select(func.count(RequestMessage.id))))
    before = count()

    empty = office.submit(_path(alpha), {"reply-body": " ", "reply-status": ""}, action=f"{_path(alpha)}/reply")
    bad = office.submit(_path(alpha), {"reply-body": "See attached", "reply-status": "",
                                       "reply-attachments": [(io.BytesIO(b"GIF89a"), "x.png")]},
                        action=f"{_path(alpha)}/reply")

    assert empty.status_code == 400 and "Write your message." in empty.get_data(as_text=True)
    assert bad.status_code == 400 and "x.png is not a PDF, JPEG or PNG file." in bad.get_data(as_text=True)
    assert 'href="#reply-attachments"' in bad.get_data(as_text=True)
    assert count() == before and outbox() == []


def test_a_reply_without_the_csrf_token_is_refused(app, office, alpha, outbox):
    response = office.post(f"{_path(alpha)}/reply", data={"reply-body": "Hello", "reply-status": ""})

    assert response.status_code == 400 and outbox() == []
    assert _request(app, alpha).status == "open"


def test_closing_a_request_closes_its_task(app, office, alpha):
    with app.app_context(), tenant_scope(alpha.tenant_id):
        request = db.session.scalar(select(ServiceRequest).where(ServiceRequest.reference == alpha.request_reference))
        group_id = db.session.scalar(select(Task.work_group_id).limit(1))
        db.session.add(Task(work_group_id=group_id, kind="service_request", title="x", subject_type="service_request",
                            subject_id=request.id, created_at=utcnow()))
        db.session.commit()

    response = office.submit(_path(alpha), {"status-new_status": "closed"}, action=f"{_path(alpha)}/status")
    refused = office.submit(_path(alpha), {"status-new_status": "lost"}, action=f"{_path(alpha)}/status")

    assert response.status_code == 302 and refused.status_code == 400
    assert _request(app, alpha).status == "closed"
    assert _query(app, alpha, lambda: db.session.scalar(select(Task.status).where(
        Task.subject_type == "service_request"))) == "done"


def test_staff_open_the_customers_attachments(app, office, alpha):
    from tests.functional.isolation_cases.requests import stored_attachment

    public_id = stored_attachment(app, alpha.tenant_id, alpha.request_reference)

    page = office.get(_path(alpha)).get_data(as_text=True)
    download = office.get(f"{_path(alpha)}/files/{public_id}")

    assert "scan.pdf" in page
    assert download.data.startswith(b"%PDF") and download.headers["Content-Disposition"].startswith("attachment")


def test_the_detail_shows_the_whole_conversation_with_internal_notes_marked(app, office, alpha):
    with app.app_context(), tenant_scope(alpha.tenant_id):
        request = db.session.scalar(select(ServiceRequest).where(ServiceRequest.reference == alpha.request_reference))
        RequestMessageFactory(request=request, author_kind="staff", body="Escalated to metering", internal=True)
        db.session.commit()

    page = office.get(_path(alpha)).get_data(as_text=True)

    assert "My bill looks too high." in page and "Escalated to metering" in page
    assert "message-internal" in page
    assert _query(app, alpha, lambda: db.session.scalar(select(func.count(RequestAttachment.id)))) == 1


def test_a_reply_to_a_customer_without_online_access_says_no_mail_was_sent(app, office, alpha, outbox):
    from tests.factories import CustomerAccountFactory

    with app.app_context(), tenant_scope(alpha.tenant_id):
        ServiceRequestFactory(account=CustomerAccountFactory(), reference="R2026-000777", subject="By phone")
        db.session.commit()
    path = "/backoffice/requests/R2026-000777"

    response = office.submit(path, {"reply-body": "Noted.", "reply-status": ""}, action=f"{path}/reply",
                             follow_redirects=True)

    assert "no e-mail was sent" in response.get_data(as_text=True)
    assert outbox() == []


def test_a_move_out_shows_staff_its_final_readings(app, office, alpha):
    from datetime import date
    from decimal import Decimal

    from domain.requests import services

    with app.app_context(), tenant_scope(alpha.tenant_id):
        customer = db.session.scalar(select(CustomerUser).where(CustomerUser.email == alpha.customer_email))
        today = utcnow().date()
        created = services.open_request(
            customer=customer, now=utcnow(), today=today, answer_days=10, zone=ZoneInfo("UTC"),
            tenant_id=alpha.tenant_id,
            new=services.NewRequest(kind="move_out", account_number=alpha.account_number, subject="Moving out",
                                    description="", point_identifier=alpha.delivery_point_identifier,
                                    effective_on=today + timedelta(days=7), final_readings={"TOTAL": Decimal("1500")}))
        db.session.commit()
        reference = created.reference
        assert isinstance(created.effective_on, date)

    page = office.get(f"/backoffice/requests/{reference}").get_data(as_text=True)

    assert "Final reading" in page and "Total: 1,500\u00a0kWh" in page and "contract ends on" in page


def test_times_on_a_request_carry_the_year_in_full_like_its_dates(app, office, alpha):
    from datetime import datetime

    _staff_locale(app, alpha, alpha.staff_emails["agent"], "de")
    with app.app_context(), tenant_scope(alpha.tenant_id):
        request = db.session.scalar(select(ServiceRequest).where(ServiceRequest.reference == alpha.request_reference))
        request.opened_at = datetime(2026, 11, 23, 9, 5, tzinfo=ZoneInfo("UTC"))
        db.session.commit()

    page = office.get(_path(alpha)).get_data(as_text=True)

    opened = page[page.index("<dt>Eröffnet</dt>"):]
    opened = opened[:opened.index("</dd>")]
    assert "23.11.2026, " in opened and "23.11.26" not in opened
    assert re.search(r"\d{2}\.\d{2}\.\d{4}, \d{2}:\d{2}</time>", page)  # each message's time, to the minute


def test_a_staff_message_shows_who_wrote_it(app, office, alpha, outbox):
    office.submit(_path(alpha), {"reply-body": "We are looking into it.", "reply-status": ""},
                  action=f"{_path(alpha)}/reply")
    _staff_locale(app, alpha, alpha.staff_emails["agent"], "fr")
    with app.app_context(), tenant_scope(alpha.tenant_id):
        request = db.session.scalar(select(ServiceRequest).where(ServiceRequest.reference == alpha.request_reference))
        RequestMessageFactory(request=request, author_kind="staff", author_id=None, body="Imported answer")
        db.session.commit()

    page = office.get(_path(alpha)).get_data(as_text=True)

    metas = re.findall(r'<p class="message-meta">\s*<strong>([^<]+)</strong>', page)
    assert "Agent" in metas  # the agent who replied, by name (populate_tenant's staff are named by role)
    assert "Service client" in metas  # a staff message with no known author
    assert "Agents" not in metas


def test_a_move_outs_final_reading_reads_in_the_staff_members_language_and_unit(app, office, alpha):
    from decimal import Decimal

    from domain.requests import services
    from domain.sites.models import Meter

    _staff_locale(app, alpha, alpha.staff_emails["agent"], "de")
    with app.app_context(), tenant_scope(alpha.tenant_id):
        db.session.scalar(select(Meter)).unit = "m3"  # a gas or water meter
        customer = db.session.scalar(select(CustomerUser).where(CustomerUser.email == alpha.customer_email))
        today = utcnow().date()
        created = services.open_request(
            customer=customer, now=utcnow(), today=today, answer_days=10, zone=ZoneInfo("UTC"),
            tenant_id=alpha.tenant_id,
            new=services.NewRequest(kind="move_out", account_number=alpha.account_number, subject="Auszug",
                                    description="", point_identifier=alpha.delivery_point_identifier,
                                    effective_on=today + timedelta(days=7), final_readings={"TOTAL": Decimal("1500")}))
        db.session.commit()
        reference = created.reference

    page = office.get(f"/backoffice/requests/{reference}").get_data(as_text=True)

    visible_text = re.sub(r"<[^>]*>", " ", page.split("<main", 1)[1])  # not a random token that holds "m3"
    assert "Gesamt: 1.500\u00a0m³" in page and not re.search(r"\bm3\b", visible_text)
