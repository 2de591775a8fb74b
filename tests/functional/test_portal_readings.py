"""Meter self-reading through the portal: the form, its refusals, the confirmation, the history, the photo."""
from __future__ import annotations

import io
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from domain.db import db
from domain.readings.models import MeterReading
from domain.readings.photos import MAX_PHOTO_BYTES
from domain.tasks.models import Task
from tenants.context import tenant_scope
from tests.integration.test_reading_services import prepare_meter

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 64


def _today():
    return datetime.now(ZoneInfo("Europe/Paris")).date()  # the test tenants' time zone


def _setup(app, data, **kwargs) -> str:
    with app.app_context(), tenant_scope(data.tenant_id):
        serial = prepare_meter(data, **kwargs)
        db.session.commit()
        return serial


def _one_a_day():
    """A water meter read by an agent at 1 m3 a day for a year, the latest reading 20 days ago."""
    latest = _today() - timedelta(days=20)
    return [(latest - timedelta(days=365), "100", "agent"), (latest, "465", "agent")]


def _rows_today(app, data) -> list[MeterReading]:
    with app.app_context(), tenant_scope(data.tenant_id):
        return list(db.session.scalars(select(MeterReading).where(MeterReading.read_on == _today())))


def _signed_in(browser, data):
    portal = browser(data.slug)
    portal.login(data.customer_email)
    return portal


def _send(portal, serial, data, files=None):
    token = portal.csrf(f"/readings/{serial}")
    payload = {**data, "csrf_token": token}
    if files:
        payload.update(files)
    return portal.post(f"/readings/{serial}", data=payload, content_type="multipart/form-data")


def test_readings_page_lists_the_meter_with_its_previous_reading_and_window(app, browser, two_tenants):
    a, _b = two_tenants
    serial = _setup(app, a, readings=_one_a_day())
    portal = _signed_in(browser, a)

    text = portal.get("/readings").get_data(as_text=True)

    assert serial in text and a.delivery_point_identifier in text
    assert "Previous reading: 465\u00a0m³" in text and "(Meter reader)" in text
    assert "Please read your meter by" in text
    assert 'enctype="multipart/form-data"' in text and 'for="' in text


def test_plausible_reading_is_confirmed_and_shown_in_the_history(app, browser, two_tenants):
    a, _b = two_tenants
    serial = _setup(app, a, readings=_one_a_day())
    portal = _signed_in(browser, a)

    response = _send(portal, serial, {"r_TOTAL": "485"})

    assert response.status_code == 302 and response.headers["Location"].endswith(f"/readings/{serial}/history")
    page = portal.get(response.headers["Location"]).get_data(as_text=True)
    assert "your reading of" in page and "is recorded" in page and "our team will check" not in page
    assert "485\u00a0m³" in page and "You" in page and "Accepted" in page and "Meter reader" in page
    assert [(r.value, r.status) for r in _rows_today(app, a)] == [(Decimal("485.000"), "valid")]


def test_second_reading_the_same_day_replaces_the_first(app, browser, two_tenants):
    a, _b = two_tenants
    serial = _setup(app, a, readings=_one_a_day())
    portal = _signed_in(browser, a)
    _send(portal, serial, {"r_TOTAL": "4850"})  # a typo

    form = portal.get("/readings").get_data(as_text=True)
    response = _send(portal, serial, {"r_TOTAL": "485"})

    assert "You already gave 4,850\u00a0m³ today; sending a new reading replaces it." in form
    assert "It replaces the reading you gave earlier today." in portal.get(response.headers["Location"]).get_data(
        as_text=True)
    assert [(r.value, r.status) for r in _rows_today(app, a)] == [(Decimal("485.000"), "valid")]


def test_reading_far_from_expected_is_to_be_checked_and_the_customer_is_told(app, browser, two_tenants):
    a, _b = two_tenants
    serial = _setup(app, a, readings=_one_a_day())
    portal = _signed_in(browser, a)

    response = _send(portal, serial, {"r_TOTAL": "1 465"})  # 1,000 m3 in 20 days

    page = portal.get(response.headers["Location"]).get_data(as_text=True)
    assert "our team will check it" in page and "To be checked" in page
    rows = _rows_today(app, a)
    assert [(r.value, r.status) for r in rows] == [(Decimal("1465.000"), "pending")]
    with app.app_context(), tenant_scope(a.tenant_id):
        task = db.session.scalar(select(Task).where(Task.subject_id == rows[0].id, Task.kind == "reading_check"))
        assert task is not None and "expected 20.000" in task.details


