"""Isolation cases of staff data entry: tenant B's customers, meters, points of delivery and contracts cannot be
shown, changed, read or exchanged from A's host, whether named under B's account or under A's; a customer created
on A's host is A's only, and B's identifiers and serials are free there."""
from __future__ import annotations

from sqlalchemy import func, select

from domain.contracts.models import Contract, CustomerAccount
from domain.db import db
from domain.parties.models import ContactPoint
from domain.readings.models import MeterReading
from domain.sites.models import Meter, MeterInstallation
from tenants.context import tenant_scope
from tests.factories import OfferFactory, TariffVersionFactory, UnitPriceFactory
from tests.isolation import MISSING, _same_as_missing


def _office(browser, a):
    office = browser(a.slug)
    office.login(a.staff_emails["tenant_admin"], area="/backoffice")
    return office


def _snapshot(app, data) -> tuple:
    with app.app_context(), tenant_scope(data.tenant_id):
        return (db.session.scalar(select(func.count(MeterReading.id))),
                db.session.scalar(select(func.count(MeterInstallation.id))),
                tuple(db.session.scalars(select(ContactPoint.value).order_by(ContactPoint.id))),
                tuple(db.session.scalars(select(Contract.end_date))),
                db.session.scalar(select(func.count(CustomerAccount.id))))


def _of(app, data):
    with app.app_context(), tenant_scope(data.tenant_id):
        return (db.session.scalar(select(Meter.serial_number)), db.session.scalar(select(Contract.contract_number)))


def _both_404(office, paths, data: dict):
    for path in paths:
        assert office.get(path).status_code == 404
        response = office.submit("/backoffice/customers", data, action=path)
        assert response.status_code == 404, path


def case_backoffice_customer_new(app, browser, a, b):
    """A customer created on A's host is A's; B's point-of-delivery identifier and serial are free on A's host."""
    with app.app_context(), tenant_scope(a.tenant_id):
        version = TariffVersionFactory(offer=OfferFactory(code="ISO-ELEC"))
        UnitPriceFactory(version=version)
        db.session.commit()
    serial, _number = _of(app, b)
    before_b = _snapshot(app, b)
    office = _office(browser, a)
    response = office.submit("/backoffice/customers/new", {
        "kind": "person", "last_name": "Iso", "address_line1": "1 rue A", "postcode": "69001", "city": "Lyon",
        "country": "FR", "same_address": "y", "premise_country": "FR", "activity": "electricity",
        "identifier": b.delivery_point_identifier, "serial_number": serial, "digits": "6", "multiplier": "1",
        "layout": "single", "index_TOTAL": "10", "installed_on": "2026-11-01", "start_date": "2026-11-01",
        "offer": "ISO-ELEC", "billing_frequency": "monthly", "locale": "en"})
    assert response.status_code == 302
    assert _snapshot(app, b) == before_b
    with app.app_context(), tenant_scope(a.tenant_id):
        assert db.session.scalar(select(func.count(Meter.id)).where(Meter.serial_number == serial)) == 1


def case_backoffice_customer_contact(app, browser, a, b):
    office = _office(browser, a)
    before = _snapshot(app, b)
    _same_as_missing(office, f"/backoffice/customers/{b.account_number}/contact",
                     f"/backoffice/customers/{MISSING}/contact", b.account_number)
    _both_404(office, [f"/backoffice/customers/{b.account_number}/contact"],
              {"last_name": "Taken", "address_line1": "x", "postcode": "1", "city": "x", "country": "FR",
               "email": "taken@example.test"})
    assert _snapshot(app, b) == before


def case_backoffice_customer_supply_new(app, browser, a, b):
    office = _office(browser, a)
    before = _snapshot(app, b)
    _same_as_missing(office, f"/backoffice/customers/{b.account_number}/supplies/new",
                     f"/backoffice/customers/{MISSING}/supplies/new", b.account_number)
    _both_404(office, [f"/backoffice/customers/{b.account_number}/supplies/new"], {"identifier": "X"})
    assert _snapshot(app, b) == before


def case_backoffice_customer_reading(app, browser, a, b):
    office = _office(browser, a)
    serial, _number = _of(app, b)
    before = _snapshot(app, b)
    for account in (b.account_number, a.account_number):
        _same_as_missing(office, f"/backoffice/customers/{account}/meters/{serial}/reading",
                         f"/backoffice/customers/{account}/meters/{MISSING}/reading", serial)
    _both_404(office, [f"/backoffice/customers/{account}/meters/{serial}/reading"
                       for account in (b.account_number, a.account_number)],
              {"channel": "phone", "read_on": "2026-11-28", "r_TOTAL": "99999"})
    assert _snapshot(app, b) == before


def case_backoffice_customer_meter_exchange(app, browser, a, b):
    office = _office(browser, a)
    identifier = b.delivery_point_identifier
    before = _snapshot(app, b)
    for account in (b.account_number, a.account_number):
        _same_as_missing(office, f"/backoffice/customers/{account}/points/{identifier}/exchange",
                         f"/backoffice/customers/{account}/points/{MISSING}/exchange", identifier)
    _both_404(office, [f"/backoffice/customers/{account}/points/{identifier}/exchange"
                       for account in (b.account_number, a.account_number)],
              {"exchange_on": "2026-11-20", "removal_TOTAL": "99999", "serial_number": "ISO-NEW", "digits": "6",
               "multiplier": "1", "layout": "single", "index_TOTAL": "1"})
    assert _snapshot(app, b) == before


def case_backoffice_customer_contract_end(app, browser, a, b):
    office = _office(browser, a)
    _serial, number = _of(app, b)
    before = _snapshot(app, b)
    for account in (b.account_number, a.account_number):
        _same_as_missing(office, f"/backoffice/customers/{account}/contracts/{number}/end",
                         f"/backoffice/customers/{account}/contracts/{MISSING}/end", number)
    _both_404(office, [f"/backoffice/customers/{account}/contracts/{number}/end"
                       for account in (b.account_number, a.account_number)],
              {"end_on": "2026-11-28", "final_TOTAL": "99999"})
    assert _snapshot(app, b) == before
