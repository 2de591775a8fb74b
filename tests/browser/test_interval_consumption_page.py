"""The consumption page with a smart meter's daily totals, in a real browser: no WCAG 2.1 A/AA violation (axe), the
daily table and chart laid out without overflow, in French."""
from __future__ import annotations

import os

from sqlalchemy import select

from domain.db import db
from domain.identity.models import CustomerUser
from tenants.context import tenant_scope
from tests.conftest import TEST_PASSWORD
from tests.functional.test_portal_consumption import _setup
from tests.functional.test_portal_interval_consumption import _with_interval_data


def test_daily_totals_pass_axe_and_fit_the_page(app, two_tenants, site):
    a, _b = two_tenants
    _setup(app, a)
    _with_interval_data(app, a)
    with app.app_context(), tenant_scope(a.tenant_id):
        db.session.scalar(select(CustomerUser).where(CustomerUser.email == a.customer_email)).locale = "fr"
        db.session.commit()
    portal = site(a.slug, width=1280)
    portal.sign_in(a.customer_email, TEST_PASSWORD)

    portal.goto("/consumption")
    page = portal.page
    rows = page.locator(".daily-table tbody tr").count()
    caption = page.locator("#daily-caption").inner_text()
    violations = portal.axe()
    if os.environ.get("PORTAL_SCREENSHOTS"):
        page.locator(".daily-consumption").screenshot(
            path=os.path.join(os.environ["PORTAL_SCREENSHOTS"], "consumption-daily.png"))

    assert rows == 10 and caption.startswith("Consommation quotidienne en m³")
    assert violations == [] and portal.horizontal_overflow() == 0
