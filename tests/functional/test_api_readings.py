"""`POST /api/v1/readings/batch`: JSON and CSV, the answer per reading in the caller's language, the size limit,
the scope, idempotent retries, and another tenant's points and meters answering as unknown ones."""
from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from domain.apikeys.scopes import ALL_SCOPES
from domain.db import db
from domain.readings.models import MeterReading
from tenants.context import tenant_scope
from tests.api_support import api_client, make_api_key
from tests.integration.test_reading_services import ONE_A_DAY, prepare_meter

URL = "/api/v1/readings/batch"
NOW = datetime(2026, 11, 21, 10, 0, tzinfo=UTC)


@pytest.fixture
def water(app, two_tenants, clock):
    """Tenant A's customer meter turned into a water meter read at 1 m3 a day for a year; the clock on 21 Nov."""
    clock.move_to(NOW)
    a, b = two_tenants
    with app.app_context(), tenant_scope(a.tenant_id):
        serial = prepare_meter(a, readings=ONE_A_DAY)
        db.session.commit()
    return a, b, serial


def _count(app, tenant_id) -> int:
    with app.app_context(), tenant_scope(tenant_id):
        return db.session.scalar(select(func.count(MeterReading.id)))


def _error(response) -> dict:
    body = response.get_json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "details"}
    return body["error"]


def test_json_batch_answers_each_reading_in_order_with_totals(app, client, water):
    a, _b, serial = water
    api = api_client(client, make_api_key(app, a.tenant_id, scopes={"readings:write"}))

    response = api.post(URL, json={"readings": [
        {"point": a.delivery_point_identifier, "read_on": "2026-11-11", "value": 475, "external_id": "r1"},
        {"meter": serial, "read_on": "2026-11-21", "value": "600", "source": "agent"},
        {"meter": serial, "read_on": "2026-11-20", "value": "400.5"},
        {"meter": "NOPE", "read_on": "2026-11-20", "value": "1"}]})

    assert response.status_code == 200
    body = response.get_json()
    assert body["totals"] == {"received": 4, "accepted": 1, "to_check": 1, "rejected": 2}
    first, second, third, fourth = body["readings"]
    assert first == {"position": 0, "external_id": "r1", "status": "accepted", "already_stored": False,
                     "point": a.delivery_point_identifier, "meter": serial, "register": "TOTAL",
                     "read_on": "2026-11-11", "value": "475.000", "consumption": "10.000", "expected": "10.000",
                     "reason": None, "message": None}
    assert (second["status"], second["consumption"], second["expected"]) == ("to_check", "125.000", "10.000")
    assert "staff will check it" in second["message"]
    assert (third["status"], third["reason"]) == ("rejected", "lower_than_previous")
    assert "rollover set to true" in third["message"]
    assert (fourth["reason"], fourth["message"]) == ("unknown_meter", "No meter has this serial number.")
    with app.app_context(), tenant_scope(a.tenant_id):
        rows = db.session.execute(select(MeterReading.read_on, MeterReading.value, MeterReading.status)
                                  .where(MeterReading.read_on >= date(2026, 11, 2))
                                  .order_by(MeterReading.read_on)).all()
    assert [tuple(r) for r in rows] == [(date(2026, 11, 11), Decimal("475.000"), "valid"),
                                        (date(2026, 11, 21), Decimal("600.000"), "pending")]


def test_csv_batch_with_its_header_and_messages_in_the_callers_language(app, client, water):
    a, _b, serial = water
    api = api_client(client, make_api_key(app, a.tenant_id))
    csv_text = ("meter;read_on;value;rollover;external_id\n"
                f"{serial};2026-11-21;485,5;;c-1\n"
                f"{serial};2026-11-22;490;false;c-2\n")

    response = api.post(URL, data=csv_text.encode(), headers={"Content-Type": "text/csv",
                                                               "Accept-Language": "fr"})

    assert response.status_code == 200
    one, two = response.get_json()["readings"]
    assert (one["status"], one["value"], one["external_id"]) == ("accepted", "485.500", "c-1")
    assert (two["reason"], two["message"]) == ("future", "La date ne peut pas être dans le futur.")


