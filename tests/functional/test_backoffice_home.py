"""The back-office home's figures are written the staff member's way and lead to their work."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from domain.db import db
from domain.identity.models import StaffUser
from tenants.context import tenant_scope


@pytest.fixture
def big_utility(monkeypatch):
    from backoffice import views

    monkeypatch.setattr(views, "home_figures", lambda: {
        "accounts": 125000, "contracts": 210345, "pending_readings": 1204, "open_requests": 3500, "queues": []})


def test_figures_have_the_languages_thousands_separator(app, browser, two_tenants, big_utility):
    a = two_tenants[0]
    with app.app_context(), tenant_scope(a.tenant_id):
        db.session.scalar(select(StaffUser).where(StaffUser.email == a.staff_emails["agent"])).locale = "de"
        db.session.commit()
    office = browser(a.slug)
    office.login(a.staff_emails["agent"], area="/backoffice")

    html = office.get("/backoffice/").get_data(as_text=True)

    assert '<span class="figure-value">125.000</span>' in html and '<span class="figure-value">210.345</span>' in html
    assert '<span class="figure-value">3.500</span>' in html and "125000" not in html


def test_open_requests_lead_to_the_requests_list(browser, two_tenants):
    a = two_tenants[0]
    office = browser(a.slug)
    office.login(a.staff_emails["agent"], area="/backoffice")

    html = office.get("/backoffice/").get_data(as_text=True)

    assert '<a class="figure-label" href="/backoffice/requests">open requests</a>' in html


def test_the_area_badge_and_title_are_translated_in_spanish(app, browser, two_tenants):
    a = two_tenants[0]
    with app.app_context(), tenant_scope(a.tenant_id):
        db.session.scalar(select(StaffUser).where(StaffUser.email == a.staff_emails["agent"])).locale = "es"
        db.session.commit()
    office = browser(a.slug)
    office.login(a.staff_emails["agent"], area="/backoffice")

    html = office.get("/backoffice/").get_data(as_text=True)

    assert '<span class="area-badge">Área de empleados</span>' in html and "Back office" not in html
