"""The identity and portal pages sections and the portal's legal pages pass axe-core (WCAG 2.1 A/AA) in the four
languages at 1280 and 375 px, with their error messages shown, and fit a phone's width.
Set BRAND_SCREENSHOTS=<folder> to keep a screenshot of each page."""
from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from app.i18n import LOCALES
from domain.db import db
from tenants.context import platform_scope
from tenants.models import Tenant
from tests.conftest import TEST_PASSWORD

SCREENSHOTS = os.environ.get("BRAND_SCREENSHOTS")


@pytest.fixture
def alpha(app, make_tenant):
    tenant = make_tenant("alpha")
    with app.app_context(), platform_scope("test: identity"):
        row = db.session.get(Tenant, tenant.id)
        row.legal_name, row.vat_number, row.company_registration = "Alpha Énergie SA", "FR40303265045", "RCS 552"
        row.registered_office, row.support_phone = "10 place Bellecour\n69002 Lyon", "04 72 00 00 00"
        row.support_hours, row.support_email = "Mon-Fri 8:00-18:00", "service@alpha.example"
        row.emergency_phones = {"gas": "0800 47 33 33"}
        row.ombudsman, row.ombudsman_contact = "Médiateur national de l'énergie", "www.energie-mediateur.fr"
        db.session.commit()
    return tenant


def _look(site, path: str, language: str, found: list[str]) -> None:
    for width in (1280, 375):
        site.page.set_viewport_size({"width": width, "height": 900})
        for v in site.axe():
            found.append(f"[{language}] {path} at {width} px: {v['rule']} ({v['impact']}) {v['help']} at {v['nodes']}")
        if width == 375 and site.horizontal_overflow() > 0:
            found.append(f"[{language}] {path}: wider than a phone")
        if SCREENSHOTS:
            folder = Path(SCREENSHOTS)
            folder.mkdir(parents=True, exist_ok=True)
            name = f"{language}_{path.strip('/').replace('/', '_')}_{width}.png"
            site.page.screenshot(path=str(folder / name), full_page=True)
    site.page.set_viewport_size({"width": 1280, "height": 900})


@pytest.mark.parametrize("language", LOCALES)
def test_identity_and_pages_pass_axe_in_every_language(app, site, alpha, language):
    found: list[str] = []
    office = site(alpha.slug)
    office.goto("/backoffice/login")
    office.page.fill("#email", "admin@alpha.test")
    office.page.fill("#password", TEST_PASSWORD)
    office.page.click("button[type=submit].btn-primary")
    office.page.wait_for_load_state()
    office.second_step(app, "admin@alpha.test")
    office.choose_language(language)

    for path in ("/backoffice/admin/identity", "/backoffice/admin/pages", "/backoffice/admin/pages/privacy/en"):
        assert office.goto(path).status == 200
        _look(office, path, language, found)
    office.goto("/backoffice/admin/identity")
    office.page.fill("#primary_colour", "#f2a900")
    office.page.click("#section-colours button[type=submit]")
    office.page.wait_for_load_state()
    assert office.page.locator(".error-summary").count() == 1
    _look(office, "/backoffice/admin/identity/colours-error", language, found)
    office.goto("/backoffice/admin/pages/help/en")
    office.page.click("button[value=preview]")
    office.page.wait_for_load_state()
    _look(office, "/backoffice/admin/pages/help/preview", language, found)

    visitor = site(alpha.slug)
    visitor.goto("/login")
    visitor.choose_language(language)
    for page in ("legal-notice", "privacy", "cookies", "accessibility", "contact", "help"):
        path = f"/legal/{page}"
        assert visitor.goto(path).status == 200
        assert urlsplit(visitor.page.url).path == path
        _look(visitor, path, language, found)

    assert not found, "accessibility problems:\n" + "\n".join(found)
