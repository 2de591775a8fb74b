"""The customer's journey through complaints and requests, with the error paths, on the test client."""
from __future__ import annotations

import io
from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from domain.contracts.models import Contract
from domain.db import db, utcnow
from domain.readings.models import MeterReading
from domain.requests import services
from domain.requests.models import RequestAttachment, RequestMessage, ServiceRequest
from domain.tasks.models import Task
from tenants.context import tenant_scope

PDF = b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\n%%EOF\n"
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 200


@pytest.fixture
def alpha(two_tenants):
    return two_tenants[0]


@pytest.fixture
def portal(browser, alpha):
    signed_in = browser(alpha.slug)
    signed_in.login(alpha.customer_email)
    return signed_in


def _query(app, data, fn):
    with app.app_context(), tenant_scope(data.tenant_id):
        return fn()


def _count(app, data, model) -> int:
    return _query(app, data, lambda: db.session.scalar(select(func.count(model.id))))


def _newest(app, data) -> ServiceRequest:
    return _query(app, data, lambda: db.session.scalar(
        select(ServiceRequest).order_by(ServiceRequest.id.desc()).limit(1)))


def _complaint(alpha, **extra):
    return {"account": alpha.account_number, "point": "", "subject": "Bill too high",
            "description": "My October bill is twice the usual.", **extra}


def _today() -> date:
    from zoneinfo import ZoneInfo

    return utcnow().astimezone(ZoneInfo("Europe/Paris")).date()


def test_the_requests_page_lists_mine_and_offers_every_kind(portal, alpha):
    listing = portal.get("/requests").get_data(as_text=True)
    choose = portal.get("/requests/new").get_data(as_text=True)

    assert alpha.request_reference in listing and "Bill too high" in listing
    assert 'href="/requests"' in listing  # the navigation entry appears
    assert "We answer within 10 working days (Monday to Friday)." in choose
    for label in ("Complaint", "Moving in", "Moving out", "Change of offer", "Meter problem", "Other request"):
        assert label in choose


def test_a_complaint_with_attachments_is_registered_with_a_task_and_an_answer_date(app, portal, alpha):
    response = portal.submit("/requests/new?kind=complaint", _complaint(
        alpha, point=alpha.delivery_point_identifier,
        attachments=[(io.BytesIO(PDF), "bill.pdf"), (io.BytesIO(JPEG), "photo.jpeg"),
                     (io.BytesIO(JPEG), "łódź 写真.jpg")]))

    created = _newest(app, alpha)
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/requests/{created.reference}")
    assert created.reference.startswith(f"R{created.opened_at.year}-")
    page = portal.get(f"/requests/{created.reference}").get_data(as_text=True)
    assert "My October bill is twice the usual." in page and "Answer expected by" in page
    assert "bill.pdf" in page and "photo.jpeg" in page
    task = _query(app, alpha, lambda: db.session.scalar(select(Task).where(
        Task.subject_type == "service_request", Task.subject_id == created.id)))
    assert task is not None and task.status == "open"
    public_id = _query(app, alpha, lambda: db.session.scalar(select(RequestAttachment.public_id).where(
        RequestAttachment.request_id == created.id, RequestAttachment.filename == "bill.pdf")))
    download = portal.get(f"/requests/{created.reference}/files/{public_id}")
    assert download.data == PDF and download.headers["Content-Type"] == "application/pdf"
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    unicode_id = _query(app, alpha, lambda: db.session.scalar(select(RequestAttachment.public_id).where(
        RequestAttachment.request_id == created.id, RequestAttachment.content_type == "image/jpeg",
        RequestAttachment.filename != "photo.jpeg")))
    unicode_download = portal.get(f"/requests/{created.reference}/files/{unicode_id}")
    assert unicode_download.status_code == 200
    assert "filename*=UTF-8''" in unicode_download.headers["Content-Disposition"]


def test_a_file_that_is_not_a_pdf_jpeg_or_png_is_refused_and_nothing_is_stored(app, portal, alpha):
    before = _count(app, alpha, ServiceRequest)

    response = portal.submit("/requests/new?kind=complaint", _complaint(
        alpha, attachments=[(io.BytesIO(b"MZ\x90\x00 an executable"), "invoice.pdf")]))

    assert response.status_code == 400
    text = response.get_data(as_text=True)
    assert "invoice.pdf is not a PDF, JPEG or PNG file." in text
    assert 'href="#attachments"' in text and 'id="attachments-error"' in text  # summary linked to the field
    assert _count(app, alpha, ServiceRequest) == before
    assert _count(app, alpha, RequestAttachment) == 1  # only populate_tenant's


