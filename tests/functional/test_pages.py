"""The pages that prove the platform: portal, back office, console, branding, languages."""
from __future__ import annotations

import re
from datetime import datetime, UTC

from sqlalchemy import select

from domain.db import db
from domain.identity import services as identity
from tenants.context import platform_scope
from tenants.models import Tenant
from tests.conftest import TEST_PASSWORD


def _operator(app):
    with app.app_context(), platform_scope("test operator"):
        identity.create_operator(email="ops@platform.example.com", full_name="Ops", password=TEST_PASSWORD)
        db.session.commit()


def _set_tenant(app, slug, **values):
    with app.app_context(), platform_scope("test tenant settings"):
        tenant = db.session.scalar(select(Tenant).where(Tenant.slug == slug))
        for key, value in values.items():
            setattr(tenant, key, value)
        db.session.commit()


def test_portal_home_shows_accounts_and_the_point_of_delivery_to_read(two_tenants, browser, clock):
    a, _ = two_tenants
    # In the reading window of the factories' meter (read 1 Oct, reminder until 30 Nov): the home names the point.
    clock.move_to(datetime(2026, 11, 28, 9, 0, tzinfo=UTC))
    portal = browser(a.slug)
    portal.login(a.customer_email)

    text = portal.get("/").get_data(as_text=True)

    assert a.account_number in text
    assert a.delivery_point_identifier in text
    assert "Electricity" in text
    assert "Alpha Utility" in text


def test_portal_account_page_lists_meters_and_offers(two_tenants, browser):
    a, _ = two_tenants
    portal = browser(a.slug)
    portal.login(a.customer_email)

    text = portal.get(f"/accounts/{a.account_number}").get_data(as_text=True)

    assert a.delivery_point_identifier in text and "Base offer" in text and "rue des Lilas" in text


def test_signed_out_portal_sends_to_sign_in(two_tenants, browser):
    a, _ = two_tenants

    response = browser(a.slug).get("/")

    assert response.status_code == 302 and response.headers["Location"].startswith("/login")


def test_back_office_home_search_and_customer_file(two_tenants, browser):
    a, _ = two_tenants
    office = browser(a.slug)
    office.login(a.staff_emails["tenant_admin"], area="/backoffice")

    home = office.get("/backoffice/").get_data(as_text=True)
    found = office.get(f"/backoffice/customers?q={a.delivery_point_identifier}").get_data(as_text=True)
    by_name = office.get("/backoffice/customers?q=martin").get_data(as_text=True)
    file = office.get(f"/backoffice/customers/{a.account_number}").get_data(as_text=True)
    history = office.get(f"/backoffice/customers/{a.account_number}/history").get_data(as_text=True)

    assert "active accounts" in home and "Work queues" in home
    assert "1 customer found" in found and a.account_number in found
    assert a.account_number in by_name or "0 customers found" in by_name
    assert a.delivery_point_identifier in file and "alpha.customer@example.test" in file
    assert "Account · created" in history


def test_console_lists_tenants_with_usage_and_suspends_one(app, two_tenants, browser):
    a, b = two_tenants
    _operator(app)
    console = browser("localhost")
    console.login("ops@platform.example.com", area="/console")

    page = console.get("/console/").get_data(as_text=True)
    suspend = console.submit(f"/console/tenants/{b.slug}/suspend", {"confirm": "y"},
                             action=f"/console/tenants/{b.slug}/status/suspended")
    suspended_portal = browser(b.slug).get("/login")
    still_open = browser(a.slug).get("/login")

    assert "Alpha Utility" in page and "Bravo Utility" in page
    assert re.search(r'<td class="num"[^>]*>1</td>', page)  # one account per tenant, counted inside each tenant
    assert suspend.status_code == 302
    assert suspended_portal.status_code == 503 and "suspended" in suspended_portal.get_data(as_text=True)
    assert still_open.status_code == 200


def test_console_needs_an_operator(two_tenants, browser):
    response = browser("localhost").get("/console/")

    assert response.status_code == 302 and "/console/login" in response.headers["Location"]


