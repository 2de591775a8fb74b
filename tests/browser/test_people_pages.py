"""Staff administration, the join page of an invitation and the console's wizard pass axe-core (WCAG 2.1 A/AA) at
1280 and 375 px in the four languages, and the wizard creates a utility in Chromium. Set BACKOFFICE_SCREENSHOTS=<folder>
to keep a screenshot of each page."""
from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from app.i18n import LOCALES
from tests.browser.conftest import Site
from tests.browser.test_backoffice_accessibility import NARROW, SCREENSHOTS, _check, _screenshot
from tests.conftest import TEST_PASSWORD
from tests.factories import OperatorSecondFactorFactory


@pytest.fixture
def people_data(app, make_tenant):
    from domain.db import db, utcnow
    from domain.identity import staff as staff_admin
    from domain.identity.models import StaffUser
    from tenants.context import tenant_scope
    from tests.factories import populate_tenant

    tenant = make_tenant("alpha")
    with app.app_context():
        data = populate_tenant(tenant)
        with tenant_scope(data.tenant_id):
            sent = staff_admin.invite_staff(email="nadia@alpha.test", full_name="Nadia Haddad",
                                            roles=["agent", "billing"], work_group_codes=["metering"], locale=None,
                                            by=None, now=utcnow())
            db.session.commit()
            agent = db.session.scalar(select(StaffUser.public_id).where(StaffUser.email == data.staff_emails["agent"]))
            return data, agent, sent.user.public_id, sent.token


def _axe_here(site, found, label, language):
    for width in (1280, NARROW):
        site.page.set_viewport_size({"width": width, "height": 900})
        for v in site.axe():
            found.append(f"[{language}] {label} at {width} px: {v['rule']} ({v['impact']}) {v['help']} at {v['nodes']}")
        if SCREENSHOTS:
            _screenshot(site.page, f"{language}/{label}", width)
    if site.horizontal_overflow() > 0:
        found.append(f"[{language}] {label}: wider than a {NARROW} px screen")
    site.page.set_viewport_size({"width": 1280, "height": 900})


@pytest.mark.parametrize("language", LOCALES)
def test_staff_pages_and_the_join_page_pass_axe(app, site, people_data, language):
    data, agent, invited, token = people_data
    found: list[str] = []
    newcomer = site(data.slug)
    newcomer.goto("/backoffice/login")
    newcomer.choose_language(language)
    newcomer.goto(f"/backoffice/invitation/{token}")
    _axe_here(newcomer, found, "join", language)
    newcomer.page.click("button[type=submit].btn-primary")  # nothing typed: the page with its errors
    newcomer.page.wait_for_load_state()
    _axe_here(newcomer, found, "join-errors", language)

    office = site(data.slug)
    office.goto("/backoffice/login")
    office.page.fill("#email", data.staff_emails["tenant_admin"])
    office.page.fill("#password", TEST_PASSWORD)
    office.page.click("button[type=submit].btn-primary")
    office.page.wait_for_load_state()
    office.second_step(app, data.staff_emails["tenant_admin"])
    office.choose_language(language)
    _check(office, app, ["/backoffice/admin/", "/backoffice/admin/staff", "/backoffice/admin/staff/invite",
                         f"/backoffice/admin/staff/{agent}", f"/backoffice/admin/staff/{invited}"],
           found, language, crawl=False)
    office.goto("/backoffice/admin/staff/invite")
    office.page.click("form button[type=submit].btn-primary")
    office.page.wait_for_load_state()
    _axe_here(office, found, "invite-errors", language)
    office.goto(f"/backoffice/admin/staff/{agent}")
    office.page.click(".confirm-action summary")
    office.page.click(".confirm-action button[type=submit]")  # the box not ticked: the page with its error
    office.page.wait_for_load_state()
    _axe_here(office, found, "deactivate-unconfirmed", language)

    assert not found, "accessibility problems:\n" + "\n".join(found)


@pytest.fixture
def console_site(app, chromium, live_server, axe_source):
    from domain.db import db
    from domain.identity import services as identity
    from tenants.context import platform_scope

    with app.app_context(), platform_scope("test operator"):
        operator = identity.create_operator(email="ops@platform.example.com", full_name="Ops", password=TEST_PASSWORD)
        db.session.flush()
        OperatorSecondFactorFactory(operator=operator)  # operators sign in with a second factor
        db.session.commit()
    contexts = []

    def _open(language: str) -> Site:  # the console has no language switcher: the browser's language decides
        context = chromium.new_context(viewport={"width": 1280, "height": 900}, locale=language)
        contexts.append(context)
        return Site(context, f"http://localhost:{live_server}", axe_source)

    yield _open
    for context in contexts:
        context.close()


@pytest.mark.parametrize("language", LOCALES)
def test_console_wizard_creates_a_utility_and_passes_axe(app, console_site, language, outbox):
    from domain.db import db
    from tenants.context import platform_scope
    from tenants.models import Tenant

    found: list[str] = []
    console = console_site(language)
    console.goto("/console/login")
    console.page.fill("#email", "ops@platform.example.com")
    console.page.fill("#password", TEST_PASSWORD)
    console.page.click("button[type=submit].btn-primary")
    console.page.wait_for_load_state()
    console.second_step(app, "ops@platform.example.com")
    console.page.click("a[href='/console/tenants/new']")
    console.page.wait_for_load_state()
    _axe_here(console, found, "wizard-1", language)
    console.page.click("button[value=next]")  # nothing filled in: every field's error
    console.page.wait_for_load_state()
    _axe_here(console, found, "wizard-1-errors", language)

    console.page.fill("#name", "Riverside Water")
    console.page.fill("#slug", "riverside")
    console.page.check("#activities-water")
    console.page.select_option("#country", "CH")
    console.page.click("button[value=next]")
    console.page.wait_for_load_state()
    assert console.page.input_value("#currency") == "CHF"
    assert console.page.input_value("#timezone") == "Europe/Zurich"
    _axe_here(console, found, "wizard-2", language)
    console.page.click("button[value=next]")
    console.page.wait_for_load_state()
    console.page.fill("#admin_name", "Urs Meier")
    console.page.fill("#admin_email", "urs@riverside.example.com")
    _axe_here(console, found, "wizard-3", language)
    console.page.click("button[value=next]")
    console.page.wait_for_load_state()
    _axe_here(console, found, "wizard-4", language)
    console.page.click("button[value=create]")
    console.page.wait_for_load_state()

    assert urlsplit(console.page.url).path == "/console/"
    with app.app_context(), platform_scope("test"):
        tenant = db.session.scalar(select(Tenant).where(Tenant.slug == "riverside"))
        assert (tenant.country, tenant.currency, tenant.default_locale) == ("CH", "CHF", "de")
    assert [m["To"] for m in outbox()] == ["urs@riverside.example.com"]
    assert not found, "accessibility problems:\n" + "\n".join(found)
