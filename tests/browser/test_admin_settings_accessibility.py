"""The administration's billing, payment and mail settings pages and its API keys pages pass axe-core (WCAG 2.1
A/AA) at 1280 and 375 px in the four languages, fit a phone, and so do their pages with errors. Set
BACKOFFICE_SCREENSHOTS=<folder> to keep a screenshot of each."""
from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from app.i18n import LOCALES
from tests.browser.test_backoffice_accessibility import SCREENSHOTS, _check, _screenshot
from tests.conftest import TEST_PASSWORD

PAGES = ["/backoffice/admin/", "/backoffice/admin/billing", "/backoffice/admin/payments", "/backoffice/admin/mail",
         "/backoffice/admin/api-keys", "/backoffice/admin/api-keys/new", "/backoffice/admin/api-calls"]


def _api_keys(app, tenant_id) -> str:
    """A used key, a revoked one and an expiring one, so the keys list and the call log have rows of every kind;
    returns the used key's page."""
    from datetime import timedelta

    from sqlalchemy import select

    from domain.apikeys.models import ApiKey
    from domain.apikeys.services import revoke_key
    from domain.db import db, utcnow
    from tenants.context import tenant_scope
    from tests.api_support import api_client, make_api_key

    used = make_api_key(app, tenant_id, name="Customer relationship system", scopes={"customers:read", "bills:read"})
    client = app.test_client()
    for path in ("/api/v1/key", "/api/v1/no-such-thing", "/api/v1/key"):
        api_client(client, used).get(path)
    make_api_key(app, tenant_id, name="Meter data platform", scopes={"readings:write"},
                 expires_at=utcnow() + timedelta(days=90))
    make_api_key(app, tenant_id, name="Old accounting export", scopes={"payments:read"})
    with app.app_context(), tenant_scope(tenant_id):
        keys = {k.name: k for k in db.session.scalars(select(ApiKey))}
        revoke_key(key=keys["Old accounting export"], now=utcnow(), staff_id=None)
        db.session.commit()
        return f"/backoffice/admin/api-keys/{keys['Customer relationship system'].public_id}"


@pytest.mark.parametrize("language", LOCALES)
def test_settings_pages_pass_axe_and_fit_a_phone(app, site, make_tenant, language):
    from tests.factories import populate_tenant

    tenant = make_tenant("alpha")
    with app.app_context():
        data = populate_tenant(tenant)
    key_page = _api_keys(app, data.tenant_id)
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

    _check(office, app, [*PAGES, key_page], found, language, crawl=False)
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
    # A new key with nothing filled in (its errors), then one created (the page that shows its token once).
    office.goto("/backoffice/admin/api-keys/new")
    office.page.fill("#rate_limit_per_minute", "0")
    office.page.click("main form button[type=submit]")
    office.page.wait_for_load_state()
    assert office.page.locator(".error-summary li").count() == 3
    _axe_both_widths(office, found, f"[{language}] new key with errors", f"{language}/api-key-errors")
    office.page.fill("#name", "Billing export")
    office.page.check("input[name=scopes][value='bills:read']")
    office.page.fill("#rate_limit_per_minute", "600")
    office.page.click("main form button[type=submit]")
    office.page.wait_for_load_state()
    assert office.page.locator("#token").input_value().startswith(f"uak_{data.slug}_")
    _axe_both_widths(office, found, f"[{language}] new key's token", f"{language}/api-key-created")

    assert not found, "accessibility problems:\n" + "\n".join(found)


def _axe_both_widths(office, found: list[str], label: str, shot: str) -> None:
    for width in (1280, 375):
        office.page.set_viewport_size({"width": width, "height": 900})
        for v in office.axe():
            found.append(f"{label} at {width} px: {v['rule']} ({v['impact']}) {v['help']} at {v['nodes']}")
        if SCREENSHOTS:
            _screenshot(office.page, shot, width)
        if width == 375 and office.horizontal_overflow() > 0:
            found.append(f"{label}: {office.horizontal_overflow()} px wider than a 375 px screen")
    office.page.set_viewport_size({"width": 1280, "height": 900})
