"""Isolation cases of meter self-reading and consumption: tenant B's meters, photos and points of delivery."""
from __future__ import annotations


from sqlalchemy import func, select

from domain.db import db
from domain.readings.models import MeterReading
from domain.readings.photos import photo_token, store_photo
from domain.sites.models import DeliveryPoint
from tenants.context import tenant_scope
from tests.isolation import MISSING, _same_as_missing

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


def _serial_of(app, data) -> str:
    with app.app_context(), tenant_scope(data.tenant_id):
        dp = db.session.scalar(select(DeliveryPoint).where(DeliveryPoint.identifier == data.delivery_point_identifier))
        return dp.current_meter.serial_number


def _signed_in(browser, a):
    portal = browser(a.slug)
    portal.login(a.customer_email)
    return portal


def case_portal_readings(app, browser, a, b):
    portal = _signed_in(browser, a)
    text = portal.get("/readings").get_data(as_text=True)
    assert _serial_of(app, a) in text and _serial_of(app, b) not in text


def case_portal_submit_reading(app, browser, a, b):
    b_serial = _serial_of(app, b)
    portal = _signed_in(browser, a)
    _same_as_missing(portal, f"/readings/{b_serial}", f"/readings/{MISSING}", b_serial)
    response = portal.post(f"/readings/{b_serial}", data={"r_TOTAL": "99999", "csrf_token": portal.csrf("/readings")})
    assert response.status_code == 404
    with app.app_context(), tenant_scope(b.tenant_id):
        assert db.session.scalar(select(func.count(MeterReading.id)).where(MeterReading.value == 99999)) == 0


def case_portal_reading_history(app, browser, a, b):
    b_serial = _serial_of(app, b)
    _same_as_missing(_signed_in(browser, a), f"/readings/{b_serial}/history", f"/readings/{MISSING}/history",
                     b_serial)


def case_portal_reading_photo(app, browser, a, b):
    with app.app_context(), tenant_scope(b.tenant_id):
        reading = db.session.scalar(select(MeterReading).order_by(MeterReading.id.desc()))
        reading.photo_path = store_photo(tenant_id=b.tenant_id, data=PNG)
        token = photo_token(reading.photo_path)
        db.session.commit()
    _same_as_missing(_signed_in(browser, a), f"/readings/photos/{token}", f"/readings/photos/{MISSING}", token)
    owner = _signed_in(browser, b)
    assert owner.get(f"/readings/photos/{token}").data == PNG


def case_portal_consumption(app, browser, a, b):
    _same_as_missing(_signed_in(browser, a), f"/consumption?dp={b.delivery_point_identifier}",
                     f"/consumption?dp={MISSING}", b.delivery_point_identifier)