def test_a_file_over_5_mb_is_refused(app, portal, alpha):
    before = _count(app, alpha, ServiceRequest)
    big = PDF + b"0" * (5 * 1024 * 1024)

    response = portal.submit("/requests/new?kind=complaint", _complaint(
        alpha, attachments=[(io.BytesIO(big), "big.pdf")]))

    assert response.status_code == 400
    assert "big.pdf is larger than 5 MB." in response.get_data(as_text=True)
    assert _count(app, alpha, ServiceRequest) == before


def test_more_than_three_files_are_refused(app, portal, alpha):
    before = _count(app, alpha, ServiceRequest)

    response = portal.submit("/requests/new?kind=complaint", _complaint(
        alpha, attachments=[(io.BytesIO(PDF), f"f{n}.pdf") for n in range(4)]))

    assert response.status_code == 400 and "Attach at most 3 files." in response.get_data(as_text=True)
    assert _count(app, alpha, ServiceRequest) == before


def test_missing_fields_are_listed_in_the_error_summary(app, portal, alpha):
    response = portal.submit("/requests/new?kind=complaint", {"account": alpha.account_number})

    text = response.get_data(as_text=True)
    assert response.status_code == 400
    assert 'href="#subject"' in text and "Enter a subject." in text and "Describe your request." in text


def test_a_form_without_its_csrf_token_is_refused(app, portal, alpha):
    before = _count(app, alpha, ServiceRequest)

    response = portal.post("/requests/new?kind=complaint", data=_complaint(alpha))

    assert response.status_code == 400 and "Form expired" in response.get_data(as_text=True)
    assert _count(app, alpha, ServiceRequest) == before


def test_another_customers_account_or_point_is_refused(app, portal, two_tenants):
    a, b = two_tenants
    before = _count(app, a, ServiceRequest)

    foreign_account = portal.submit("/requests/new?kind=complaint", _complaint(a, account=b.account_number))
    foreign_point = portal.submit("/requests/new?kind=complaint",
                                  _complaint(a, point=b.delivery_point_identifier))

    assert foreign_account.status_code == 400 and foreign_point.status_code == 400
    assert "Not a valid choice" in foreign_account.get_data(as_text=True)
    assert _count(app, a, ServiceRequest) == before


def test_another_tenants_request_answers_like_a_missing_one(portal, two_tenants):
    _a, b = two_tenants

    foreign = portal.get(f"/requests/{b.request_reference}")
    missing = portal.get("/requests/R0000-999999")

    assert foreign.status_code == missing.status_code == 404


def test_move_out_records_the_final_reading_and_ends_the_contract(app, portal, alpha):
    on = _today() + timedelta(days=14)
    form = portal.get("/requests/new?kind=move_out").get_data(as_text=True)

    response = portal.submit("/requests/new?kind=move_out", {"effective_on": on.isoformat(),
                                                             "reading-TOTAL": "1 300,5",
                                                             "description": "New address: 3 rue Neuve"})

    assert "Previous reading" in form and 'name="reading-TOTAL"' in form
    created = _newest(app, alpha)
    assert response.status_code == 302 and created.kind == "move_out"
    contract, final = _query(app, alpha, lambda: (
        db.session.scalar(select(Contract)), db.session.get(MeterReading, created.final_reading_id)))
    assert contract.end_date == on and created.contract_id == contract.id
    assert (final.value, final.read_on, final.source) == (Decimal("1300.5"), on, "customer")
    page = portal.get(response.headers["Location"]).get_data(as_text=True)
    assert "Your move out on" in page and created.reference in page


def test_move_out_with_a_reading_lower_than_the_previous_stores_nothing(app, portal, alpha):
    readings = _count(app, alpha, MeterReading)
    requests = _count(app, alpha, ServiceRequest)

    response = portal.submit("/requests/new?kind=move_out", {
        "effective_on": (_today() + timedelta(days=3)).isoformat(), "reading-TOTAL": "1200"})

    text = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "The reading cannot be lower than the previous reading (1,234\u00a0kWh" in text
    assert 'href="#reading-TOTAL"' in text and 'aria-invalid="true"' in text
    assert (_count(app, alpha, MeterReading), _count(app, alpha, ServiceRequest)) == (readings, requests)
    assert _query(app, alpha, lambda: db.session.scalar(select(Contract.end_date))) is None


