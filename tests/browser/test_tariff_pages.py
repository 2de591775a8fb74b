"""Offers and tariffs in the administration area pass axe-core (WCAG 2.1 A/AA) at 1280 and 375 px, fit a phone, in
the four languages: the offers, an offer, a version with every kind of component, its typical bill, a refused form.
Set BACKOFFICE_SCREENSHOTS=<folder> to keep a screenshot of each."""
from __future__ import annotations

from datetime import date
from urllib.parse import urlsplit

import pytest

from app.i18n import LOCALES
from tests.browser.test_backoffice_accessibility import _check
from tests.conftest import TEST_PASSWORD


@pytest.fixture
def tariff_data(app, make_tenant):
    from domain.audit.actor import Actor, acting_as
    from domain.db import db
    from domain.offers import tariffs
    from tenants.context import tenant_scope

    tenant = make_tenant("alpha")
    with app.app_context(), tenant_scope(tenant.id), acting_as(Actor("staff", None, "test")):
        offer = tariffs.create_offer(code="ELEC-BASE", name="Électricité base", activity="electricity",
                                     kind="regulated")
        version = tariffs.create_version(offer=offer, effective_from=date(2026, 1, 1))
        tariffs.update_version(version=version, prices_include_tax=False, standing_charge_per_day="0.1500",
                               standing_charge_tax_percent="5.5", standing_charge_names={"fr": "Abonnement"})
        tariffs.add_component(version=version, kind="standing_charge", code="network", amount="36.00", per="year",
                              tax_percent="5.5", names={"fr": "Acheminement", "en": "Network"})
        tariffs.add_component(version=version, kind="percent_levy", code="cta", amount="21.93", base=["network"],
                              tax_percent="5.5", names={"fr": "Contribution tarifaire d'acheminement"})
        tariffs.add_unit_price(version=version, component="energy", price="0.2516", tax_percent="20",
                               register_code="PEAK", names={"fr": "Heures pleines"})
        tariffs.add_unit_price(version=version, component="energy", price="0.2068", tax_percent="20",
                               register_code="OFFPEAK", names={"fr": "Heures creuses"})
        tariffs.add_unit_price(version=version, component="subscribed_power", price="12.00", tax_percent="5.5")
        tariffs.add_component(version=version, kind="included_part", code="excise", amount="0.0225", base="energy",
                              names={"fr": "Accise sur l'électricité"})
        tariffs.create_version(offer=offer, effective_from=date(2026, 8, 1))
        db.session.commit()
    return tenant


@pytest.mark.parametrize("language", LOCALES)
def test_tariff_pages_pass_axe_and_fit_a_phone(app, site, tariff_data, language):
    office = site(tariff_data.slug)
    office.goto("/backoffice/login")
    office.page.fill("#email", f"admin@{tariff_data.slug}.test")
    office.page.fill("#password", TEST_PASSWORD)
    office.page.click("button[type=submit].btn-primary")
    office.page.wait_for_load_state()
    office.second_step(app, f"admin@{tariff_data.slug}.test")
    assert urlsplit(office.page.url).path == "/backoffice/"
    office.choose_language(language)
    version = "/backoffice/admin/offers/ELEC-BASE/versions/2026-01-01"
    found: list[str] = []

    _check(office, app, ["/backoffice/admin/", "/backoffice/admin/offers", "/backoffice/admin/offers/ELEC-BASE",
                         version, "/backoffice/admin/offers/ELEC-BASE/versions/2026-08-01",
                         f"{version}/preview?consumption=6000&power=9&locale={language}",
                         f"{version}/preview?consumption=lots"], found, language, crawl=False)
    office.goto("/backoffice/admin/offers")
    office.page.fill("#code", "!")
    office.page.click("form[method=post] button[type=submit].btn-primary")
    office.page.wait_for_load_state()
    for violation in office.axe():
        found.append(f"[{language}] refused offer form: {violation['rule']} {violation['help']} {violation['nodes']}")

    assert not found, "accessibility problems:\n" + "\n".join(found)