def test_tenant_users_cannot_sign_in_to_the_console(two_tenants, browser):
    a, _ = two_tenants

    response = browser("localhost").login(a.staff_emails["tenant_admin"], area="/console")

    assert "not right" in response.get_data(as_text=True)


def test_platform_root_leads_to_the_console(browser):
    response = browser("localhost").get("/")

    assert response.status_code == 302 and response.headers["Location"].endswith("/console/")


def test_custom_domain_resolves_to_its_tenant(app, two_tenants, browser):
    a, _ = two_tenants
    _set_tenant(app, a.slug, custom_domain="client.alpha-water.example")

    page = browser("client.alpha-water.example").get("/login")

    assert page.status_code == 200 and "Alpha Utility" in page.get_data(as_text=True)


def test_branding_colours_and_logo_on_every_page(app, two_tenants, browser):
    a, _ = two_tenants
    _set_tenant(app, a.slug, primary_colour="#123456")
    portal = browser(a.slug)

    page = portal.get("/login").get_data(as_text=True)
    css = portal.get("/brand.css").get_data(as_text=True)

    assert 'href="/brand.css"' in page and 'src="/brand/logo"' in page
    assert "--brand:#123456" in css


def test_pages_load_no_asset_from_another_host(two_tenants, browser):
    a, _ = two_tenants
    portal = browser(a.slug)
    portal.login(a.customer_email)

    for path in ("/", f"/accounts/{a.account_number}", "/password/change"):
        html = portal.get(path).get_data(as_text=True)
        external = re.findall(r'(?:src|href)="(?:https?:)?//[^"]+"', html)
        assert external == [], f"{path} loads {external}"
        assert "<script>" not in html and " style=" not in html  # the CSP forbids inline code and styles


def test_tenant_default_language_then_browser_then_user_choice(app, two_tenants, browser):
    a, _ = two_tenants
    _set_tenant(app, a.slug, default_locale="fr")
    portal = browser(a.slug)

    default = portal.get("/login").get_data(as_text=True)
    portal.submit("/login", {"locale": "de", "next": "/login"}, action="/language")
    chosen = portal.get("/login").get_data(as_text=True)

    assert '<html lang="fr">' in default and "Connectez-vous à votre compte" in default
    assert '<html lang="de">' in chosen


def test_signed_in_users_language_is_remembered_on_their_profile(app, two_tenants, browser):
    from domain.identity.models import CustomerUser
    from tenants.context import tenant_scope

    a, _ = two_tenants
    portal = browser(a.slug)
    portal.login(a.customer_email)

    portal.submit("/", {"locale": "es", "next": "/"}, action="/language")

    with app.app_context(), tenant_scope(a.tenant_id):
        assert db.session.scalar(select(CustomerUser.locale).where(CustomerUser.email == a.customer_email)) == "es"


def test_browser_language_is_used_when_nothing_else_is_set(two_tenants, browser):
    a, _ = two_tenants

    page = browser(a.slug).get("/login", headers={"Accept-Language": "es-ES,es;q=0.9"}).get_data(as_text=True)

    # A first visit follows the browser among the platform's languages, before the tenant's default (en).
    assert '<html lang="es">' in page


def test_money_and_dates_follow_the_locale(app):
    from datetime import date
    from decimal import Decimal

    from flask_babel import force_locale

    from app.i18n import _date, money

    with app.test_request_context():
        with force_locale("fr"):
            fr = money(Decimal("1234.5"), "EUR"), _date(date(2026, 3, 1))
        with force_locale("en"):
            en = money(Decimal("1234.5"), "EUR"), _date(date(2026, 3, 1))

    assert fr[0].replace("\u202f", " ").replace("\xa0", " ") == "1 234,50 €"
    assert en[0] == "€1,234.50"
    assert "mars" in fr[1] and "Mar" in en[1]


def test_unknown_page_is_a_clear_404(two_tenants, browser):
    a, _ = two_tenants

    response = browser(a.slug).get("/no/such/page")

    assert response.status_code == 404 and "Page not found" in response.get_data(as_text=True)
