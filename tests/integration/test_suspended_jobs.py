"""A suspended utility's jobs stop: each is skipped with a log line, its daily jobs are not dispatched, and a billing
run in progress stops after the chunk at work, then goes on after reactivation with nothing lost or billed twice."""
from __future__ import annotations

import logging
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from app.jobs import run_job
from app.schedule import _active_tenants
from domain.billing import runs
from domain.billing.models import Bill
from domain.billing.run_models import BillingRun, BillingRunChunk
from domain.contracts.models import Contract
from domain.db import db, utcnow
from domain.identity import services as identity
from domain.identity.models import LoginSession
from domain.offers.models import Offer
from tenants.context import tenant_scope
from tenants.services import set_tenant_status
from tests.factories import ContractFactory

BILLING_DATE = date(2024, 3, 1)  # the factories' contracts start on 2024-01-01, monthly


@pytest.fixture(autouse=True)
def _jobs_in_process(app, monkeypatch):
    """Jobs run here, one after the other, as the in-process runner does without Redis."""
    monkeypatch.setitem(app.config, "REDIS_URL", None)


@pytest.fixture
def logs(caplog, monkeypatch):
    """The log lines of the job runner and the scheduler (Alembic's logging set-up disables loggers made before)."""
    for name in ("jobs", "schedule"):
        monkeypatch.setattr(logging.getLogger(name), "disabled", False)
        caplog.set_level(logging.INFO, logger=name)
    return caplog


def _expired_session(app, tenant_id: int) -> None:
    with app.app_context(), tenant_scope(tenant_id):
        identity.open_session(user_kind="customer", user_id=1, now=utcnow() - timedelta(days=2),
                              lifetime=timedelta(hours=1))
        db.session.commit()


def _sessions(app, tenant_id: int) -> int:
    with app.app_context(), tenant_scope(tenant_id):
        return db.session.scalar(select(func.count(LoginSession.id)))


def test_a_suspended_tenants_job_is_skipped_with_a_log_line(app, two_tenants, logs):
    a, b = two_tenants
    for tenant in (a, b):
        _expired_session(app, tenant.tenant_id)
    with app.app_context():
        set_tenant_status(slug=a.slug, status="suspended", now=utcnow())

    with app.app_context():
        skipped = run_job("identity.purge_expired_sessions", a.tenant_id, None, {"now_iso": utcnow().isoformat()})
        done = run_job("identity.purge_expired_sessions", b.tenant_id, None, {"now_iso": utcnow().isoformat()})

    assert skipped == {"skipped": "tenant suspended"} and _sessions(app, a.tenant_id) == 1
    assert done["sessions"] == 1 and _sessions(app, b.tenant_id) == 0
    assert (f"job skipped: tenant suspended name=identity.purge_expired_sessions tenant={a.tenant_id}"
            in logs.messages)


def test_the_operators_export_still_runs_for_a_suspended_tenant(app, two_tenants):
    from tenants.export import export_by_public_id, request_export

    a, _b = two_tenants
    with app.app_context():
        set_tenant_status(slug=a.slug, status="suspended", now=utcnow())
        asked = request_export(tenant_id=a.tenant_id, requested_by="ops@platform.example.com", now=utcnow())

        run_job("tenants.export_data", a.tenant_id, None, {"export_id": asked.id})

        assert export_by_public_id(tenant_id=a.tenant_id, public_id=asked.public_id).status == "done"


def test_the_daily_schedule_leaves_a_suspended_tenant_out_and_says_so(app, two_tenants, logs):
    a, b = two_tenants
    with app.app_context():
        set_tenant_status(slug=a.slug, status="suspended", now=utcnow())

        scheduled = [tenant_id for tenant_id, _zone in _active_tenants()]

    assert scheduled == [b.tenant_id]
    assert f"daily jobs skipped: tenant suspended tenant={a.tenant_id}" in logs.messages


def test_the_daily_command_for_a_suspended_tenant_runs_nothing(app, two_tenants):
    a, _b = two_tenants
    _expired_session(app, a.tenant_id)
    with app.app_context():
        set_tenant_status(slug=a.slug, status="suspended", now=utcnow())

    result = app.test_cli_runner().invoke(args=["jobs", "daily", "--tenant", a.slug])

    assert result.exit_code == 0 and "is suspended" in result.output
    assert _sessions(app, a.tenant_id) == 1


def _more_contracts(app, tenant_id: int, count: int) -> int:
    with app.app_context(), tenant_scope(tenant_id):
        offer_id = db.session.scalar(select(Offer.id))
        for _ in range(count):
            ContractFactory(offer_id=offer_id)
        db.session.commit()
        return db.session.scalar(select(func.count(Contract.id)))


def _chunks(app, tenant_id: int, run_id: int) -> dict[int, tuple[str, int]]:
    with app.app_context(), tenant_scope(tenant_id):
        return {c.number: (c.status, c.processed) for c in db.session.scalars(
            select(BillingRunChunk).where(BillingRunChunk.run_id == run_id))}


def test_a_billing_run_stops_while_suspended_and_resumes_after_reactivation_without_loss(
        app, two_tenants, monkeypatch):
    import domain.billing.jobs as billing_jobs

    a, _b = two_tenants
    contracts = _more_contracts(app, a.tenant_id, 3)
    real = billing_jobs.bill_chunk

    def chunk_then_suspend(*, run_id, chunk_number):
        outcome = real(run_id=run_id, chunk_number=chunk_number)
        if chunk_number == 1:  # the operator suspends the utility while the first chunk is being billed
            set_tenant_status(slug=a.slug, status="suspended", now=utcnow())
        return outcome

    monkeypatch.setattr(billing_jobs, "bill_chunk", chunk_then_suspend)
    with app.app_context(), tenant_scope(a.tenant_id):
        run = runs.create_run(billing_date=BILLING_DATE, mode="simulate", scope_activity=None, scope_cycle=None,
                              created_by="test", now=utcnow(), chunk_size=1)
        db.session.commit()
        run_id = run.id
        runs.start(run)  # plans, then runs chunk 1; the other chunks' jobs find the tenant suspended

    stopped = _chunks(app, a.tenant_id, run_id)
    with app.app_context(), tenant_scope(a.tenant_id):
        status_while_suspended = db.session.get(BillingRun, run_id).status
        drafts_while_suspended = db.session.scalar(select(func.count(Bill.id)).where(Bill.billing_run_id == run_id))

    assert contracts == 4 and len(stopped) == 4
    assert stopped[1] == ("done", 1) and {stopped[n] for n in (2, 3, 4)} == {("pending", 0)}
    assert status_while_suspended == "running"

    with app.app_context():
        set_tenant_status(slug=a.slug, status="active", now=utcnow() + timedelta(seconds=1))

    resumed = _chunks(app, a.tenant_id, run_id)
    with app.app_context(), tenant_scope(a.tenant_id):
        run = db.session.get(BillingRun, run_id)
        drafts = list(db.session.scalars(select(Bill.contract_id).where(Bill.billing_run_id == run_id)))

    assert resumed == {n: ("done", 1) for n in (1, 2, 3, 4)}
    assert run.status == "simulated"
    assert drafts_while_suspended <= 1 and len(drafts) == len(set(drafts))  # no contract billed twice
