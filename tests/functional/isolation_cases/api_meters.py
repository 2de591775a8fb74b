"""Tenant-isolation cases of the API's meter endpoints: tenant A's key naming tenant B's point of delivery or
meter is answered exactly as a missing one, and B's meters and interval data stay as they were."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from domain.db import db
from domain.readings.models import IntervalDay
from domain.sites.models import DeliveryPoint, MeterInstallation
from tenants.context import tenant_scope
from tests.api_support import api_client, make_api_key
from tests.clock import TODAY
from tests.isolation import MISSING


def _serial(app, data) -> str:
    with app.app_context(), tenant_scope(data.tenant_id):
        dp = db.session.scalar(select(DeliveryPoint).where(DeliveryPoint.identifier == data.delivery_point_identifier))
        return dp.current_meter.serial_number


def _count(app, data, column) -> int:
    with app.app_context(), tenant_scope(data.tenant_id):
        return db.session.scalar(select(func.count(column)))


def case_api_meter_exchange(app, browser, a, b):
    api = api_client(browser(a.slug).client, make_api_key(app, a.tenant_id))
    b_serial = _serial(app, b)
    body = {"exchange_date": (TODAY - timedelta(days=3)).isoformat(),
            "removed_meter": {"serial_number": b_serial, "readings": {"TOTAL": "1500"}},
            "installed_meter": {"serial_number": "ISO-NEW-1", "digits": 6, "registers": [{"code": "TOTAL",
                                                                                          "index": "0"}]}}
    before = _count(app, b, MeterInstallation.id)

    foreign = api.post("/api/v1/meter-exchanges", json={**body, "point": b.delivery_point_identifier})
    missing = api.post("/api/v1/meter-exchanges", json={**body, "point": MISSING})

    assert foreign.status_code == missing.status_code == 404 and foreign.get_data() == missing.get_data()
    assert _count(app, b, MeterInstallation.id) == before


def case_api_interval_data(app, browser, a, b):
    api = api_client(browser(a.slug).client, make_api_key(app, a.tenant_id))
    day = {"register_code": "TOTAL", "day": (TODAY - timedelta(days=1)).isoformat(), "values": ["0.1"] * 48}

    by_point = api.post("/api/v1/interval-data", json={"days": [{**day, "point": b.delivery_point_identifier}]})
    by_meter = api.post("/api/v1/interval-data", json={"days": [{**day, "meter": _serial(app, b)}]})
    missing = api.post("/api/v1/interval-data", json={"days": [{**day, "meter": MISSING}]})

    assert by_point.status_code == by_meter.status_code == missing.status_code == 404
    assert by_meter.get_json()["error"]["message"] == missing.get_json()["error"]["message"]
    assert _count(app, b, IntervalDay.id) == 0 and _count(app, a, IntervalDay.id) == 0
