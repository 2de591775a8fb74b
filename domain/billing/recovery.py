"""Billing runs finish by themselves, whatever was killed or left empty.

A worker killed in the middle of a run (SIGKILL, out of memory, the host restarted) loses what it was doing:
PostgreSQL rolls its transaction back, so a chunk stays `pending` (or `done` but not issued) with nothing written,
and no job in Redis will do it any more until RQ notices the dead work horse (its heartbeat expires, then a
worker's maintenance pass: many minutes). A planner killed leaves its run `pending` with no chunks; a worker
killed between a chunk's commit and the close of the run leaves it `running` with every chunk done.

`sweep_stalled_runs` takes every such run up. Each worker of the billing queue calls it when it starts, then
every few seconds from its scheduling thread (app/schedule.py: one worker per tick across hosts), and
`flask jobs sweep` does it from cron where there is no worker. For each active run it:
- closes the run if no chunk is left (the close that a killed worker never made);
- re-plans a `pending` run no planner holds (its planner died or was lost);
- re-dispatches each chunk nobody is working on and no job is waiting for.

"Nobody is working on it": on PostgreSQL, a chunk's row is locked (FOR UPDATE) by the job billing or issuing it
from its first statement to its commit, and a run's row by its planner, so a row that `FOR UPDATE SKIP LOCKED`
returns is held by no live process; "no job is waiting": the caller's `job_waiting` answers for the chunk's job id
(RQ: queued, scheduled, or started moments ago). Without row locks (SQLite, jobs in-process) a run is taken up
only once it has shown no progress for `quiet_for`.

Taking a run up twice is safe: a chunk is billed in one transaction that first locks its row and checks it is
still pending, and the live-bill unique index allows one bill per contract, period and kind, so a chunk
dispatched twice is billed once and the second job finds it done (and closes the run if it was the last).
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import func, select

from domain.billing.jobs import finish_if_done
from domain.billing.run_models import BillingRun, BillingRunChunk
from domain.db import db, utcnow
from domain.jobs import dispatch
from tenants.context import platform_scope, tenant_scope
from tenants.models import Tenant

log = logging.getLogger("billing")

ACTIVE = ("pending", "running", "issuing")
# Status of an interrupted run -> the job that takes it up where it stopped (kept for callers of old).
RESUMING_JOB = {"pending": "billing.plan_run", "running": "billing.plan_run", "issuing": "billing.issue_run"}
QUIET_FOR = timedelta(seconds=60)


def _never_waiting(_job_id: str) -> bool:
    return False


def sweep_stalled_runs(*, now: datetime, job_waiting: Callable[[str], bool] = _never_waiting,
                       quiet_for: timedelta = QUIET_FOR) -> list[tuple[int, int, str]]:
    """Close, re-plan or re-dispatch every stalled run of every active tenant; returns `(tenant id, run id, what)`
    for each action taken ("closed", "planned", "chunk <n>", "issue <n>")."""
    with platform_scope("billing: find the tenants whose runs may have stalled"):
        tenant_ids = list(db.session.scalars(select(Tenant.id).where(Tenant.status == "active").order_by(Tenant.id)))
        db.session.rollback()
    done = []
    for tenant_id in tenant_ids:
        with tenant_scope(tenant_id):
            try:
                done.extend((tenant_id, run_id, what) for run_id, what in
                            _sweep_tenant(tenant_id, now=now, job_waiting=job_waiting, quiet_for=quiet_for))
            except Exception:  # one tenant's trouble must not stop the others' runs
                db.session.rollback()
                log.exception("billing sweep failed tenant=%s", tenant_id)
            finally:
                db.session.rollback()
    return done


def take_up_runs(*, tenant_id: int, now: datetime, job_waiting: Callable[[str], bool] | None = None
                 ) -> list[tuple[int, str]]:
    """Take up one tenant's interrupted runs now, without waiting for them to look stalled: a reactivated tenant's
    run whose chunks were skipped while it was suspended (app/jobs.py) goes on from the first chunk not done."""
    with tenant_scope(tenant_id):
        try:
            return _sweep_tenant(tenant_id, now=now, job_waiting=job_waiting or _never_waiting,
                                 quiet_for=timedelta(0))
        finally:
            db.session.rollback()


def _precise() -> bool:
    return db.session.get_bind().dialect.name == "postgresql"


def _sweep_tenant(tenant_id: int, *, now: datetime, job_waiting, quiet_for: timedelta) -> list[tuple[int, str]]:
    found = db.session.execute(select(BillingRun.id, BillingRun.status).where(
        BillingRun.status.in_(ACTIVE)).order_by(BillingRun.id)).all()
    db.session.rollback()
    actions = []
    for run_id, status in found:
        if status != "pending":
            if finish_if_done(run_id):
                actions.append((run_id, "closed"))
                log.info("billing run closed by the sweep tenant=%s run=%s", tenant_id, run_id)
                continue
        if not _precise() and not _quiet(run_id, now=now, quiet_for=quiet_for):
            continue
        if status == "pending":
            job_id = f"billing-{tenant_id}-{run_id}-plan"
            if _unlocked_run(run_id) and not job_waiting(job_id):
                dispatch("billing.plan_run", tenant_id=tenant_id, job_id=job_id, run_id=run_id)
                actions.append((run_id, "planned"))
                log.info("billing run planned again by the sweep tenant=%s run=%s", tenant_id, run_id)
            continue
        issuing = status == "issuing"
        for number in _abandoned_chunks(run_id, issuing=issuing):
            what = "issue" if issuing else "chunk"
            job_id = f"billing-{tenant_id}-{run_id}-{what}-{number}"
            if job_waiting(job_id):
                continue
            dispatch("billing.issue_chunk" if issuing else "billing.bill_chunk", tenant_id=tenant_id,
                     job_id=job_id, run_id=run_id, chunk_number=number)
            actions.append((run_id, f"{what} {number}"))
            log.info("billing chunk taken up by the sweep tenant=%s run=%s chunk=%s job=%s", tenant_id, run_id,
                     number, what)
    return actions


def _quiet(run_id: int, *, now: datetime, quiet_for: timedelta) -> bool:
    """No sign of life for `quiet_for` (created, started, or a chunk finished): the only signal without row locks."""
    run = db.session.get(BillingRun, run_id)
    latest_chunk = db.session.scalar(select(func.max(BillingRunChunk.finished_at)).where(
        BillingRunChunk.run_id == run_id))
    moments = [m for m in (run.created_at, run.started_at, latest_chunk) if m is not None]
    db.session.rollback()
    return max(moments) <= now - quiet_for


def _unlocked_run(run_id: int) -> bool:
    """The run's row is not held by a planner at work (always true without row locks)."""
    stmt = select(BillingRun.id).where(BillingRun.id == run_id, BillingRun.status == "pending")
    if _precise():
        stmt = stmt.with_for_update(skip_locked=True)
    free = db.session.scalar(stmt) is not None
    db.session.rollback()
    return free


def _abandoned_chunks(run_id: int, *, issuing: bool) -> list[int]:
    """Numbers of the chunks left to do that no live job holds (their rows are not locked)."""
    c = BillingRunChunk
    left = (c.status == "done") & c.issued.is_(False) if issuing else c.status == "pending"
    stmt = select(c.number).where(c.run_id == run_id, left).order_by(c.number)
    if _precise():
        stmt = stmt.with_for_update(skip_locked=True)
    numbers = list(db.session.scalars(stmt))
    db.session.rollback()
    return numbers


def resume_interrupted_runs() -> list[tuple[int, int, str]]:
    """What a worker does when it starts, before it takes jobs: the sweep, with no job known to be waiting."""
    return sweep_stalled_runs(now=utcnow(), quiet_for=timedelta(0))
