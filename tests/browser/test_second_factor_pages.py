"""Two-step sign-in in a real browser, in the four languages: an administrator without a second factor enrols at
sign-in (QR code, key, code from the app), gets their recovery codes, and signs in again with a code; each page
passes axe-core (WCAG 2.1 A/AA) at 1280 and 375 px and none scrolls sideways on a phone.
Set SECOND_FACTOR_SCREENSHOTS=<folder> to keep a screenshot of each page."""
from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit

import pyotp
import pytest

from app.i18n import LOCALES
from tests.conftest import TEST_PASSWORD

SCREENSHOTS = os.environ.get("SECOND_FACTOR_SCREENSHOTS")
EMAIL = "new.admin@alpha.test"


@pytest.fixture
def alpha(app, make_tenant):
    from domain.db import db
    from tenants.context import tenant_scope
    from tests.factories import StaffRoleGrantFactory, StaffUserFactory

    tenant = make_tenant("alpha")
    with app.app_context(), tenant_scope(tenant.id):
        StaffRoleGrantFactory(user=StaffUserFactory(email=EMAIL, full_name="New Admin"), role="tenant_admin")
        db.session.commit()
    return tenant


def _look(site, name: str, language: str, found: list[str]) -> None:
    for width in (1280, 375):
        site.page.set_viewport_size({"width": width, "height": 900})
        for v in site.axe():
            found.append(f"[{language}] {name} at {width} px: {v['rule']} ({v['impact']}) {v['help']} at {v['nodes']}")
        if SCREENSHOTS:
            Path(SCREENSHOTS).mkdir(parents=True, exist_ok=True)
            site.page.screenshot(path=str(Path(SCREENSHOTS) / f"{language}_{name}_{width}.png"), full_page=True)
        overflow = site.horizontal_overflow()
        if overflow > 0:
            found.append(f"[{language}] {name}: {overflow} px wider than a {width} px screen")
    site.page.set_viewport_size({"width": 1280, "height": 900})


@pytest.mark.parametrize("language", LOCALES)
def test_enrolment_and_second_step_pages_pass_axe_in_every_language(app, site, alpha, language):
    found: list[str] = []
    office = site("alpha")
    office.goto("/backoffice/login")
    office.choose_language(language)
    office.page.fill("#email", EMAIL)
    office.page.fill("#password", TEST_PASSWORD)
    office.page.click("button[type=submit].btn-primary")
    office.page.wait_for_load_state()

    assert urlsplit(office.page.url).path == "/backoffice/login/second-factor"
    _look(office, "enrol", language, found)
    office.page.fill("#code", "000000")
    office.page.click("button[type=submit].btn-primary")
    office.page.wait_for_load_state()
    assert office.page.locator(".error-summary").count() == 1
    _look(office, "enrol-error", language, found)
    secret = office.page.inner_text("#totp-secret").replace(" ", "")
    office.page.fill("#code", pyotp.TOTP(secret).now())
    office.page.click("button[type=submit].btn-primary")
    office.page.wait_for_load_state()
    assert office.page.locator(".recovery-codes li").count() == 10
    _look(office, "recovery-codes", language, found)
    office.page.click("a.btn-primary")
    office.page.wait_for_load_state()
    assert urlsplit(office.page.url).path == "/backoffice/"
    office.goto("/backoffice/account/second-factor")
    _look(office, "account", language, found)
    office.page.click(".nav-account button[type=submit]")  # sign out
    office.page.wait_for_load_state()
    office.page.fill("#email", EMAIL)
    office.page.fill("#password", TEST_PASSWORD)
    office.page.click("button[type=submit].btn-primary")
    office.page.wait_for_load_state()
    assert urlsplit(office.page.url).path == "/backoffice/login/code"
    _look(office, "second-step", language, found)
    office.second_step(app, EMAIL)

    assert urlsplit(office.page.url).path == "/backoffice/"
    assert not found, "accessibility problems:\n" + "\n".join(found)
