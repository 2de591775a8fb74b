"""The platform console lists utilities with their size and state, and exports one utility's whole data as a ZIP
(a button, a job, a download link); `flask tenants export` does the same from the command line."""
from __future__ import annotations

import io
import json
import zipfile
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from domain.contracts.models import CustomerAccount
from domain.db import db
from tenants.context import tenant_scope
from tenants.services import month_bounds, set_tenant_status
from tests.factories import BillFactory
from tests.functional.test_pages import _operator


@pytest.fixture(autouse=True)
def _jobs_in_process(app, monkeypatch):
    """The export job runs in-process after the request, as it does without Redis."""
    monkeypatch.setitem(app.config, "REDIS_URL", None)


@pytest.fixture
def console(app, browser):
    _operator(app)
    signed_in = browser("localhost")
    signed_in.login("ops@platform.example.com", area="/console")
    return signed_in


def test_a_month_starts_at_midnight_in_the_utilitys_time_zone():
    assert month_bounds(datetime(2026, 11, 28, 9, tzinfo=UTC), "Europe/Paris") == (
        datetime(2026, 10, 31, 23, tzinfo=UTC), datetime(2026, 11, 30, 23, tzinfo=UTC))
    assert month_bounds(datetime(2026, 12, 31, 23, 30, tzinfo=UTC), "Europe/Paris") == (
        datetime(2026, 12, 31, 23, tzinfo=UTC), datetime(2027, 1, 31, 23, tzinfo=UTC))  # already January in Paris
    assert month_bounds(datetime(2026, 12, 1, 3, tzinfo=UTC), "America/New_York")[0] == datetime(
        2026, 11, 1, 4, tzinfo=UTC)  # still November there


def test_the_list_shows_each_utilitys_size_and_state(app, two_tenants, make_tenant, console):
    a, b = two_tenants
    make_tenant("charlie", live=False)
    with app.app_context():
        set_tenant_status(slug=b.slug, status="suspended", now=datetime.now(UTC))
        with tenant_scope(a.tenant_id):
            account = db.session.scalar(select(CustomerAccount))
            # The month began at 2026-10-31 23:00 UTC in Paris: the first counts, the second is October's.
            BillFactory(account=account, issued_at=datetime(2026, 10, 31, 23, 30, tzinfo=UTC))
            BillFactory(account=account, issued_at=datetime(2026, 10, 31, 22, 30, tzinfo=UTC))
            BillFactory(account=account, status="draft", number=None, issued_at=None)
            db.session.commit()

    page = console.get("/console/").get_data(as_text=True)
    rows = {slug: page.split(f"<code>{slug}.localhost</code>")[1].split("</tr>")[0]
            for slug in ("alpha", "bravo", "charlie")}

    assert "Bills this month" in page
    numbers = lambda row: [cell.split(">")[-1] for cell in row.split("</td>") if 'class="num"' in cell]  # noqa: E731
    assert numbers(rows["alpha"]) == ["1", "5", "2"]  # 1 account; 5 staff; the factory's bill and the 23:30 one
    assert numbers(rows["charlie"]) == ["0", "1", "0"]
    assert "tenant-state-live" in rows["alpha"] and ">Live<" in rows["alpha"]
    assert "tenant-state-suspended" in rows["bravo"] and "Reactivate" in rows["bravo"]
    assert "tenant-state-coming_soon" in rows["charlie"] and ">Coming soon<" in rows["charlie"]
    assert 'href="/console/tenants/alpha/exports"' in rows["alpha"]


def test_the_suspension_page_says_the_jobs_stop(two_tenants, console):
    _a, b = two_tenants

    page = console.get(f"/console/tenants/{b.slug}/suspend").get_data(as_text=True)

    assert "its background jobs stop" in page


def test_an_operator_exports_a_utility_and_downloads_the_zip(two_tenants, console):
    a, b = two_tenants

    before = console.get(f"/console/tenants/{a.slug}/exports").get_data(as_text=True)
    started = console.submit(f"/console/tenants/{a.slug}/exports", {})
    after = console.get(f"/console/tenants/{a.slug}/exports").get_data(as_text=True)
    link = after.split('href="/console/tenants/alpha/exports/')[1].split('"')[0]
    download = console.get(f"/console/tenants/{a.slug}/exports/{link}")

    assert "No export of this utility yet." in before and "Export all data of Alpha Utility" in before
    assert started.status_code == 302
    assert "Download the ZIP" in after and "ops@platform.example.com" in after and ">ready<" in after
    assert download.status_code == 200 and download.mimetype == "application/zip"
    assert "attachment" in download.headers["Content-Disposition"]
    archive = zipfile.ZipFile(io.BytesIO(download.get_data()))
    manifest = json.loads(archive.read("manifest.json"))
    assert manifest["tenant"]["slug"] == "alpha"
    accounts = json.loads(archive.read("tables/customer_accounts.json"))
    assert [row["account_number"] for row in accounts] == [a.account_number]
    assert console.get(f"/console/tenants/{b.slug}/exports/{link}").status_code == 404  # not bravo's
    assert console.get(f"/console/tenants/{a.slug}/exports/00000000-0000-0000-0000-000000000000.zip"
                       ).status_code == 404


def test_an_unknown_utility_has_no_export_page(console):
    assert console.get("/console/tenants/nowhere/exports").status_code == 404
    assert console.submit("/console/", {}, action="/console/tenants/nowhere/exports").status_code == 404


def test_the_export_needs_an_operator(app, two_tenants, browser):
    a, _b = two_tenants
    visitor = browser("localhost")

    assert visitor.get(f"/console/tenants/{a.slug}/exports").status_code == 302
    assert visitor.post(f"/console/tenants/{a.slug}/exports").status_code in (302, 400)


def test_the_command_exports_a_utility_to_a_zip(app, two_tenants, tmp_path):
    a, _b = two_tenants
    target = tmp_path / "alpha.zip"

    result = app.test_cli_runner().invoke(args=["tenants", "export", a.slug, str(target),
                                                "--stored-documents-only"])
    unknown = app.test_cli_runner().invoke(args=["tenants", "export", "nowhere", str(tmp_path / "x.zip")])

    assert result.exit_code == 0, result.output
    assert f"exported {a.slug} to {target}" in result.output
    manifest = json.loads(zipfile.ZipFile(target).read("manifest.json"))
    assert manifest["tenant"]["slug"] == "alpha" and not (tmp_path / "alpha.zip.part").exists()
    assert unknown.exit_code != 0 and "no tenant 'nowhere'" in unknown.output
