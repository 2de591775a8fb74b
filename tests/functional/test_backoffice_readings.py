"""Staff check readings from the back office: the queue, accept, reject with a reason (mailed), correct, photo."""
from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal

import pytest
from itsdangerous import URLSafeSerializer
from sqlalchemy import func, select

from domain.audit.models import AuditEvent
from domain.db import db
from domain.identity.models import CustomerUser
from domain.readings.models import MeterReading
from domain.readings.photos import photo_token
from domain.readings.review import PAGE_SIZE
from domain.tasks.models import Task
from tenants.context import tenant_scope
from tests.factories import NOW, MeterReadingFactory
from tests.integration.test_reading_services import ONE_A_DAY, PNG, prepare_meter, submit

QUEUE = "/backoffice/readings"


@pytest.fixture
def alpha(two_tenants):
    return two_tenants[0]


def _make_pending(app, data, *, photo=None) -> tuple[int, str]:
    """(reading id, serial): the customer's reading of 21 November, 61 m3 where 20 were expected."""
    with app.app_context(), tenant_scope(data.tenant_id):
        serial = prepare_meter(data, readings=ONE_A_DAY)
        reading = submit(data, serial, "526", photo=photo).outcomes[0].reading
        db.session.commit()
        assert reading.status == "pending"
        return reading.id, serial


@pytest.fixture
def pending(app, alpha):
    return _make_pending(app, alpha)


@pytest.fixture
def office(browser, alpha):
    signed_in = browser(alpha.slug)
    signed_in.login(alpha.staff_emails["agent"], area="/backoffice")
    return signed_in


def _ref(app, tenant_id: int, reading_id: int) -> str:
    return URLSafeSerializer(app.config["SECRET_KEY"], salt=f"backoffice-reading:{tenant_id}").dumps(reading_id)


def _reading(app, data, reading_id: int) -> MeterReading:
    with app.app_context(), tenant_scope(data.tenant_id):
        reading = db.session.get(MeterReading, reading_id)
        db.session.expunge(reading)
        return reading


def _task_status(app, data, reading_id: int) -> str:
    with app.app_context(), tenant_scope(data.tenant_id):
        return db.session.scalar(select(Task.status).where(Task.kind == "reading_check",
                                                           Task.subject_id == reading_id))


def _post(office, app, data, reading_id: int, action: str, fields: dict | None = None):
    return office.submit(QUEUE, fields or {}, action=f"{QUEUE}/{_ref(app, data.tenant_id, reading_id)}/{action}")


def test_the_queue_shows_the_reading_with_its_figures_and_is_linked_from_nav_and_home(office, alpha, pending):
    _reading_id, serial = pending

    page = office.get(QUEUE)
    home = office.get("/backoffice/").get_data(as_text=True)

    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert serial in text and alpha.account_number in text and alpha.delivery_point_identifier in text
    assert "526\u00a0m³" in text and "465\u00a0m³" in text  # the new reading and the previous actual one
    assert "61\u00a0m³" in text and "expected about 20\u00a0m³" in text
    assert "accepted between 6.7\u00a0m³ and 60\u00a0m³" in text
    assert "1 reading to check" in text
    assert "sent by the customer, received " in text and "by Customer" not in text  # a phrase, not a label
    assert f'href="{QUEUE}"' in home and ">1<" in home


def test_accepting_makes_the_reading_billable_and_closes_the_task(app, office, alpha, pending):
    reading_id, serial = pending

    response = _post(office, app, alpha, reading_id, "accept")

    assert response.status_code == 302
    assert _reading(app, alpha, reading_id).status == "valid"
    assert _task_status(app, alpha, reading_id) == "done"
    text = office.get(QUEUE).get_data(as_text=True)
    assert f"You accepted the reading of meter {serial} of 21 Nov 2026: bills will use it." in text
    assert "No reading to check." in text