@pytest.mark.parametrize(("days", "message"), [
    (90, "at most 60 days from today"),
    (-45, "at most 30 days in the past"),
])
def test_move_out_dates_out_of_bounds_are_explained(app, portal, alpha, days, message):
    response = portal.submit("/requests/new?kind=move_out", {
        "effective_on": (_today() + timedelta(days=days)).isoformat(), "reading-TOTAL": "1300"})

    assert response.status_code == 400 and message in response.get_data(as_text=True)
    assert _query(app, alpha, lambda: db.session.scalar(select(Contract.end_date))) is None


def test_move_out_reading_that_is_not_a_number_is_explained(portal):
    response = portal.submit("/requests/new?kind=move_out", {
        "effective_on": (_today() + timedelta(days=3)).isoformat(), "reading-TOTAL": "twelve"})

    assert response.status_code == 400
    assert "Enter the reading as a number" in response.get_data(as_text=True)


def test_move_in_is_recorded_for_staff_with_a_task(app, portal, alpha):
    on = _today() + timedelta(days=20)

    response = portal.submit("/requests/new?kind=move_in", {
        "account": alpha.account_number, "address": "12 avenue Foch, 69006 Lyon", "effective_on": on.isoformat(),
        "meter_reading": "04521"})

    created = _newest(app, alpha)
    assert response.status_code == 302
    assert created.kind == "move_in" and created.effective_on == on
    assert "12 avenue Foch" in created.description and "04521" in created.description
    assert _query(app, alpha, lambda: db.session.scalar(select(func.count(Task.id)).where(
        Task.subject_type == "service_request", Task.subject_id == created.id))) == 1


def _staff_says(app, data, reference, body, *, internal, with_file=False):
    from domain.requests import attachments as files

    with app.app_context(), tenant_scope(data.tenant_id):
        request = services.request_by_reference(reference=reference)
        uploads = [files.Upload(filename="internal.pdf", data=PDF)] if with_file else []
        services.staff_message(request=request, staff_id=1, body=body, internal=internal, uploads=uploads,
                               now=utcnow())
        db.session.commit()


def test_internal_notes_and_their_files_never_reach_the_portal(app, portal, alpha):
    _staff_says(app, alpha, alpha.request_reference, "INTERNAL: customer is difficult", internal=True,
                with_file=True)
    _staff_says(app, alpha, alpha.request_reference, "We have checked your meter.", internal=False)
    internal_file = _query(app, alpha, lambda: db.session.scalar(select(RequestAttachment.public_id).where(
        RequestAttachment.filename == "internal.pdf")))

    page = portal.get(f"/requests/{alpha.request_reference}").get_data(as_text=True)

    assert "We have checked your meter." in page
    assert "INTERNAL" not in page and "internal.pdf" not in page
    assert portal.get(f"/requests/{alpha.request_reference}/files/{internal_file}").status_code == 404


def test_a_staff_reply_is_flagged_until_the_customer_opens_the_request(app, portal, alpha):
    _staff_says(app, alpha, alpha.request_reference, "We have checked your meter.", internal=False)
    user_id = _query(app, alpha, lambda: db.session.scalar(
        select(ServiceRequest.opened_by_user_id).limit(1)))

    def unread():
        from domain.identity.models import CustomerUser
        uid = db.session.scalar(select(CustomerUser.id).where(CustomerUser.email == alpha.customer_email))
        return [r.reference for r in services.unread_replies(uid)]

    before = _query(app, alpha, unread)
    listing = portal.get("/requests").get_data(as_text=True)
    portal.get(f"/requests/{alpha.request_reference}")
    after = _query(app, alpha, unread)

    assert user_id is None  # populate_tenant's request was opened by staff; the customer still sees replies
    assert before == [alpha.request_reference] and "New reply" in listing
    assert after == []


def test_the_customer_replies_with_an_attachment(app, portal, alpha):
    path = f"/requests/{alpha.request_reference}"

    response = portal.submit(path, {"body": "Here is the photo.", "attachments": [(io.BytesIO(JPEG), "m.jpg")]},
                             action=f"{path}/reply")

    assert response.status_code == 302
    page = portal.get(path).get_data(as_text=True)
    assert "Here is the photo." in page and "m.jpg" in page