def test_reading_lower_than_the_previous_is_refused_with_a_clear_message(app, browser, two_tenants):
    a, _b = two_tenants
    serial = _setup(app, a, readings=_one_a_day())
    portal = _signed_in(browser, a)

    response = _send(portal, serial, {"r_TOTAL": "460"})

    text = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "There is a problem" in text and "is lower than the previous one" in text
    assert "460\u00a0m³" in text and "465\u00a0m³" in text and 'aria-invalid="true"' in text
    assert _rows_today(app, a) == []


def test_rollover_on_a_five_digit_meter_is_accepted_once_confirmed(app, browser, two_tenants):
    a, _b = two_tenants
    serial = _setup(app, a, digits=5, readings=[(_today() - timedelta(days=20), "99850", "agent")])
    portal = _signed_in(browser, a)

    refused = _send(portal, serial, {"r_TOTAL": "00120"})
    accepted = _send(portal, serial, {"r_TOTAL": "00120", "rollover": "y"})

    assert "is lower than the previous one" in refused.get_data(as_text=True)
    assert accepted.status_code == 302
    rows = _rows_today(app, a)
    assert [(r.value, r.rollover_confirmed) for r in rows] == [(Decimal("120.000"), True)]


def test_reading_that_does_not_fit_the_dial_or_is_not_a_number_is_refused(app, browser, two_tenants):
    a, _b = two_tenants
    serial = _setup(app, a, digits=5, readings=_one_a_day())
    portal = _signed_in(browser, a)

    too_long = _send(portal, serial, {"r_TOTAL": "123456"}).get_data(as_text=True)
    words = _send(portal, serial, {"r_TOTAL": "twelve"}).get_data(as_text=True)
    empty = _send(portal, serial, {"r_TOTAL": ""}).get_data(as_text=True)

    assert "at most 5 digits" in too_long
    assert "Enter the reading as a number" in words
    assert "Enter the reading shown on your meter" in empty
    assert _rows_today(app, a) == []


def test_photo_is_kept_and_served_only_to_its_owner(app, browser, two_tenants):
    a, b = two_tenants
    serial = _setup(app, a, readings=_one_a_day())
    portal = _signed_in(browser, a)

    _send(portal, serial, {"r_TOTAL": "485"}, files={"photo": (io.BytesIO(JPEG), "meter.txt")})

    history = portal.get(f"/readings/{serial}/history").get_data(as_text=True)
    start = history.index("/readings/photos/")
    link = history[start:history.index('"', start)]
    photo = portal.get(link)
    assert photo.status_code == 200 and photo.data == JPEG and photo.headers["Content-Type"] == "image/jpeg"
    other = _signed_in(browser, b)
    assert other.get(link).status_code == 404


def test_photo_of_the_wrong_type_is_refused_and_nothing_is_stored(app, browser, two_tenants):
    a, _b = two_tenants
    serial = _setup(app, a, readings=_one_a_day())
    portal = _signed_in(browser, a)

    response = _send(portal, serial, {"r_TOTAL": "485"},
                     files={"photo": (io.BytesIO(b"%PDF-1.7 not an image"), "meter.jpg")})

    assert "must be a JPEG, PNG or WebP image" in response.get_data(as_text=True)
    assert _rows_today(app, a) == []


def test_photo_over_five_megabytes_is_refused(app, browser, two_tenants):
    a, _b = two_tenants
    serial = _setup(app, a, readings=_one_a_day())
    portal = _signed_in(browser, a)
    big = PNG + b"\x00" * (MAX_PHOTO_BYTES + 1 - len(PNG))

    response = _send(portal, serial, {"r_TOTAL": "485"}, files={"photo": (io.BytesIO(big), "meter.png")})

    assert "must be 5 MB or smaller" in response.get_data(as_text=True)
    assert _rows_today(app, a) == []


def test_another_tenants_meter_answers_like_a_missing_one(app, browser, two_tenants):
    a, b = two_tenants
    b_serial = _setup(app, b, readings=_one_a_day())
    portal = _signed_in(browser, a)

    foreign = portal.post(f"/readings/{b_serial}", data={"r_TOTAL": "485",
                                                          "csrf_token": portal.csrf("/readings")})
    missing = portal.post("/readings/NOPE", data={"r_TOTAL": "485", "csrf_token": portal.csrf("/readings")})

    assert foreign.status_code == missing.status_code == 404
    with app.app_context(), tenant_scope(b.tenant_id):
        assert db.session.scalar(select(func.count(MeterReading.id)).where(MeterReading.read_on == _today())) == 0


def test_readings_page_in_french(app, browser, two_tenants):
    a, _b = two_tenants
    _setup(app, a, readings=_one_a_day())
    portal = _signed_in(browser, a)
    portal.submit("/readings", {"locale": "fr", "next": "/readings"}, action="/language")

    text = portal.get("/readings").get_data(as_text=True)

    assert "Relevé précédent : 465" in text and "Envoyer mon relevé" in text and "Releveur" in text


