"""Isolation cases of readings sent through the API: tenant B's points and meters are unknown to A's key."""
from __future__ import annotations

from sqlalchemy import func, select

from domain.db import db, utcnow
from domain.readings.models import MeterReading
from domain.sites.models import DeliveryPoint
from tenants.context import tenant_scope
from tests.api_support import api_client, make_api_key


def _readings_and_serial(app, data) -> tuple[int, str]:
    with app.app_context(), tenant_scope(data.tenant_id):
        dp = db.session.scalar(select(DeliveryPoint).where(DeliveryPoint.identifier == data.delivery_point_identifier))
        return db.session.scalar(select(func.count(MeterReading.id))), dp.current_meter.serial_number


def case_api_readings_batch(app, browser, a, b):
    before, serial_b = _readings_and_serial(app, b)
    api = api_client(browser(b.slug).client, make_api_key(app, a.tenant_id), host=f"{b.slug}.localhost")
    day = utcnow().date().isoformat()

    def answer(point, meter):
        response = api.post("/api/v1/readings/batch", json={"readings": [
            {"point": point, "read_on": day, "value": "999"}, {"meter": meter, "read_on": day, "value": "999"}]})
        assert response.status_code == 200
        return [{k: v for k, v in r.items() if k not in ("point", "meter")} for r in response.get_json()["readings"]]

    theirs, missing = answer(b.delivery_point_identifier, serial_b), answer("PDL-MISSING", "M-MISSING")

    assert theirs == missing and [r["reason"] for r in theirs] == ["unknown_point", "unknown_meter"]
    assert _readings_and_serial(app, b)[0] == before
