"""Billing runs reach their end by themselves, whatever was killed or left empty (jobs in this process).

The same cases with real worker processes on PostgreSQL and Redis: tests/integration/test_runs_with_workers.py.
"""
from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select, update

import domain.billing.jobs as jobs
from domain.billing import runs
from domain.billing.jobs import bill_chunk, issue_chunk
from domain.billing.models import Bill
from domain.billing.recovery import sweep_stalled_runs
from domain.billing.run_models import BillingRun, BillingRunChunk
from domain.db import db, utcnow
from tenants.context import tenant_scope

BILLING_DATE = date(2024, 3, 1)  # the factories' contract starts on 2024-01-01, monthly


@pytest.fixture(autouse=True)
def _jobs_in_process(app, monkeypatch):
    monkeypatch.setitem(app.config, "REDIS_URL", None)


def _create(app, tenant_id: int, *, mode: str = "issue", billing_date: date = BILLING_DATE, start: bool = True):
    with app.app_context(), tenant_scope(tenant_id):
        run = runs.create_run(billing_date=billing_date, mode=mode, scope_activity=None, scope_cycle=None,
                              created_by="test", now=utcnow())
        db.session.commit()
        run_id, created_at = run.id, run.created_at
        if start:
            runs.start(run)
    return run_id, created_at


def _status(app, tenant_id: int, run_id: int) -> str:
    with app.app_context(), tenant_scope(tenant_id):
        status = db.session.get(BillingRun, run_id).status
        db.session.rollback()
        return status


def _progress(app, tenant_id: int, run_id: int) -> runs.RunProgress:
    with app.app_context(), tenant_scope(tenant_id):
        progress = runs.progress(db.session.get(BillingRun, run_id), now=utcnow())
        db.session.rollback()
        return progress


def _sweep(app, *, now):
    with app.app_context():
        return sweep_stalled_runs(now=now)


def _without_closing(monkeypatch):
    """As if the worker died right after each chunk committed, before it could close the run."""
    monkeypatch.setattr(jobs, "_finish_if_done", lambda run_id: False)


def test_a_chunk_job_given_back_after_the_last_chunk_committed_closes_the_run(app, two_tenants, monkeypatch):
    a, _ = two_tenants
    _without_closing(monkeypatch)
    run_id, _created = _create(app, a.tenant_id)
    left_running = _status(app, a.tenant_id, run_id)
    monkeypatch.undo()
    monkeypatch.setitem(app.config, "REDIS_URL", None)

    with app.app_context(), tenant_scope(a.tenant_id):
        again = bill_chunk(run_id=run_id, chunk_number=1)  # RQ gives the job back: the chunk is done already
        db.session.commit()

    assert left_running == "running"
    assert again == {"skipped": True}
    assert _status(app, a.tenant_id, run_id) == "completed"


def test_an_issuing_job_given_back_after_the_last_chunk_was_issued_closes_the_run(app, two_tenants, monkeypatch):
    a, _ = two_tenants
    run_id, _created = _create(app, a.tenant_id, mode="simulate")
    with app.app_context(), tenant_scope(a.tenant_id):
        run = db.session.get(BillingRun, run_id)
        runs.request_issue(run)
        db.session.commit()
        _without_closing(monkeypatch)
        runs.dispatch_issue(run)
    left = _status(app, a.tenant_id, run_id)
    monkeypatch.undo()
    monkeypatch.setitem(app.config, "REDIS_URL", None)

    with app.app_context(), tenant_scope(a.tenant_id):
        again = issue_chunk(run_id=run_id, chunk_number=1)
        db.session.commit()

    assert left == "issuing"
    assert again == {"skipped": True}
    assert _status(app, a.tenant_id, run_id) == "completed"


