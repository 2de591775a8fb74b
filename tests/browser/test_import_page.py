"""The import as an administrator does it in a browser: templates, example files sent, the progress bar at 100 %,
errors listed by row and column; no axe-core violation on any of these pages."""
from __future__ import annotations

import os
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.conftest import TEST_PASSWORD

SHOTS = os.environ.get("IMPORT_SCREENSHOTS")


@pytest.fixture(autouse=True)
def _jobs_in_process(app, monkeypatch):
    monkeypatch.setitem(app.config, "REDIS_URL", None)


def _files(app, tenant_id: int, folder: Path, *, broken: bool = False) -> list[str]:
    from domain.db import utcnow
    from domain.imports import examples, services
    from tenants.context import tenant_scope

    with app.app_context(), tenant_scope(tenant_id):
        rows = examples.example_rows(offers=services.example_offers(), today=utcnow().date())
    if broken:
        rows["contracts"][0]["offer_code"] = "NO-SUCH-OFFER"
        rows["readings"][1]["read_on"] = "31/12/2025"
    paths = []
    for kind, kind_rows in rows.items():
        path = folder / f"{kind}.csv"
        path.write_bytes(examples.to_csv(examples.as_table(kind, kind_rows)))
        paths.append((kind, str(path)))
    return paths


def _shot(site, name: str) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        site.page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=True)


def _admin(app, make_tenant, site):
    from tests.factories import populate_tenant

    tenant = make_tenant("alpha")
    with app.app_context():
        data = populate_tenant(tenant)
    office = site("alpha")
    office.goto("/backoffice/login")
    office.page.fill("#email", data.staff_emails["tenant_admin"])
    office.page.fill("#password", TEST_PASSWORD)
    office.page.click("button[type=submit].btn-primary")
    office.page.wait_for_load_state()
    return data, office


def _send(office, files) -> None:
    office.goto("/backoffice/admin/imports")
    for kind, path in files:
        office.page.set_input_files(f"#{kind}", path)
    office.page.click("button[type=submit].btn-primary")
    office.page.wait_for_load_state()


def test_example_files_import_with_the_progress_bar_full_and_pages_pass_axe(app, make_tenant, site, tmp_path):
    data, office = _admin(app, make_tenant, site)
    office.goto("/backoffice/admin/imports/templates")
    assert office.axe() == []
    _shot(office, "import-templates")
    office.goto("/backoffice/admin/imports")
    assert office.axe() == []
    _shot(office, "import-form")

    _send(office, _files(app, data.tenant_id, tmp_path))

    expect(office.page.locator("h1 .status")).to_have_text("Completed")
    expect(office.page.locator("#run-bar")).to_have_attribute("value", "100")
    assert office.axe() == []
    _shot(office, "import-completed")


def test_errors_are_listed_and_the_page_passes_axe(app, make_tenant, site, tmp_path):
    data, office = _admin(app, make_tenant, site)

    _send(office, _files(app, data.tenant_id, tmp_path, broken=True))

    expect(office.page.locator("h1 .status")).to_have_text("Errors found: nothing imported")
    rows = office.page.locator(".import-error-table tbody tr")
    expect(rows).to_have_count(2)
    assert office.axe() == []
    _shot(office, "import-errors")
    office.page.set_viewport_size({"width": 375, "height": 800})
    assert office.horizontal_overflow() == 0
