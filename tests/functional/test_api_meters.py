"""The API's meter endpoints: a field-service tool reporting a meter exchange, a smart-meter platform sending
interval data. Scopes, idempotent retries, refusals in the error shape with nothing changed, and another
utility's point of delivery answered as a missing one."""
from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import func, select

from domain.db import db
from domain.readings.intervals import day_values
from domain.readings.models import IntervalDay, MeterReading
from domain.sites.models import DeliveryPoint, Meter
from tenants.context import tenant_scope
from tests.api_support import api_client, make_api_key
from tests.clock import TODAY

EXCHANGE_ON = TODAY - timedelta(days=8)  # the old meter's latest reading is 1234 on 1 October 2026


def _error(response) -> dict:
    body = response.get_json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "details"}
    return body["error"]


def _serial(app, data) -> str:
    with app.app_context(), tenant_scope(data.tenant_id):
        dp = db.session.scalar(select(DeliveryPoint).where(DeliveryPoint.identifier == data.delivery_point_identifier))
        return dp.current_meter.serial_number


def _exchange(data, serial, removal="1500", **changes):
    body = {
        "point": data.delivery_point_identifier, "exchange_date": EXCHANGE_ON.isoformat(),
        "removed_meter": {"serial_number": serial, "readings": {"TOTAL": removal}},
        "installed_meter": {"serial_number": "lk 7700 1", "digits": 7, "multiplier": "1", "is_smart": True,
                            "registers": [{"code": "TOTAL", "index": "12.5"}]},
    }
    body.update(changes)
    return body


def _meters(app, data) -> dict[str, tuple]:
    with app.app_context(), tenant_scope(data.tenant_id):
        dp = db.session.scalar(select(DeliveryPoint).where(DeliveryPoint.identifier == data.delivery_point_identifier))
        return {i.meter.serial_number: (i.installed_on, i.removed_on) for i in dp.installations}


def test_a_meter_exchange_replaces_the_meter_and_answers_the_new_one(app, client, two_tenants):
    a, _b = two_tenants
    old = _serial(app, a)
    api = api_client(client, make_api_key(app, a.tenant_id, scopes={"readings:write"}))

    response = api.post("/api/v1/meter-exchanges", json=_exchange(a, old))

    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["installed_meter"] == {
        "serial_number": "LK77001", "digits": 7, "multiplier": "1.00000", "unit": "kWh", "is_smart": True,
        "model": None, "installed_on": EXCHANGE_ON.isoformat(),
        "registers": [{"code": "TOTAL", "label": "Total", "installation_index": "12.500"}]}
    assert body["removed_meter"]["readings"] == [
        {"register_code": "TOTAL", "index": "1500.000", "rolled_over": False, "implausible_confirmed": False}]
    assert _meters(app, a) == {old: (date(2024, 1, 1), EXCHANGE_ON), "LK77001": (EXCHANGE_ON, None)}


def test_a_removal_index_below_the_previous_reading_is_refused_with_nothing_changed(app, client, two_tenants):
    a, _b = two_tenants
    old = _serial(app, a)
    api = api_client(client, make_api_key(app, a.tenant_id))

    response = api.post("/api/v1/meter-exchanges", json=_exchange(a, old, removal="1000"))

    assert response.status_code == 422
    error = _error(response)
    assert error["code"] == "invalid_exchange"
    assert [(d["field"], d["code"]) for d in error["details"]] == [
        ("removed_meter.readings.TOTAL", "lower_than_previous")]
    assert "lower than the previous one (1234" in error["details"][0]["message"]
    assert _meters(app, a) == {old: (date(2024, 1, 1), None)}


def test_an_exchange_naming_another_meter_or_a_future_date_lists_each_problem(app, client, two_tenants):
    a, _b = two_tenants
    api = api_client(client, make_api_key(app, a.tenant_id))

    response = api.post("/api/v1/meter-exchanges", json=_exchange(
        a, "NOT-THIS-ONE", exchange_date=(TODAY + timedelta(days=1)).isoformat()))

    error = _error(response)
    assert response.status_code == 422
    assert {(d["field"], d["code"]) for d in error["details"]} == {
        ("removed_meter.serial_number", "not_installed"), ("exchange_date", "future")}