def test_a_run_whose_chunk_has_nothing_due_completes(app, two_tenants):
    a, _ = two_tenants
    first, _ = _create(app, a.tenant_id, billing_date=date(2024, 2, 1))

    second, _ = _create(app, a.tenant_id, billing_date=date(2024, 2, 1))  # the same date again: nothing is due

    assert _status(app, a.tenant_id, first) == "completed"
    assert _status(app, a.tenant_id, second) == "completed"
    progress = _progress(app, a.tenant_id, second)
    assert (progress.processed, progress.billed, progress.percent) == (1, 0, 100)
    with app.app_context(), tenant_scope(a.tenant_id):
        assert db.session.scalar(select(BillingRunChunk.issued).where(BillingRunChunk.run_id == second)) is True
    # ...and the next run is not blocked by it.
    third, _ = _create(app, a.tenant_id, billing_date=date(2024, 3, 1))
    assert _status(app, a.tenant_id, third) == "completed"


def test_a_run_left_running_by_an_empty_chunk_before_this_fix_is_closed_by_the_sweep(app, two_tenants):
    a, _ = two_tenants
    run_id, created = _create(app, a.tenant_id, billing_date=date(2024, 2, 1))
    with app.app_context(), tenant_scope(a.tenant_id):  # the state such runs were left in
        db.session.execute(update(BillingRunChunk).where(BillingRunChunk.run_id == run_id).values(issued=False))
        db.session.execute(update(BillingRun).where(BillingRun.id == run_id).values(status="running",
                                                                                      finished_at=None))
        db.session.commit()

    actions = _sweep(app, now=created + timedelta(seconds=5))

    assert (a.tenant_id, run_id, "closed") in actions
    assert _status(app, a.tenant_id, run_id) == "completed"


def test_the_sweep_closes_a_run_whose_worker_died_before_closing_it(app, two_tenants, monkeypatch):
    a, _ = two_tenants
    _without_closing(monkeypatch)
    run_id, created = _create(app, a.tenant_id)
    monkeypatch.undo()
    monkeypatch.setitem(app.config, "REDIS_URL", None)

    actions = _sweep(app, now=created + timedelta(seconds=1))  # closing needs no quiet time: no chunk is left

    assert actions == [(a.tenant_id, run_id, "closed")]
    assert _status(app, a.tenant_id, run_id) == "completed"


def test_a_run_whose_planner_died_reads_0_percent_and_the_sweep_plans_it(app, two_tenants):
    a, b = two_tenants
    run_id, created = _create(app, a.tenant_id, start=False)  # the planner never ran: pending, no chunk
    pending = _progress(app, a.tenant_id, run_id)

    actions = _sweep(app, now=created + timedelta(minutes=2))

    assert (pending.total, pending.chunks_total, pending.percent) == (0, 0, 0)
    assert actions == [(a.tenant_id, run_id, "planned")]
    assert _status(app, a.tenant_id, run_id) == "completed"
    with app.app_context(), tenant_scope(a.tenant_id):
        assert db.session.scalar(select(Bill.period_start).where(Bill.billing_run_id == run_id)) == date(2024, 1, 1)
    with app.app_context(), tenant_scope(b.tenant_id):  # the other tenant can start runs of its own meanwhile
        assert db.session.scalar(select(BillingRun.id)) is None


def test_without_row_locks_the_sweep_waits_for_a_run_to_be_quiet_for_a_minute(app, two_tenants):
    a, _ = two_tenants
    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            pytest.skip("PostgreSQL tells a planner at work by its row lock")
    run_id, created = _create(app, a.tenant_id, start=False)

    too_soon = _sweep(app, now=created + timedelta(seconds=10))  # its planner may still be at work in-process

    assert too_soon == [] and _status(app, a.tenant_id, run_id) == "pending"
    assert _sweep(app, now=created + timedelta(seconds=61)) == [(a.tenant_id, run_id, "planned")]