def test_reading_is_dated_today_in_the_tenants_time_zone(app, browser, two_tenants, monkeypatch):
    a, _b = two_tenants
    from datetime import UTC, date

    from portal import reading_views
    from tenants.context import platform_scope
    from tenants.models import Tenant

    class Clock(datetime):
        @classmethod
        def now(cls, tz=None):  # 03:00 UTC on 29 November is still the 28th in Los Angeles
            return datetime(2026, 11, 29, 3, 0, tzinfo=UTC).astimezone(tz)

    monkeypatch.setattr(reading_views, "datetime", Clock)
    with app.app_context(), platform_scope("test: time zone"):
        db.session.get(Tenant, a.tenant_id).timezone = "America/Los_Angeles"
        db.session.commit()
    serial = _setup(app, a, readings=[(date(2026, 11, 1), "100", "agent")])
    portal = _signed_in(browser, a)

    _send(portal, serial, {"r_TOTAL": "120"})

    with app.app_context(), tenant_scope(a.tenant_id):
        dates = list(db.session.scalars(select(MeterReading.read_on).where(MeterReading.source == "customer")))
    assert dates == [date(2026, 11, 28)]


def test_plausibility_factor_comes_from_the_configuration(app, browser, two_tenants):
    a, _b = two_tenants
    serial = _setup(app, a, readings=_one_a_day())
    portal = _signed_in(browser, a)
    app.config["READING_PLAUSIBILITY_FACTOR"] = Decimal(4)
    try:
        _send(portal, serial, {"r_TOTAL": "526"})  # 61 m3 where 20 were expected: within 4 x, beyond 3 x
    finally:
        del app.config["READING_PLAUSIBILITY_FACTOR"]

    assert [(r.value, r.status) for r in _rows_today(app, a)] == [(Decimal("526.000"), "valid")]


def test_a_meter_with_two_registers_has_a_labelled_field_for_each(app, browser, two_tenants):
    a, _b = two_tenants
    serial = _setup(app, a, activity="electricity", codes=("PEAK", "OFFPEAK"), readings=[
        (_today() - timedelta(days=20), "5000", "agent", "valid", "PEAK"),
        (_today() - timedelta(days=20), "3000", "agent", "valid", "OFFPEAK"),
    ])
    portal = _signed_in(browser, a)

    page = portal.get(f"/readings/{serial}").get_data(as_text=True)
    refused = _send(portal, serial, {"r_PEAK": "5100", "r_OFFPEAK": "2900"}).get_data(as_text=True)
    accepted = _send(portal, serial, {"r_PEAK": "5100", "r_OFFPEAK": "3050"})

    assert "Peak hours, in kWh" in page and "Off-peak hours, in kWh" in page and "5,000\u00a0kWh" in page
    assert "This reading (2,900\u00a0kWh) is lower than the previous one (3,000\u00a0kWh" in refused
    assert accepted.status_code == 302
    assert sorted(r.value for r in _rows_today(app, a)) == [Decimal("3050.000"), Decimal("5100.000")]


def test_a_smart_meter_is_not_asked_for_but_still_accepts_a_reading(app, browser, two_tenants):
    from domain.sites.models import Meter

    a, _b = two_tenants
    serial = _setup(app, a, readings=_one_a_day())
    with app.app_context(), tenant_scope(a.tenant_id):
        db.session.scalar(select(Meter).where(Meter.serial_number == serial)).is_smart = True
        db.session.commit()
    portal = _signed_in(browser, a)

    text = portal.get("/readings").get_data(as_text=True)
    sent = _send(portal, serial, {"r_TOTAL": "480"})

    assert "This smart meter sends us its readings: you do not need to read it." in text
    assert "Please read your meter by" not in text
    assert '<details class="smart-reading">' in text and "Give a reading anyway" in text
    assert sent.status_code == 302 and [r.value for r in _rows_today(app, a)] == [Decimal("480")]


def test_a_reading_to_be_checked_is_also_confirmed_by_e_mail(app, browser, two_tenants):
    from domain.communications.models import Message

    a, _b = two_tenants
    serial = _setup(app, a, readings=_one_a_day())
    portal = _signed_in(browser, a)

    _send(portal, serial, {"r_TOTAL": "1 465"})
    _send(portal, serial, {"r_TOTAL": "466"})  # a plausible one the same day: nothing more to check

    with app.app_context(), tenant_scope(a.tenant_id):
        messages = list(db.session.scalars(select(Message).where(Message.kind == "reading_to_check")))
    assert [m.recipient for m in messages] == [a.customer_email]
    assert messages[0].subject == f"We are checking your reading of meter {serial}"
    assert f"/readings/{serial}/history" in messages[0].text_body
