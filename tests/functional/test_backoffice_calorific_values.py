"""Billing staff see the gas calorific values and their dates, and record a new one from a date; a wrong value is
explained and stores nothing; staff without billing rights cannot."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import select

from domain.db import db
from domain.offers.models import GasCalorificValue
from tenants.context import tenant_scope
from tenants.models import Tenant

PAGE = "/backoffice/billing/calorific-values"


def _values(app, a) -> list:
    with app.app_context(), tenant_scope(a.tenant_id):
        return db.session.execute(select(GasCalorificValue.effective_from, GasCalorificValue.value,
                                         GasCalorificValue.recorded_by)).all()


def _office(browser, a, role="billing"):
    office = browser(a.slug)
    office.login(a.staff_emails[role], area="/backoffice")
    return office


def test_billing_staff_record_a_value_from_a_date_and_see_it_listed(app, browser, two_tenants):
    a, _b = two_tenants
    with app.app_context(), tenant_scope(a.tenant_id):
        db.session.get(Tenant, a.tenant_id).gas_calorific_value = Decimal("38.9")
        db.session.commit()
    office = _office(browser, a)

    page = office.submit(PAGE, {"effective_from": "2027-01-01", "value": "39.2"},
                         follow_redirects=True).get_data(as_text=True)

    assert _values(app, a) == [(date(2027, 1, 1), Decimal("39.2000"), a.staff_emails["billing"])]
    assert "The calorific value 39.2 MJ/m³ is in force from" in page
    assert "38.9" in page and "39.2" in page and a.staff_emails["billing"] in page
    runs = office.get("/backoffice/billing/runs").get_data(as_text=True)
    assert PAGE in runs  # the runs page links to it (the tenant has gas)


def test_a_wrong_value_is_explained_and_stores_nothing(app, browser, two_tenants):
    a, _b = two_tenants
    office = _office(browser, a)

    response = office.submit(PAGE, {"effective_from": "2027-01-01", "value": "11.2"})
    twice = [office.submit(PAGE, {"effective_from": "2027-02-01", "value": "39"}),
             office.submit(PAGE, {"effective_from": "2027-02-01", "value": "40"})][1]

    assert response.status_code == 422
    assert "Enter a calorific value from 20 to 60 MJ/m³, with at most four decimals." in response.get_data(as_text=True)
    assert twice.status_code == 422
    assert "A calorific value is already recorded from this date." in twice.get_data(as_text=True)
    assert _values(app, a) == [(date(2027, 2, 1), Decimal("39.0000"), a.staff_emails["billing"])]


def test_staff_without_billing_rights_cannot_record_a_value(app, browser, two_tenants):
    a, _b = two_tenants
    office = _office(browser, a, "agent")

    response = office.post(PAGE, data={"effective_from": "2027-01-01", "value": "39.2",
                                       "csrf_token": office.csrf("/backoffice/")})

    assert response.status_code == 403 and _values(app, a) == []


def test_values_per_zone_and_a_point_of_deliverys_zone(app, browser, two_tenants):
    from domain.sites.models import DeliveryPoint

    a, _b = two_tenants
    with app.app_context(), tenant_scope(a.tenant_id):
        point = db.session.scalar(select(DeliveryPoint))
        point.activity = "gas"
        identifier = point.identifier
        db.session.commit()
    office = _office(browser, a)

    office.submit(PAGE, {"effective_from": "2027-01-01", "value": "39.2", "zone": "NORD"})
    assigned = office.submit(PAGE, {"pod-identifier": identifier, "pod-zone": "NORD"},
                             action=f"{PAGE}/zones", follow_redirects=True).get_data(as_text=True)
    unknown = office.submit(PAGE, {"pod-identifier": "NOPE", "pod-zone": "NORD"}, action=f"{PAGE}/zones")
    bad = office.submit(PAGE, {"effective_from": "2027-02-01", "value": "39.2", "zone": "<b>"})

    assert f"The point of delivery {identifier} is in zone NORD." in assigned
    assert "<th scope=\"col\">Zone</th>" in assigned and "Zones: NORD." in assigned
    assert unknown.status_code == 422 and "There is no gas point of delivery with this identifier." in (
        unknown.get_data(as_text=True))
    assert bad.status_code == 422 and "Enter a zone name of up to 40 letters" in bad.get_data(as_text=True)
    with app.app_context(), tenant_scope(a.tenant_id):
        assert db.session.execute(select(GasCalorificValue.zone, GasCalorificValue.value)).all() == [
            ("NORD", Decimal("39.2000"))]
        assert db.session.scalar(select(DeliveryPoint.calorific_zone)) == "NORD"
