"""The administration's billing, payment and mail settings pages pass axe-core (WCAG 2.1 A/AA) at 1280 and 375 px
in the four languages, fit a phone, and so do their pages with errors. Set BACKOFFICE_SCREENSHOTS=<folder> to keep
a screenshot of each."""
from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from app.i18n import LOCALES
from tests.browser.test_backoffice_accessibility import _check
from tests.conftest import TEST_PASSWORD

PAGES = ["/backoffice/admin/", "/backoffice/admin/billing", "/backoffice/admin/payments", "/backoffice/admin/mail"]


@pytest.mark.parametrize("language", LOCALES)
def test_settings_pages_pass_axe_and_fit_a_phone(app, site, make_tenant, language):
    from tests.factories import populate_tenant

    tenant = make_tenant("alpha")
    with app.app_context():
        data = populate_tenant(tenant)
    found: list[str] = []
    office = site(data.slug)
    office.goto("/backoffice/login")
    office.page.fill("#email", data.staff_emails["tenant_admin"])
    office.page.fill("#password", TEST_PASSWORD)
    office.page.click("button[type=submit].btn-primary")
    office.page.wait_for_load_state()
    office.second_step(app, data.staff_emails["tenant_admin"])
    assert urlsplit(office.page.url).path == "/backoffice/"
    office.choose_language(language)

    _check(office, app, PAGES, found, language, crawl=False)
    # The pages with their errors: a payment method that is not set up, an SMTP server without a host.
    office.goto("/backoffice/admin/payments")
    office.page.uncheck("#methods-0")
    office.page.uncheck("#methods-1")
    office.page.uncheck("#methods-2")
    office.page.click("form[action$='/payments/methods'] button[type=submit]")
    office.page.wait_for_load_state()
    office.goto("/backoffice/admin/mail")
    office.page.check("#server-1")
    office.page.click("form[action$='/admin/mail'] button[type=submit]")
    office.page.wait_for_load_state()
    assert office.page.locator(".error-summary").count() == 1
    for v in office.axe():
        found.append(f"[{language}] mail page with errors: {v['rule']} ({v['impact']}) {v['help']} at {v['nodes']}")

    assert not found, "accessibility problems:\n" + "\n".join(found)