def test_a_second_submit_changes_nothing_and_says_the_reading_is_already_checked(app, office, alpha, pending):
    reading_id, _serial = pending
    _post(office, app, alpha, reading_id, "accept")
    office.get(QUEUE)  # reads the first confirmation
    with app.app_context(), tenant_scope(alpha.tenant_id):
        events = db.session.scalar(select(func.count(AuditEvent.id)))

    again = _post(office, app, alpha, reading_id, "reject", {"reason": "Too late"})

    assert again.status_code == 302
    assert "This reading has already been checked: it is accepted. Nothing was changed." in \
        office.get(QUEUE).get_data(as_text=True)
    reading = _reading(app, alpha, reading_id)
    assert reading.status == "valid" and reading.rejection_reason is None
    with app.app_context(), tenant_scope(alpha.tenant_id):
        assert db.session.scalar(select(func.count(AuditEvent.id))) == events


def test_rejecting_mails_the_customer_in_their_language_and_shows_in_their_history(app, browser, office, alpha,
                                                                                     pending, outbox):
    reading_id, serial = pending
    with app.app_context(), tenant_scope(alpha.tenant_id):
        db.session.scalar(select(CustomerUser).where(CustomerUser.email == alpha.customer_email)).locale = "fr"
        db.session.commit()

    response = _post(office, app, alpha, reading_id, "reject", {"reason": "La photo montre 485, pas 526."})

    assert response.status_code == 302
    reading = _reading(app, alpha, reading_id)
    assert (reading.status, reading.rejection_reason) == ("rejected", "La photo montre 485, pas 526.")
    assert _task_status(app, alpha, reading_id) == "done"
    mails = outbox()
    assert len(mails) == 1 and mails[0]["To"] == alpha.customer_email
    body = mails[0].get_body(("plain",)).get_content()
    assert serial in mails[0]["Subject"] and "relevé" in mails[0]["Subject"]
    assert "Bonjour" in body and "21 nov. 2026" in body and "La photo montre 485, pas 526." in body
    assert f"http://{alpha.slug}.localhost/readings/{serial}/history" in body
    assert "The customer is told by e-mail." in office.get(QUEUE).get_data(as_text=True)
    portal = browser(alpha.slug)
    portal.login(alpha.customer_email)
    history = portal.get(f"/readings/{serial}/history").get_data(as_text=True)
    assert "Refusé" in history and "La photo montre 485, pas 526." in history


def test_a_rejection_without_a_reason_is_explained_and_changes_nothing(app, office, alpha, pending, outbox):
    reading_id, _serial = pending

    response = _post(office, app, alpha, reading_id, "reject", {"reason": "  "})

    text = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "There is a problem" in text and "Write the reason the customer will read." in text
    assert re.search(r'<details class="review-form" open>\s*<summary>Reject…', text)
    assert 'aria-invalid="true"' in text
    assert _reading(app, alpha, reading_id).status == "pending" and outbox() == []


def test_correcting_stores_the_right_index_as_the_meter_readers_and_tells_the_customer(app, office, alpha, pending,
                                                                                       outbox):
    reading_id, serial = pending

    response = _post(office, app, alpha, reading_id, "correct", {"value": "485,5", "reason": ""})

    assert response.status_code == 302
    assert _reading(app, alpha, reading_id).status == "rejected"
    with app.app_context(), tenant_scope(alpha.tenant_id):
        agent = db.session.scalar(select(MeterReading).where(MeterReading.source == "agent",
                                                             MeterReading.read_on == date(2026, 11, 21)))
        assert (agent.value, agent.status) == (Decimal("485.500"), "valid")
    body = outbox()[0].get_body(("plain",)).get_content()
    assert "we corrected it to 485.5\u00a0m³" in body and "526\u00a0m³" in body
    assert f"You corrected the reading of meter {serial} of 21 Nov 2026 to 485.5\u00a0m³" in \
        office.get(QUEUE).get_data(as_text=True)


@pytest.mark.parametrize("value, message", [
    ("abc", "Enter the index as a number"),
    ("400", "This index is lower than the previous actual reading (465\u00a0m³)."),
    ("1234567", "This meter shows at most 6 digits before the decimal point."),
    ("526", "This is the index the customer gave: accept the reading instead."),
])
def test_a_wrong_correction_is_explained_beside_the_field_and_changes_nothing(app, office, alpha, pending, value,
                                                                              message):
    reading_id, _serial = pending

    response = _post(office, app, alpha, reading_id, "correct", {"value": value})

    text = response.get_data(as_text=True)
    assert response.status_code == 422 and message in text
    assert f'value="{value}"' in text  # what staff typed is kept
    assert _reading(app, alpha, reading_id).status == "pending"
    with app.app_context(), tenant_scope(alpha.tenant_id):
        agents = select(func.count(MeterReading.id)).where(MeterReading.source == "agent",
                                                           MeterReading.read_on == date(2026, 11, 21))
        assert db.session.scalar(agents) == 0