def test_the_sweep_dispatches_a_chunk_nobody_works_on(app, two_tenants, monkeypatch):
    a, _ = two_tenants
    real_dispatch = jobs.dispatch

    def lost(name, **kwargs):  # the planner dispatched its chunks, and their jobs were lost with Redis or a worker
        if name != "billing.bill_chunk":
            real_dispatch(name, **kwargs)

    monkeypatch.setattr(jobs, "dispatch", lost)
    run_id, created = _create(app, a.tenant_id)
    monkeypatch.undo()
    monkeypatch.setitem(app.config, "REDIS_URL", None)
    stalled = _status(app, a.tenant_id, run_id)

    actions = _sweep(app, now=utcnow() + timedelta(minutes=2))

    assert stalled == "running"
    assert actions == [(a.tenant_id, run_id, "chunk 1")]
    assert _status(app, a.tenant_id, run_id) == "completed"
    with app.app_context(), tenant_scope(a.tenant_id):
        assert len(db.session.scalars(select(Bill.id).where(Bill.billing_run_id == run_id)).all()) == 1


def test_the_sweep_leaves_alone_runs_that_are_finished_or_waiting_for_staff(app, two_tenants):
    a, _ = two_tenants
    simulated, created = _create(app, a.tenant_id, mode="simulate")

    actions = _sweep(app, now=created + timedelta(hours=1))

    assert actions == []
    assert _status(app, a.tenant_id, simulated) == "simulated"


def test_a_cancelled_simulation_reports_no_rate(app, two_tenants):
    a, _ = two_tenants
    run_id, _created = _create(app, a.tenant_id, mode="simulate")
    before = _progress(app, a.tenant_id, run_id)
    with app.app_context(), tenant_scope(a.tenant_id):
        runs.cancel(db.session.get(BillingRun, run_id), now=utcnow() + timedelta(seconds=30))
        db.session.commit()

    cancelled = _progress(app, a.tenant_id, run_id)

    assert before.rate_per_second is not None
    assert cancelled.rate_per_second is None and cancelled.seconds_left is None


def test_a_run_is_refused_for_an_activity_the_utility_does_not_supply_or_dated_beyond_a_cycle(app, two_tenants):
    a, _ = two_tenants
    with app.app_context(), tenant_scope(a.tenant_id):
        with pytest.raises(runs.RunError) as water:
            runs.create_run(billing_date=BILLING_DATE, mode="simulate", scope_activity="water", scope_cycle=None,
                            created_by="test", now=utcnow())
        with pytest.raises(runs.RunError) as ahead:
            runs.create_run(billing_date=date(2027, 1, 1), mode="simulate", scope_activity=None, scope_cycle=None,
                            created_by="test", now=utcnow(), today=date(2026, 11, 28))
        next_month = runs.create_run(billing_date=date(2026, 12, 28), mode="simulate", scope_activity="gas",
                                     scope_cycle=None, created_by="test", now=utcnow(), today=date(2026, 11, 28))
        db.session.rollback()

    assert water.value.code == "activity" and ahead.value.code == "date_ahead"
    assert next_month.billing_date == date(2026, 12, 28)


@pytest.mark.parametrize(("today", "latest"), [
    (date(2026, 11, 28), date(2026, 12, 28)), (date(2027, 1, 31), date(2027, 2, 28)),
    (date(2028, 1, 31), date(2028, 2, 29)), (date(2026, 12, 15), date(2027, 1, 15))])
def test_a_run_may_be_dated_up_to_one_monthly_cycle_ahead(today, latest):
    assert runs.latest_billing_date(today) == latest


def test_the_sweep_command_takes_up_a_stalled_run_where_no_worker_runs(app, two_tenants, clock):
    a, _ = two_tenants
    run_id, created = _create(app, a.tenant_id, start=False)
    clock.move_to(created + timedelta(minutes=2))

    result = app.test_cli_runner().invoke(args=["jobs", "sweep"])

    assert result.exit_code == 0, result.output
    assert f"tenant {a.tenant_id} run {run_id}: planned" in result.output
    assert _status(app, a.tenant_id, run_id) == "completed"