def test_an_empty_reply_is_refused(app, portal, alpha):
    path = f"/requests/{alpha.request_reference}"
    before = _count(app, alpha, RequestMessage)

    response = portal.submit(path, {"body": "  "}, action=f"{path}/reply")

    assert response.status_code == 400 and "Write your message." in response.get_data(as_text=True)
    assert _count(app, alpha, RequestMessage) == before


def test_a_closed_request_takes_no_reply(app, portal, alpha):
    path = f"/requests/{alpha.request_reference}"
    token = portal.csrf(path)
    with app.app_context(), tenant_scope(alpha.tenant_id):
        request = services.request_by_reference(reference=alpha.request_reference)
        services.change_status(request=request, status="closed", now=utcnow())
        db.session.commit()
    before = _count(app, alpha, RequestMessage)

    response = portal.post(f"{path}/reply", data={"body": "Hello?", "csrf_token": token})

    assert response.status_code == 400 and "This request is closed" in response.get_data(as_text=True)
    assert _count(app, alpha, RequestMessage) == before


def test_the_pages_speak_the_customers_language(portal):
    portal.submit("/requests", {"locale": "fr", "next": "/requests"}, action="/language")

    text = portal.get("/requests/new").get_data(as_text=True)

    assert "Réclamation" in text and "Déménagement" in text


def test_the_home_page_flags_an_unread_reply_until_it_is_read(app, portal, alpha):
    _staff_says(app, alpha, alpha.request_reference, "We have checked your meter.", internal=False)

    before = portal.get("/").get_data(as_text=True)
    portal.get(f"/requests/{alpha.request_reference}")
    after = portal.get("/").get_data(as_text=True)

    assert "New reply to your request" in before and f'href="/requests/{alpha.request_reference}"' in before
    assert "New reply to your request" not in after


def test_a_bad_date_and_a_missing_reading_are_reported_together(portal):
    response = portal.submit("/requests/new?kind=move_out", {
        "effective_on": (_today() + timedelta(days=200)).isoformat(), "reading-TOTAL": ""})

    text = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "at most 60 days from today" in text and "Enter the final reading." in text
    assert 'href="#effective_on"' in text and 'href="#reading-TOTAL"' in text


# --- Paging ------------------------------------------------------------------------------------------------------

def _many_requests(app, alpha, count: int) -> list[str]:
    """`count` more requests on alpha's account, opened a minute apart; every reference of alpha newest first."""
    from tests.factories import NOW, ServiceRequestFactory
    from tests.integration.test_payments import account_of

    with app.app_context(), tenant_scope(alpha.tenant_id):
        account = account_of(alpha.account_number)
        for i in range(count):
            ServiceRequestFactory(account=account, subject=f"Request {i}", opened_at=NOW + timedelta(minutes=i + 1))
        db.session.commit()
        return list(db.session.scalars(select(ServiceRequest.reference).where(
            ServiceRequest.account_id == account.id).order_by(ServiceRequest.opened_at.desc(),
                                                              ServiceRequest.id.desc())))


def _listed(html: str) -> list[str]:
    import re

    return re.findall(r'<a class="request-link" href="/requests/([^"]+)">', html)


def test_requests_are_listed_twenty_a_page_newest_first(app, portal, alpha):
    newest_first = _many_requests(app, alpha, 41)  # 42 with the fixture's

    first = portal.get("/requests").get_data(as_text=True)
    third = portal.get("/requests?page=3").get_data(as_text=True)

    assert _listed(first) == newest_first[:20]
    assert _listed(third) == newest_first[40:]
    assert '<nav class="pager" aria-label="Pages of requests">' in first
    assert 'href="/requests?page=1" aria-current="page"' in first
    assert 'rel="next" href="/requests?page=2"' in first and 'rel="prev"' not in first
    assert 'rel="prev" href="/requests?page=2"' in third and 'rel="next"' not in third


@pytest.mark.parametrize("asked, shown", [("7", 3), ("abc", 1), ("-3", 1)])
def test_a_request_page_out_of_range_shows_the_first_or_last_page(app, portal, alpha, asked, shown):
    newest_first = _many_requests(app, alpha, 41)

    response = portal.get(f"/requests?page={asked}")

    assert response.status_code == 200
    assert _listed(response.get_data(as_text=True)) == newest_first[(shown - 1) * 20:shown * 20]


def test_a_single_page_of_requests_has_no_pager(portal):
    html = portal.get("/requests?page=4").get_data(as_text=True)

    assert len(_listed(html)) == 1 and 'class="pager"' not in html
