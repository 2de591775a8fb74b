"""A billing run's page follows the run live: the progress bar and the figures move while chunks are billed,
without reloading, and the page reloads itself into the finished run once it ends (static/js/run-progress.js)."""
from __future__ import annotations

from datetime import date, timedelta

from playwright.sync_api import expect
from sqlalchemy import update

from tests.conftest import TEST_PASSWORD

CHUNKS = 4
PER_CHUNK = 250


def _run(app, make_tenant):
    """Tenant `alpha` with a run of 1,000 contracts in 4 chunks, the first one billed."""
    from domain.billing.run_models import BillingRun, BillingRunChunk
    from domain.db import db, utcnow
    from tenants.context import tenant_scope
    from tests.factories import populate_tenant

    tenant = make_tenant("alpha")
    with app.app_context():
        data = populate_tenant(tenant)
    with app.app_context(), tenant_scope(data.tenant_id):
        now = utcnow()
        run = BillingRun(billing_date=date(2026, 11, 1), mode="issue", status="running", chunk_size=PER_CHUNK,
                         total_contracts=CHUNKS * PER_CHUNK, created_at=now - timedelta(seconds=20),
                         created_by="billing@alpha.test", started_at=now - timedelta(seconds=20))
        db.session.add(run)
        db.session.flush()
        for number in range(1, CHUNKS + 1):
            done = number == 1
            db.session.add(BillingRunChunk(
                run_id=run.id, number=number, first_contract_id=number * 1000, last_contract_id=number * 1000 + 999,
                contracts=PER_CHUNK, status="done" if done else "pending", processed=PER_CHUNK if done else 0,
                billed=PER_CHUNK if done else 0))
        db.session.commit()
        return data, run.id, run.public_id


def _bill_chunks(app, tenant_id: int, run_id: int, numbers: list[int], *, finish: bool = False) -> None:
    from domain.billing.run_models import BillingRun, BillingRunChunk
    from domain.db import db, utcnow
    from tenants.context import tenant_scope

    with app.app_context(), tenant_scope(tenant_id):
        db.session.execute(update(BillingRunChunk).where(
            BillingRunChunk.run_id == run_id, BillingRunChunk.number.in_(numbers)).values(
            status="done", processed=PER_CHUNK, billed=PER_CHUNK))
        if finish:
            db.session.execute(update(BillingRun).where(BillingRun.id == run_id).values(
                status="completed", finished_at=utcnow()))
        db.session.commit()


def test_the_progress_bar_moves_live_then_the_page_shows_the_finished_run(app, make_tenant, site):
    data, run_id, public_id = _run(app, make_tenant)
    office = site(data.slug)
    office.goto("/backoffice/login")
    office.page.fill("#email", data.staff_emails["billing"])
    office.page.fill("#password", TEST_PASSWORD)
    office.page.click("button[type=submit].btn-primary")
    office.page.wait_for_load_state()

    office.goto(f"/backoffice/billing/runs/{public_id}")
    page = office.page
    bar = page.locator("#run-bar")
    expect(bar).to_have_attribute("value", "25")
    page.evaluate("window.notReloaded = true")  # gone if the page reloads

    _bill_chunks(app, data.tenant_id, run_id, [2, 3])

    expect(bar).to_have_attribute("value", "75", timeout=10_000)
    expect(page.locator('[data-field="processed"]')).to_have_text("750")
    expect(page.locator('[data-field="billed"]')).to_have_text("750")
    assert page.evaluate("window.notReloaded === true")

    _bill_chunks(app, data.tenant_id, run_id, [4], finish=True)

    expect(page.locator("#run-status")).to_have_class("status status-completed", timeout=10_000)
    expect(bar).to_have_attribute("value", "100")
    assert page.evaluate("window.notReloaded === undefined")  # the finished run is the page, freshly rendered
