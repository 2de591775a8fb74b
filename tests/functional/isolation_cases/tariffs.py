"""Isolation cases of offers and tariffs in the administration area: tenant B's offers and versions, tried by
tenant A's administrator, answer exactly like missing ones, and nothing of B's changes."""
from __future__ import annotations

from sqlalchemy import select

from domain.db import db
from domain.offers.models import Offer, TariffComponent, TariffVersion, UnitPrice
from tenants.context import tenant_scope
from tests.isolation import _TOKEN, MISSING, _same_as_missing

BASE = "/backoffice/admin/offers"
DAY = "2024-01-01"  # the version tests.factories gives each tenant's offer


def _admin(browser, a):
    office = browser(a.slug)
    office.login(a.staff_emails["tenant_admin"], area="/backoffice")
    return office


def _b_offer(app, b) -> str:
    with app.app_context(), tenant_scope(b.tenant_id):
        return db.session.scalar(select(Offer.code))


def _b_state(app, b):
    with app.app_context(), tenant_scope(b.tenant_id):
        return ([(o.code, o.name, o.is_active) for o in db.session.scalars(select(Offer))],
                [(v.effective_from, v.effective_to, v.standing_charge_per_day)
                 for v in db.session.scalars(select(TariffVersion))],
                [(p.component, p.price) for p in db.session.scalars(select(UnitPrice))],
                [c.code for c in db.session.scalars(select(TariffComponent))])


def _post_same_as_missing(office, path_foreign: str, path_missing: str, foreign_ref: str, data: dict):
    token = office.csrf(BASE)
    foreign = office.post(path_foreign, {**data, "csrf_token": token})
    missing = office.post(path_missing, {**data, "csrf_token": token})
    assert foreign.status_code == missing.status_code == 404
    assert (_TOKEN.sub("", foreign.get_data(as_text=True)).replace(foreign_ref, MISSING)
            == _TOKEN.sub("", missing.get_data(as_text=True)))


def case_admin_offers(app, browser, a, b):
    office = _admin(browser, a)
    page = office.get(BASE)
    assert page.status_code == 200
    assert _b_offer(app, b) not in page.get_data(as_text=True)


def case_admin_offer(app, browser, a, b):
    office = _admin(browser, a)
    code = _b_offer(app, b)
    before = _b_state(app, b)
    _same_as_missing(office, f"{BASE}/{code}", f"{BASE}/{MISSING}", code)
    _post_same_as_missing(office, f"{BASE}/{code}", f"{BASE}/{MISSING}", code, {"name": "Mallory", "kind": "market"})
    assert _b_state(app, b) == before


def case_admin_offer_active(app, browser, a, b):
    office = _admin(browser, a)
    code = _b_offer(app, b)
    before = _b_state(app, b)
    _post_same_as_missing(office, f"{BASE}/{code}/active", f"{BASE}/{MISSING}/active", code, {"active": "0"})
    assert _b_state(app, b) == before


def case_admin_new_version(app, browser, a, b):
    office = _admin(browser, a)
    code = _b_offer(app, b)
    before = _b_state(app, b)
    _post_same_as_missing(office, f"{BASE}/{code}/versions", f"{BASE}/{MISSING}/versions", code,
                          {"effective_from": "2030-01-01"})
    assert _b_state(app, b) == before


def case_admin_tariff_version(app, browser, a, b):
    office = _admin(browser, a)
    code = _b_offer(app, b)
    before = _b_state(app, b)
    _same_as_missing(office, f"{BASE}/{code}/versions/{DAY}", f"{BASE}/{MISSING}/versions/{DAY}", code)
    _post_same_as_missing(office, f"{BASE}/{code}/versions/{DAY}", f"{BASE}/{MISSING}/versions/{DAY}", code,
                          {"standing_charge_per_day": "9", "standing_charge_tax": "20"})
    assert _b_state(app, b) == before


def case_admin_add_price(app, browser, a, b):
    office = _admin(browser, a)
    code = _b_offer(app, b)
    before = _b_state(app, b)
    _post_same_as_missing(office, f"{BASE}/{code}/versions/{DAY}/prices", f"{BASE}/{MISSING}/versions/{DAY}/prices",
                          code, {"component": "levy", "price": "1", "tax": "20", "description": "levy_x"})
    assert _b_state(app, b) == before


def case_admin_add_component(app, browser, a, b):
    office = _admin(browser, a)
    code = _b_offer(app, b)
    before = _b_state(app, b)
    _post_same_as_missing(office, f"{BASE}/{code}/versions/{DAY}/components",
                          f"{BASE}/{MISSING}/versions/{DAY}/components", code,
                          {"kind": "standing_charge", "code": "metering", "amount": "1", "per": "month", "tax": "20"})
    assert _b_state(app, b) == before


def case_admin_remove_line(app, browser, a, b):
    office = _admin(browser, a)
    code = _b_offer(app, b)
    before = _b_state(app, b)
    _post_same_as_missing(office, f"{BASE}/{code}/versions/{DAY}/lines/energy/remove",
                          f"{BASE}/{MISSING}/versions/{DAY}/lines/energy/remove", code, {})
    assert _b_state(app, b) == before


def case_admin_preview_version(app, browser, a, b):
    office = _admin(browser, a)
    code = _b_offer(app, b)
    _same_as_missing(office, f"{BASE}/{code}/versions/{DAY}/preview?consumption=100",
                     f"{BASE}/{MISSING}/versions/{DAY}/preview?consumption=100", code)


def case_billing_calorific_zone(app, browser, a, b):
    """B's point of delivery cannot be put in a zone from A's host: it reads like an unknown identifier."""
    from domain.sites.models import DeliveryPoint

    with app.app_context(), tenant_scope(b.tenant_id):
        db.session.scalar(select(DeliveryPoint)).activity = "gas"
        db.session.commit()
    office = browser(a.slug)
    office.login(a.staff_emails["billing"], area="/backoffice")
    page = "/backoffice/billing/calorific-values"
    token = office.csrf(page)
    foreign = office.post(f"{page}/zones", {"pod-identifier": b.delivery_point_identifier, "pod-zone": "NORD",
                                            "csrf_token": token})
    missing = office.post(f"{page}/zones", {"pod-identifier": MISSING, "pod-zone": "NORD", "csrf_token": token})
    assert foreign.status_code == missing.status_code == 422
    assert (_TOKEN.sub("", foreign.get_data(as_text=True)).replace(b.delivery_point_identifier, MISSING)
            == _TOKEN.sub("", missing.get_data(as_text=True)))
    with app.app_context(), tenant_scope(b.tenant_id):
        assert db.session.scalar(select(DeliveryPoint.calorific_zone)) is None