def test_another_tenants_reading_is_not_found_and_stays_pending(app, office, two_tenants):
    a, b = two_tenants
    b_reading_id, _serial = _make_pending(app, b)

    signed_for_b = office.submit(QUEUE, {}, action=f"{QUEUE}/{_ref(app, b.tenant_id, b_reading_id)}/accept")
    signed_here = office.submit(QUEUE, {}, action=f"{QUEUE}/{_ref(app, a.tenant_id, b_reading_id)}/accept")
    forged = office.submit(QUEUE, {}, action=f"{QUEUE}/{b_reading_id}/accept")

    assert signed_for_b.status_code == signed_here.status_code == forged.status_code == 404
    assert _reading(app, b, b_reading_id).status == "pending"


def test_staff_without_the_permission_are_refused(app, browser, alpha, pending):
    reading_id, _serial = pending
    collections = browser(alpha.slug)
    collections.login(alpha.staff_emails["collections"], area="/backoffice")

    page = collections.get(QUEUE)
    post = collections.post(f"{QUEUE}/{_ref(app, alpha.tenant_id, reading_id)}/accept",
                            {"csrf_token": collections.csrf("/backoffice/")})

    assert page.status_code == post.status_code == 403
    assert f'href="{QUEUE}"' not in collections.get("/backoffice/").get_data(as_text=True)
    assert _reading(app, alpha, reading_id).status == "pending"


def test_the_photo_is_served_to_staff_only_through_the_back_office(app, office, alpha):
    reading_id, _serial = _make_pending(app, alpha, photo=PNG)
    token = photo_token(_reading(app, alpha, reading_id).photo_path)

    shown = office.get(QUEUE).get_data(as_text=True)
    photo = office.get(f"{QUEUE}/photos/{token}")

    assert f'src="{QUEUE}/photos/{token}"' in shown
    assert photo.status_code == 200 and photo.data == PNG and photo.headers["Content-Type"] == "image/png"
    assert "no-store" in photo.headers["Cache-Control"]
    assert office.get(f"{QUEUE}/photos/{'0' * 32}").status_code == 404


def test_signed_out_the_queue_and_its_photos_lead_to_the_sign_in(app, browser, alpha):
    reading_id, _serial = _make_pending(app, alpha, photo=PNG)
    token = photo_token(_reading(app, alpha, reading_id).photo_path)
    stranger = browser(alpha.slug)

    for path in (QUEUE, f"{QUEUE}/photos/{token}"):
        response = stranger.get(path)
        assert response.status_code == 302 and "/backoffice/login" in response.headers["Location"]


def test_the_queue_is_paged_oldest_first(app, office, alpha):
    with app.app_context(), tenant_scope(alpha.tenant_id):
        prepare_meter(alpha, readings=ONE_A_DAY)
        register_id = db.session.scalar(select(MeterReading.register_id))
        from domain.sites.models import Register
        register = db.session.get(Register, register_id)
        for n in range(PAGE_SIZE + 1):
            MeterReadingFactory(register=register, read_on=date(2026, 11, 2) + timedelta(days=n),
                                value=Decimal(600 + n), status="pending", received_at=NOW + timedelta(hours=n))
        db.session.commit()

    first = office.get(QUEUE).get_data(as_text=True)
    second = office.get(f"{QUEUE}?page=2").get_data(as_text=True)
    beyond = office.get(f"{QUEUE}?page=99")

    assert "21 readings to check" in first and "page 1 of 2" in first
    assert first.count('class="card review-item"') == PAGE_SIZE
    assert "600\u00a0m³" in first and "620\u00a0m³" not in first
    assert second.count('class="card review-item"') == 1 and "620\u00a0m³" in second
    assert f'href="{QUEUE}?page=2"' in first and f'href="{QUEUE}?page=1"' in second
    assert beyond.status_code == 200 and "page 2 of 2" in beyond.get_data(as_text=True)


