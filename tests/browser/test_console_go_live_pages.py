"""The console's list of utilities and export page, the administration home with its go-live checklist, and the
portal's "coming soon" page pass axe-core (WCAG 2.1 A/AA) in the four languages, at 1280 and 375 px, and do not
scroll sideways on a phone. Set CONSOLE_SCREENSHOTS=<folder> to keep a screenshot of each."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from app.i18n import LOCALES
from tests.browser.conftest import Site
from tests.conftest import TEST_PASSWORD

NARROW = 375
SCREENSHOTS = os.environ.get("CONSOLE_SCREENSHOTS")


@pytest.fixture
def world(app, make_tenant, monkeypatch):
    """`alpha` live with an export written; `fresh` set up halfway, not live (its checklist has done and missing
    lines); an operator."""
    from domain.db import db, utcnow
    from tenants.context import tenant_scope
    from tenants.export import export_job, request_export
    from tests.factories import populate_tenant
    from tests.functional.test_pages import _operator
    from tests.two_step import enrol

    monkeypatch.setitem(app.config, "REDIS_URL", None)
    alpha = make_tenant("alpha")
    fresh = make_tenant("fresh", live=False, name="Fresh Energy")
    with app.app_context():
        populate_tenant(alpha)
        asked = request_export(tenant_id=alpha.id, requested_by="ops@platform.example.com", now=utcnow())
        with tenant_scope(alpha.id):
            export_job(export_id=asked.id)
            db.session.commit()
        request_export(tenant_id=alpha.id, requested_by="ops@platform.example.com", now=utcnow())  # waiting
    _operator(app)
    enrol(app, kind="operator", email="ops@platform.example.com", host="localhost")  # operators have a second factor
    return alpha, fresh


def _open(chromium, live_server, axe_source, host: str, language: str, width: int = 1280) -> Site:
    context = chromium.new_context(viewport={"width": width, "height": 900}, locale=language)
    return Site(context, f"http://{host}:{live_server}", axe_source)


def _sign_in(app, site: Site, path: str, email: str) -> None:
    site.goto(path)
    site.page.fill("#email", email)
    site.page.fill("#password", TEST_PASSWORD)
    site.page.click("button[type=submit].btn-primary")
    site.page.wait_for_load_state()
    site.second_step(app, email)


def _check(site: Site, path: str, expected_status: int, language: str, found: list[str]) -> None:
    response = site.goto(path)
    assert response.status == expected_status, f"{path}: {response.status}"
    assert site.page.locator("html").get_attribute("lang") == language
    for width in (1280, NARROW):
        site.page.set_viewport_size({"width": width, "height": 900})
        for v in site.axe():
            found.append(f"[{language}] {path} at {width} px: {v['rule']} ({v['impact']}) {v['help']} at {v['nodes']}")
        if width == NARROW and site.horizontal_overflow() > 0:
            found.append(f"[{language}] {path}: {site.horizontal_overflow()} px wider than a {NARROW} px screen")
        if SCREENSHOTS:
            folder = Path(SCREENSHOTS)
            folder.mkdir(parents=True, exist_ok=True)
            name = f"{language}_{site.base_url.split('//')[1].split('.')[0].split(':')[0]}_" \
                   f"{path.strip('/').replace('/', '_') or 'home'}_{width}.png"
            site.page.screenshot(path=str(folder / name), full_page=True)
    site.page.set_viewport_size({"width": 1280, "height": 900})


@pytest.mark.parametrize("language", LOCALES)
def test_console_and_go_live_pages_pass_axe_in_every_language(app, chromium, live_server, axe_source, world,
                                                               language):
    alpha, fresh = world
    found: list[str] = []
    sites = []
    try:
        console = _open(chromium, live_server, axe_source, "localhost", language)
        sites.append(console)
        _sign_in(app, console, "/console/login", "ops@platform.example.com")
        _check(console, "/console/", 200, language, found)
        _check(console, f"/console/tenants/{alpha.slug}/exports", 200, language, found)

        office = _open(chromium, live_server, axe_source, "fresh.localhost", language)
        sites.append(office)
        _sign_in(app, office, "/backoffice/login", "admin@fresh.test")
        _check(office, "/backoffice/admin/", 200, language, found)

        visitor = _open(chromium, live_server, axe_source, "fresh.localhost", language)
        sites.append(visitor)
        _check(visitor, "/", 503, language, found)
    finally:
        for site in sites:
            site.context.close()

    assert not found, "accessibility problems:\n" + "\n".join(found)