def test_unreadable_csv_is_refused_whole_and_a_bad_line_is_a_rejected_reading(app, client, water):
    a, _b, serial = water
    api = api_client(client, make_api_key(app, a.tenant_id))
    before = _count(app, a.tenant_id)

    unknown = api.post(URL, data=b"serial,read_on,value\nX,2026-11-21,1\n", headers={"Content-Type": "text/csv"})
    empty = api.post(URL, data=b"meter,read_on,value\n\n", headers={"Content-Type": "text/csv"})
    ragged = api.post(URL, data=f"meter,read_on,value,rollover\n{serial},2026-11-21\n{serial},2026-11-21,485,maybe\n"
                      .encode(), headers={"Content-Type": "text/csv"})

    assert [r.status_code for r in (unknown, empty)] == [422, 422]
    assert _error(unknown)["code"] == "invalid_csv" and _error(unknown)["details"]["unknown"] == ["serial"]
    assert ragged.status_code == 200
    assert [(r["reason"], r["message"]) for r in ragged.get_json()["readings"]] == [
        ("invalid_line", "Line 2 has 2 fields, the first line 4."),
        ("invalid_rollover", "Line 3: rollover must be true or false.")]
    assert _count(app, a.tenant_id) == before


def test_more_than_ten_thousand_readings_are_refused(app, client, water):
    a, _b, serial = water
    api = api_client(client, make_api_key(app, a.tenant_id))
    reading = {"meter": serial, "read_on": "2026-11-21", "value": "485"}
    lines = "meter,read_on,value\n" + f"{serial},2026-11-21,485\n" * 10_001
    before = _count(app, a.tenant_id)

    as_json = api.post(URL, json={"readings": [reading] * 10_001})
    as_csv = api.post(URL, data=lines.encode(), headers={"Content-Type": "text/csv"})

    assert as_json.status_code == as_csv.status_code == 422
    assert _error(as_json)["details"][0]["field"] == "body.readings"
    assert _error(as_csv)["details"][0]["problem"] == "too_long"
    assert _count(app, a.tenant_id) == before


def test_a_key_without_readings_write_gets_403(app, client, water):
    a, _b, serial = water
    api = api_client(client, make_api_key(app, a.tenant_id, scopes=set(ALL_SCOPES) - {"readings:write"}))

    response = api.post(URL, json={"readings": [{"meter": serial, "read_on": "2026-11-21", "value": "485"}]})

    assert response.status_code == 403 and _error(response)["code"] == "insufficient_scope"


def test_idempotent_retry_returns_the_first_answer_and_writes_nothing_more(app, client, water):
    a, _b, serial = water
    api = api_client(client, make_api_key(app, a.tenant_id))
    batch = {"readings": [{"meter": serial, "read_on": "2026-11-21", "value": "485"}]}
    first = api.post(URL, json=batch, headers={"Idempotency-Key": "batch-1"})
    after_first = _count(app, a.tenant_id)

    again = api.post(URL, json=batch, headers={"Idempotency-Key": "batch-1"})
    other = api.post(URL, json={"readings": [{"meter": serial, "read_on": "2026-11-20", "value": "484"}]},
                     headers={"Idempotency-Key": "batch-1"})

    assert first.status_code == again.status_code == 200
    assert again.get_data() == first.get_data() and again.headers["Idempotent-Replayed"] == "true"
    assert first.get_json()["readings"][0]["already_stored"] is False
    assert other.status_code == 422 and _error(other)["code"] == "idempotency_key_reused"
    assert _count(app, a.tenant_id) == after_first


def test_another_tenants_point_and_meter_answer_exactly_like_unknown_ones(app, client, water):
    a, b, _serial = water
    with app.app_context(), tenant_scope(b.tenant_id):
        serial_b = prepare_meter(b, readings=ONE_A_DAY)
        db.session.commit()
    before_b = _count(app, b.tenant_id)
    api = api_client(client, make_api_key(app, a.tenant_id), host=f"{b.slug}.localhost")

    theirs = api.post(URL, json={"readings": [
        {"point": b.delivery_point_identifier, "read_on": "2026-11-21", "value": "485"},
        {"meter": serial_b, "read_on": "2026-11-21", "value": "485"}]}).get_json()["readings"]
    missing = api.post(URL, json={"readings": [
        {"point": b.delivery_point_identifier, "read_on": "2026-11-21", "value": "485"},
        {"meter": serial_b, "read_on": "2026-11-21", "value": "485"}]}).get_json()["readings"]
    unknown = api.post(URL, json={"readings": [
        {"point": "PDL-NONE", "read_on": "2026-11-21", "value": "485"},
        {"meter": "M-NONE", "read_on": "2026-11-21", "value": "485"}]}).get_json()["readings"]

    strip = lambda results: [{k: v for k, v in r.items() if k not in ("point", "meter")} for r in results]  # noqa: E731
    assert strip(theirs) == strip(unknown) == strip(missing)
    assert [r["reason"] for r in theirs] == ["unknown_point", "unknown_meter"]
    assert _count(app, b.tenant_id) == before_b
