"""The console's wizard creating a utility: four steps, defaults from the country, errors per field, nothing created
until the last step, the first administrator invited by e-mail."""
from __future__ import annotations

import html
import re

from sqlalchemy import select

from domain.db import db
from domain.identity import services as identity
from domain.identity.models import StaffUser
from tenants.context import platform_scope, tenant_scope
from tenants.models import Tenant
from tests.conftest import TEST_PASSWORD

WIZARD = "/console/tenants/new"
UTILITY = {"step": "utility", "name": "Riverside Water", "slug": "riverside", "custom_domain": "",
           "activities": ["water", "heating"], "country": "ES"}


def _console(app, browser):
    with app.app_context(), platform_scope("test operator"):
        identity.create_operator(email="ops@platform.example.com", full_name="Ops", password=TEST_PASSWORD)
        db.session.commit()
    console = browser("localhost")
    console.login("ops@platform.example.com", area="/console")
    return console


def _tenants(app) -> list[Tenant]:
    with app.app_context(), platform_scope("test: tenants"):
        return list(db.session.scalars(select(Tenant)))


def _value(page, name) -> str | None:
    found = re.search(rf'name="{name}"[^>]*value="([^"]*)"', page) or re.search(
        rf'value="([^"]*)"[^>]*name="{name}"', page)
    return found.group(1) if found else None


def _selected(page, name) -> str | None:
    select_ = re.search(rf'<select[^>]*name="{name}".*?</select>', page, re.S)
    found = select_ and re.search(r'<option selected value="([^"]*)"|<option value="([^"]*)" selected',
                                  select_.group(0))
    return (found.group(1) or found.group(2)) if found else None


def test_wizard_fills_settings_from_the_country_and_invites_the_administrator(app, browser, outbox):
    console = _console(app, browser)
    assert 'href="/console/tenants/new"' in console.get("/console/").get_data(as_text=True)

    settings = console.submit(WIZARD, {**UTILITY, "go": "next"})
    page = settings.get_data(as_text=True)
    assert settings.status_code == 200 and "Regional settings" in page
    assert _value(page, "currency") == "EUR" and _value(page, "timezone") == "Europe/Madrid"
    assert _selected(page, "default_locale") == "es"
    assert 'value="Atlantic/Canary"' in page  # the country's other zones are offered

    carried = {"name": "Riverside Water", "slug": "riverside", "custom_domain": "", "activities": ["water", "heating"],
               "country": "ES", "defaults_for": "ES", "default_locale": "es", "currency": "EUR",
               "timezone": "Atlantic/Canary"}
    admin = console.submit(WIZARD, {**carried, "step": "settings", "go": "next"})
    assert "First administrator" in admin.get_data(as_text=True)
    review = console.submit(WIZARD, {**carried, "step": "administrator", "go": "next", "admin_name": "Lucía Gómez",
                                     "admin_email": "lucia@riverside.example.com", "admin_locale": ""})
    review_text = review.get_data(as_text=True)
    assert "Check and create" in review_text and "riverside.localhost" in review_text
    assert _tenants(app) == []  # nothing before the last step

    created = console.submit(WIZARD, {**carried, "step": "review", "go": "create", "admin_name": "Lucía Gómez",
                                      "admin_email": "lucia@riverside.example.com", "admin_locale": ""})

    assert created.status_code == 302 and created.headers["Location"].endswith("/console/")
    [tenant] = _tenants(app)
    assert (tenant.slug, tenant.country, tenant.currency, tenant.timezone, tenant.default_locale) == (
        "riverside", "ES", "EUR", "Atlantic/Canary", "es")
    assert tenant.activities == ["water", "heating"]
    with app.app_context(), tenant_scope(tenant.id):
        admin_user = db.session.scalar(select(StaffUser))
        assert admin_user.roles == {"tenant_admin"} and admin_user.email == "lucia@riverside.example.com"
    [mail] = outbox()
    body = mail.get_body(("plain",)).get_content()
    assert mail["To"] == "lucia@riverside.example.com"
    assert "http://riverside.localhost/backoffice/invitation/" in body
    assert "Riverside Water" in console.get("/console/").get_data(as_text=True)


def test_each_step_reports_its_fields_errors_and_creates_nothing(app, browser, make_tenant, outbox):
    make_tenant("taken")
    console = _console(app, browser)

    first = console.submit(WIZARD, {"step": "utility", "go": "next", "name": "", "slug": "Bad Slug",
                                    "custom_domain": "not a domain", "country": "QQ"})
    taken = console.submit(WIZARD, {**UTILITY, "slug": "taken", "go": "next"})
    settings = console.submit(WIZARD, {**UTILITY, "step": "settings", "go": "next", "default_locale": "xx",
                                       "currency": "EURO", "timezone": "Mars/Olympus"})
    admin = console.submit(WIZARD, {**UTILITY, "step": "administrator", "go": "next", "default_locale": "es",
                                    "currency": "EUR", "timezone": "Europe/Madrid", "admin_name": "",
                                    "admin_email": "nobody"})

    text = html.unescape(first.get_data(as_text=True))
    assert first.status_code == 422
    for message in ("Enter the utility's name.", "Use 1 to 40 lower-case letters",
                    "Enter a host name such as customers.example.com", "Choose at least one activity.",
                    "Choose the country from the list."):
        assert message in text, message
    assert taken.status_code == 422 and "Another utility already has this web address." in taken.get_data(
        as_text=True)
    settings_text = settings.get_data(as_text=True)
    assert settings.status_code == 422
    assert "Choose a language from the list." in settings_text
    assert "Enter a currency code of three letters" in settings_text
    assert "Enter a time zone such as Europe/Paris." in settings_text
    admin_text = html.unescape(admin.get_data(as_text=True))
    assert "Enter the administrator's full name." in admin_text and "Enter a valid e-mail address" in admin_text
    assert [t.slug for t in _tenants(app)] == ["taken"] and outbox() == []


def test_a_slug_taken_meanwhile_sends_back_to_the_first_step_with_nothing_created(app, browser, make_tenant):
    console = _console(app, browser)
    complete = {**UTILITY, "step": "review", "go": "create", "default_locale": "es", "currency": "EUR",
                "timezone": "Europe/Madrid", "admin_name": "Lucía", "admin_email": "lucia@example.com"}
    make_tenant("riverside")  # another operator was quicker

    response = console.submit(WIZARD, complete)

    text = response.get_data(as_text=True)
    assert response.status_code == 422 and "Another utility already has this web address." in text
    assert 'aria-current="step"' in text and _value(text, "step") == "utility"
    assert len(_tenants(app)) == 1


def test_back_and_change_keep_what_was_entered(app, browser):
    console = _console(app, browser)
    carried = {**UTILITY, "default_locale": "fr", "currency": "CHF", "timezone": "Europe/Zurich",
               "defaults_for": "ES"}

    back = console.submit(WIZARD, {**carried, "step": "settings", "go": "back"}).get_data(as_text=True)
    change = console.submit(WIZARD, {**carried, "step": "review", "go": "edit:settings"}).get_data(as_text=True)

    assert _value(back, "name") == "Riverside Water" and _value(back, "currency") == "CHF"
    assert _value(change, "currency") == "CHF" and _selected(change, "default_locale") == "fr"


def test_wizard_is_for_operators_only(app, browser, two_tenants):
    anonymous = browser("localhost").get(WIZARD)
    a, _b = two_tenants
    office = browser(a.slug)
    office.login(a.staff_emails["tenant_admin"], area="/backoffice")

    assert anonymous.status_code == 302 and "/console/login" in anonymous.headers["Location"]
    assert office.get(WIZARD).status_code == 404
