"""Billing runs interrupted by a worker that died go on when a worker starts.

A worker killed in the middle of a run (SIGKILL, out of memory, the host restarted) loses the chunk it was
billing: PostgreSQL rolls that chunk's transaction back, so its row stays `pending` with nothing written, but
no job in Redis will bill it any more. RQ would give the lost job back only once its heartbeat expired and a
worker's maintenance pass (every ten minutes) noticed; a run would sit unfinished meanwhile.

So every worker, when it starts, re-dispatches the work of each run still `running` or `issuing`: the planner
again (it dispatches every chunk still pending) or the issuer (every chunk not issued). That is safe whatever
else is going on: a chunk is billed in one transaction that first locks its row and checks it is still
pending, and the live-bill unique index allows one bill per contract, period and kind, so a chunk dispatched
twice is billed once and the second job finds it done. A run that is merely slow, with live workers, gets
duplicate jobs that cost a row lookup each.
"""
from __future__ import annotations

import logging

from sqlalchemy import select

from domain.billing.run_models import BillingRun
from domain.db import db, utcnow
from domain.jobs import dispatch
from tenants.context import platform_scope, tenant_scope
from tenants.models import Tenant

log = logging.getLogger("billing")

# Status of an interrupted run -> the job that takes it up where it stopped.
RESUMING_JOB = {"running": "billing.plan_run", "issuing": "billing.issue_run"}


def resume_interrupted_runs() -> list[tuple[int, int, str]]:
    """Dispatch the job that carries on each run left `running` or `issuing`, in every active tenant.

    Returns `(tenant_id, run_id, job name)` of each. Called by `worker.py` before it takes jobs.
    """
    with platform_scope("billing: find the tenants whose runs a dead worker may have interrupted"):
        tenant_ids = list(db.session.scalars(select(Tenant.id).where(Tenant.status == "active").order_by(Tenant.id)))
        db.session.rollback()
    resumed = []
    stamp = utcnow().strftime("%Y%m%d%H%M%S%f")
    for tenant_id in tenant_ids:
        with tenant_scope(tenant_id):
            found = db.session.execute(select(BillingRun.id, BillingRun.status).where(
                BillingRun.status.in_(tuple(RESUMING_JOB))).order_by(BillingRun.id)).all()
            db.session.rollback()
            for run_id, status in found:
                job = RESUMING_JOB[status]
                dispatch(job, tenant_id=tenant_id, job_id=f"billing-{tenant_id}-{run_id}-recover-{stamp}",
                         run_id=run_id)
                log.info("billing run taken up after a worker start tenant=%s run=%s job=%s", tenant_id, run_id, job)
                resumed.append((tenant_id, run_id, job))
    return resumed
