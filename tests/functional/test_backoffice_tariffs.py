"""Offers and tariffs in the administration area, as a tenant administrator uses them: an offer, its versions,
prices with the names customers read, refusals per field that change nothing, the lock, the typical bill."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from domain.db import db
from domain.offers.models import Offer, TariffVersion, UnitPrice
from tenants.context import tenant_scope
from tests.factories import BillFactory, ContractFactory, CustomerAccountFactory

BASE = "/backoffice/admin/offers"


@pytest.fixture
def admin(app, browser, make_tenant):
    tenant = make_tenant("tarifa", activities=("electricity", "water"))
    office = browser(tenant.slug)
    office.login(f"admin@{tenant.slug}.test", area="/backoffice")
    office.tenant_id = tenant.id
    return office


def _count(app, tenant_id, model):
    with app.app_context(), tenant_scope(tenant_id):
        return db.session.scalar(select(func.count(model.id)))


def _offer_with_version(admin):
    admin.submit(BASE, {"code": "eau-1", "name": "Eau communale", "activity": "water", "kind": "regulated"})
    admin.submit(f"{BASE}/EAU-1", {"effective_from": "2026-01-01"}, action=f"{BASE}/EAU-1/versions")
    return f"{BASE}/EAU-1/versions/2026-01-01"


def test_an_administrator_creates_an_offer_listed_under_its_activity(admin):
    created = admin.submit(BASE, {"code": "elec-1", "name": "Électricité base", "activity": "electricity",
                                  "kind": "market"})

    assert created.status_code == 302 and created.location.endswith(f"{BASE}/ELEC-1")
    page = admin.get(BASE).get_data(as_text=True)
    assert "<h2>Electricity</h2>" in page and "Électricité base" in page and "ELEC-1" in page
    assert admin.get("/backoffice/admin/").get_data(as_text=True).count('href="/backoffice/admin/offers"') == 1


def test_a_bad_offer_is_refused_per_field_and_nothing_is_created(app, admin):
    refused = admin.submit(BASE, {"code": "é!", "name": "", "activity": "electricity", "kind": "market"})

    text = refused.get_data(as_text=True)
    assert refused.status_code == 422
    assert "Enter a name." in text
    assert _count(app, admin.tenant_id, Offer) == 0
    refused = admin.submit(BASE, {"code": "é!", "name": "Name", "activity": "electricity", "kind": "market"})
    assert "Enter a code of 2 to 40 capital letters, digits, hyphens or underscores." in refused.get_data(as_text=True)
    assert _count(app, admin.tenant_id, Offer) == 0


def test_prices_with_names_per_locale_are_added_to_a_version(app, admin):
    version = _offer_with_version(admin)

    added = admin.submit(version, {"component": "water", "price": "1,45", "tax": "5.5", "tier_from": "0",
                                   "tier_to": "30", "name_fr": "Eau, tranche sociale", "name_en": "Water, social"},
                         action=f"{version}/prices")
    admin.submit(version, {"component": "water", "price": "2.25", "tax": "5.5", "tier_from": "30"},
                 action=f"{version}/prices")

    assert added.status_code == 302
    page = admin.get(version).get_data(as_text=True)
    assert "water_tier1" in page and "Eau, tranche sociale" in page and "water_tier2" in page
    with app.app_context(), tenant_scope(admin.tenant_id):
        prices = db.session.execute(select(UnitPrice.price, UnitPrice.tax_rate, UnitPrice.names)
                                    .order_by(UnitPrice.id)).all()
    assert prices == [(Decimal("1.450000"), Decimal("0.05500"), {"fr": "Eau, tranche sociale", "en": "Water, social"}),
                      (Decimal("2.250000"), Decimal("0.05500"), None)]


@pytest.mark.parametrize("data, message", [
    ({"component": "water", "price": "cheap", "tax": "5.5"}, "Enter an amount of 0 or more, below 1,000"),
    ({"component": "water", "price": "1.5", "tax": "150"}, "Enter a rate in per cent from 0 to 100"),
    ({"component": "water", "price": "1.5", "tax": ""}, "Enter a rate in per cent from 0 to 100"),
    ({"component": "water", "price": "1.5", "tax": "5.5", "tier_from": "30", "tier_to": "10"},
     "A tier ends above the quantity it starts from."),
    ({"component": "water", "price": "1.5", "tax": "5.5", "tier_from": "30"},
     "The billing engine could not price the version so"),
])
def test_a_refused_price_says_why_and_changes_nothing(app, admin, data, message):
    version = _offer_with_version(admin)

    refused = admin.submit(version, data, action=f"{version}/prices")

    assert refused.status_code == 422
    assert message in refused.get_data(as_text=True)
    assert _count(app, admin.tenant_id, UnitPrice) == 0


def test_a_version_an_issued_bill_used_is_locked_and_a_new_one_follows_it(app, admin):
    version = _offer_with_version(admin)
    admin.submit(version, {"component": "water", "price": "2", "tax": "5.5"}, action=f"{version}/prices")
    with app.app_context(), tenant_scope(admin.tenant_id):
        offer_id = db.session.scalar(select(Offer.id))
        account = CustomerAccountFactory()
        contract = ContractFactory(account=account, offer_id=offer_id, start_date=date(2026, 1, 1))
        BillFactory(account=account, contract_id=contract.id, period_start=date(2026, 1, 1),
                    period_end=date(2026, 2, 1))
        db.session.commit()

    page = admin.get(version).get_data(as_text=True)
    token = admin.csrf(version)
    refused = admin.post(f"{version}/prices", {"component": "water", "price": "3", "tax": "5.5",
                                               "csrf_token": token})
    early = admin.submit(f"{BASE}/EAU-1", {"effective_from": "2026-01-15"}, action=f"{BASE}/EAU-1/versions")
    followed = admin.submit(f"{BASE}/EAU-1", {"effective_from": "2026-02-01"}, action=f"{BASE}/EAU-1/versions")

    assert "it can no longer change" in page and "Add a unit price" not in page
    assert refused.status_code == 422 and "it can no longer change" in refused.get_data(as_text=True)
    assert early.status_code == 422 and "Issued bills already cover the days up to" in early.get_data(as_text=True)
    assert followed.status_code == 302 and followed.location.endswith(f"{BASE}/EAU-1/versions/2026-02-01")
    with app.app_context(), tenant_scope(admin.tenant_id):
        assert db.session.execute(select(TariffVersion.effective_from, TariffVersion.effective_to)
                                  .order_by(TariffVersion.effective_from)).all() == [
            (date(2026, 1, 1), date(2026, 2, 1)), (date(2026, 2, 1), None)]
        assert db.session.scalars(select(UnitPrice.price).order_by(UnitPrice.id)).all() == [
            Decimal("2.000000"), Decimal("2.000000")]


def test_the_typical_bill_shows_the_names_customers_read_and_the_engine_totals(admin):
    version = _offer_with_version(admin)
    admin.submit(version, {"prices_include_tax": "", "standing_charge_per_day": "0.085",
                           "standing_charge_tax": "5.5", "name_fr": "Abonnement eau"}, action=version)
    admin.submit(version, {"component": "water", "price": "2.25", "tax": "5.5", "name_fr": "Eau potable"},
                 action=f"{version}/prices")

    page = admin.get(f"{version}/preview?consumption=120&locale=fr").get_data(as_text=True)

    # 365 x 0.085 = 31.025 -> 31.03; 120 m3 x 2.25 = 270.00; 301.03 x 5.5 % = 16.55665 -> 16.56
    assert "Abonnement eau" in page and "Eau potable" in page
    assert "€301.03" in page and "€16.56" in page and "€317.59" in page
    bad = admin.get(f"{version}/preview?consumption=lots")
    assert bad.status_code == 422 and "Enter a consumption of 0 to 1,000,000" in bad.get_data(as_text=True)


def test_an_offer_is_withdrawn_and_offered_again(app, admin):
    _offer_with_version(admin)

    admin.submit(f"{BASE}/EAU-1", {"active": "0"}, action=f"{BASE}/EAU-1/active")

    with app.app_context(), tenant_scope(admin.tenant_id):
        assert db.session.scalar(select(Offer.is_active)) is False
    assert "Withdrawn" in admin.get(BASE).get_data(as_text=True)


def test_other_staff_cannot_open_offers(browser, two_tenants):
    a, _b = two_tenants
    office = browser(a.slug)
    office.login(a.staff_emails["billing"], area="/backoffice")

    assert office.get(BASE).status_code == 403


def test_the_preview_of_a_version_the_engine_cannot_price_says_why(app, admin):
    version = _offer_with_version(admin)
    with app.app_context(), tenant_scope(admin.tenant_id):
        version_id = db.session.scalar(select(TariffVersion.id))
        db.session.add(UnitPrice(tariff_version_id=version_id, component="water", price=Decimal("2"),
                                 tax_rate=Decimal("0.055"), tier_from=Decimal("30")))  # no tier from 0
        db.session.commit()

    page = admin.get(f"{version}/preview")

    assert page.status_code == 422
    assert "The billing engine could not price the version so" in page.get_data(as_text=True)


@pytest.mark.parametrize("data, message", [
    ({"kind": "standing_charge", "code": "metering", "amount": "2", "per": "month", "tax": ""},
     "Enter a rate in per cent from 0 to 100"),
    ({"kind": "standing_charge", "code": "metering", "amount": "2", "per": "", "tax": "20"},
     "Choose per day, per month or per year."),
    ({"kind": "standing_charge", "code": "Metering!", "amount": "2", "per": "month", "tax": "20"},
     "Enter a key of 2 to 40 lower-case letters"),
    ({"kind": "percent_levy", "code": "cta", "amount": "21.93", "base": "nothing", "tax": "5.5"},
     "Enter the keys of the lines of this version the levy is a percentage of."),
])
def test_a_refused_component_says_why_and_changes_nothing(app, admin, data, message):
    from domain.offers.models import TariffComponent

    version = _offer_with_version(admin)

    refused = admin.submit(version, data, action=f"{version}/components")

    assert refused.status_code == 422
    assert message in refused.get_data(as_text=True)
    assert _count(app, admin.tenant_id, TariffComponent) == 0