def test_a_correction_far_from_the_expected_consumption_is_stored_only_once_staff_confirm_it(app, browser, office,
                                                                                              alpha, pending, outbox):
    # 1,000 m3 since the previous actual reading where about 20 were expected (a digit typed too many).
    reading_id, serial = pending

    warned = _post(office, app, alpha, reading_id, "correct", {"value": "1465"})

    text = warned.get_data(as_text=True)
    assert warned.status_code == 422
    warning = re.search(r"This index means ([^<]*) used since ([^<]*), where about ([^<]*) was expected "
                        r"\(accepted between ([^<]*) and ([^<]*)\)\. Check it", text)
    assert warning.group(1, 3, 4, 5) == ("1,000\u00a0m³", "20\u00a0m³", "6.7\u00a0m³", "60\u00a0m³")
    assert "2026" in warning.group(2)  # the previous actual reading's day, 1 November
    assert 'name="confirm_implausible"' in text and 'value="1465"' in text
    assert _reading(app, alpha, reading_id).status == "pending" and outbox() == []
    with app.app_context(), tenant_scope(alpha.tenant_id):
        assert db.session.scalar(select(func.count(MeterReading.id)).where(
            MeterReading.source == "agent", MeterReading.read_on == date(2026, 11, 21))) == 0

    confirmed = _post(office, app, alpha, reading_id, "correct", {"value": "1465", "confirm_implausible": "y"})

    assert confirmed.status_code == 302
    assert _reading(app, alpha, reading_id).status == "rejected"
    with app.app_context(), tenant_scope(alpha.tenant_id):
        agent = db.session.scalar(select(MeterReading).where(MeterReading.source == "agent",
                                                             MeterReading.read_on == date(2026, 11, 21)))
        assert (agent.value, agent.status, agent.implausible_confirmed) == (Decimal("1465.000"), "valid", True)
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "reading_corrected"))
        assert event.changes["implausible_confirmed"] is True
        assert [Decimal(str(event.changes[k])) for k in ("consumption", "expected", "accepted_low",
                                                         "accepted_high")] == \
            [Decimal("1000"), Decimal("20"), Decimal("6.667"), Decimal("60")]
    queue = office.get(QUEUE).get_data(as_text=True)
    assert "It is recorded that you confirmed it outside the expected range." in queue
    office.submit("/backoffice/", {}, action="/backoffice/logout")
    supervisor = browser(alpha.slug)
    supervisor.login(alpha.staff_emails["supervisor"], area="/backoffice")
    history = supervisor.get(f"/backoffice/customers/{alpha.account_number}/history").get_data(as_text=True)
    assert "confirmed outside the expected range" in history and "expected about 20" in history


def test_a_plausible_correction_needs_no_confirmation_and_is_not_flagged(app, office, alpha, pending):
    reading_id, _serial = pending

    response = _post(office, app, alpha, reading_id, "correct", {"value": "485,5"})

    assert response.status_code == 302
    with app.app_context(), tenant_scope(alpha.tenant_id):
        agent = db.session.scalar(select(MeterReading).where(MeterReading.source == "agent",
                                                             MeterReading.read_on == date(2026, 11, 21)))
        assert (agent.value, agent.implausible_confirmed) == (Decimal("485.500"), False)


def test_accepting_a_checked_reading_tells_the_customer(app, office, alpha, pending):
    from domain.communications.models import Message

    reading_id, serial = pending

    _post(office, app, alpha, reading_id, "accept")

    with app.app_context(), tenant_scope(alpha.tenant_id):
        messages = list(db.session.scalars(select(Message).where(Message.kind == "reading_accepted")))
    assert [(m.recipient, m.status != "skipped") for m in messages] == [(alpha.customer_email, True)]
    assert messages[0].subject == f"Your reading of meter {serial} is accepted"
    assert "526 m³" in messages[0].text_body.replace("\u00a0", " ") and "it is accepted" in messages[0].text_body