def test_another_utilitys_point_answers_as_a_missing_one(app, client, two_tenants):
    a, b = two_tenants
    api = api_client(client, make_api_key(app, a.tenant_id))

    foreign = api.post("/api/v1/meter-exchanges", json=_exchange(b, _serial(app, b)))
    missing = api.post("/api/v1/meter-exchanges", json={**_exchange(b, _serial(app, b)), "point": "PDLNOWHERE"})

    assert foreign.status_code == missing.status_code == 404
    assert foreign.get_json() == missing.get_json() and _error(foreign)["code"] == "not_found"
    assert len(_meters(app, b)) == 1


def test_a_retried_exchange_with_its_idempotency_key_changes_nothing_more(app, client, two_tenants):
    a, _b = two_tenants
    old = _serial(app, a)
    api = api_client(client, make_api_key(app, a.tenant_id))
    headers = {"Idempotency-Key": "exchange-0001"}

    first = api.post("/api/v1/meter-exchanges", json=_exchange(a, old), headers=headers)
    again = api.post("/api/v1/meter-exchanges", json=_exchange(a, old), headers=headers)
    other = api.post("/api/v1/meter-exchanges", json=_exchange(a, old, removal="1600"), headers=headers)

    assert first.status_code == again.status_code == 201 and again.get_data() == first.get_data()
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert other.status_code == 422 and _error(other)["code"] == "idempotency_key_reused"
    with app.app_context(), tenant_scope(a.tenant_id):
        assert db.session.scalar(select(func.count(Meter.id))) == 2
        assert db.session.scalar(select(func.count(MeterReading.id)).where(MeterReading.read_on == EXCHANGE_ON)) == 2


def test_the_meter_endpoints_need_the_readings_write_scope(app, client, two_tenants):
    a, _b = two_tenants
    api = api_client(client, make_api_key(app, a.tenant_id, scopes={"bills:read"}))

    exchange = api.post("/api/v1/meter-exchanges", json=_exchange(a, _serial(app, a)))
    data = api.post("/api/v1/interval-data", json={"days": [_day(a, TODAY - timedelta(days=1))]})

    assert exchange.status_code == data.status_code == 403
    assert _error(exchange)["code"] == _error(data)["code"] == "insufficient_scope"
    assert _meters(app, a) == {_serial(app, a): (date(2024, 1, 1), None)}


# --- interval data -----------------------------------------------------------------------------------------------

def _day(data, day, value="0.25", count=48, **changes):
    return {"point": data.delivery_point_identifier, "register_code": "TOTAL", "day": day.isoformat(),
            "values": [value] * count, **changes}


def test_interval_days_are_stored_and_a_day_sent_again_is_replaced(app, client, two_tenants):
    a, _b = two_tenants
    serial = _serial(app, a)
    api = api_client(client, make_api_key(app, a.tenant_id, scopes={"readings:write"}))
    autumn = date(2026, 10, 25)  # clocks went back in Paris: 50 half-hours

    first = api.post("/api/v1/interval-data", json={"days": [
        _day(a, TODAY - timedelta(days=1)),
        {"meter": serial.lower(), "day": autumn.isoformat(), "values": ["0.101"] * 49 + [0.1]}]})
    again = api.post("/api/v1/interval-data", json={"source": "estimated", "days": [
        _day(a, TODAY - timedelta(days=1), value="0.5")]})

    assert first.status_code == 200, first.get_json()
    assert first.get_json()["stored"] == 2 and first.get_json()["replaced"] == 0
    assert first.get_json()["days"][1] == {
        "point": a.delivery_point_identifier, "meter": serial, "register_code": "TOTAL", "day": "2026-10-25",
        "interval_minutes": 30, "interval_count": 50, "total": "5.049", "status": "stored"}
    assert again.get_json()["replaced"] == 1 and again.get_json()["days"][0]["status"] == "replaced"
    assert again.get_json()["days"][0]["total"] == "24.000"
    with app.app_context(), tenant_scope(a.tenant_id):
        rows = db.session.scalars(select(IntervalDay).order_by(IntervalDay.day)).all()
        assert [(r.day, r.total, r.source) for r in rows] == [
            (autumn, Decimal("5.049"), "smart_meter"), (TODAY - timedelta(days=1), Decimal("24.000"), "estimated")]
        assert day_values(register_id=rows[0].register_id, day=autumn)[-2:] == (Decimal("0.101"), Decimal("0.100"))


def test_each_wrong_day_is_named_and_nothing_is_stored(app, client, two_tenants):
    a, _b = two_tenants
    api = api_client(client, make_api_key(app, a.tenant_id))

    response = api.post("/api/v1/interval-data", json={"days": [
        _day(a, TODAY - timedelta(days=2)),
        _day(a, date(2026, 3, 29)),  # clocks went forward: 46 half-hours, not 48
        _day(a, TODAY - timedelta(days=3), value="0.0001"),
        _day(a, TODAY - timedelta(days=4), register_code="PEAK")]})

    error = _error(response)
    assert response.status_code == 422 and error["code"] == "invalid_interval_data"
    assert [(d["field"], d["day"], d["code"]) for d in error["details"]] == [
        ("days.1", "2026-03-29", "interval_count"), ("days.2", "2026-11-25", "too_many_decimals"),
        ("days.3", "2026-11-24", "unknown_register")]
    assert error["details"][0]["message"] == (
        "This day has 46 intervals in the utility's time zone; 48 were sent.")
    with app.app_context(), tenant_scope(a.tenant_id):
        assert db.session.scalar(select(func.count(IntervalDay.id))) == 0


def test_interval_data_for_another_utilitys_point_answers_as_a_missing_one(app, client, two_tenants):
    a, b = two_tenants
    api = api_client(client, make_api_key(app, a.tenant_id))
    yesterday = TODAY - timedelta(days=1)

    foreign = api.post("/api/v1/interval-data", json={"days": [_day(b, yesterday)]})
    missing = api.post("/api/v1/interval-data", json={"days": [_day(b, yesterday, point="PDLNOWHERE")]})

    assert foreign.status_code == missing.status_code == 404
    assert _error(foreign)["code"] == "not_found" and _error(foreign)["details"] == [
        {"field": "days.0.point", "reference": b.delivery_point_identifier}]
    assert _error(foreign)["message"] == _error(missing)["message"]
    with app.app_context(), tenant_scope(b.tenant_id):
        assert db.session.scalar(select(func.count(IntervalDay.id))) == 0


def test_a_retried_interval_batch_is_answered_as_the_first_time(app, client, two_tenants):
    a, _b = two_tenants
    api = api_client(client, make_api_key(app, a.tenant_id))
    batch = {"days": [_day(a, TODAY - timedelta(days=1))]}

    first = api.post("/api/v1/interval-data", json=batch, headers={"Idempotency-Key": "day-1"})
    again = api.post("/api/v1/interval-data", json=batch, headers={"Idempotency-Key": "day-1"})
    fresh = api.post("/api/v1/interval-data", json=batch, headers={"Idempotency-Key": "day-1-bis"})

    assert again.get_data() == first.get_data() and first.get_json()["days"][0]["status"] == "stored"
    assert fresh.get_json()["days"][0]["status"] == "replaced"


def test_a_day_with_both_point_and_meter_is_refused_by_the_schema(app, client, two_tenants):
    a, _b = two_tenants
    api = api_client(client, make_api_key(app, a.tenant_id))

    response = api.post("/api/v1/interval-data", json={"days": [
        _day(a, TODAY - timedelta(days=1), meter=_serial(app, a))]})

    assert response.status_code == 422 and _error(response)["code"] == "invalid_request"
