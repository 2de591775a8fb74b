"""Bills the demo utilities' reading history month by month, through the real billing runs and engine."""
from __future__ import annotations

from datetime import date

from sqlalchemy import update

from domain.billing import runs
from domain.billing.run_models import BillingRun
from domain.contracts.models import Contract
from domain.db import db, utcnow
from domain.jobs import inline_jobs
from tenants.context import tenant_scope


def bill_history(*, tenant_id: int, dates: list[date]) -> tuple[int, int]:
    """One issuing run per month of history; returns (bills, exceptions).

    Contracts older than the history are marked billed up to its first day, as if an
    earlier system had billed them; the runs then bill every month since, in order.
    """
    bills = exceptions = 0
    with tenant_scope(tenant_id):
        db.session.execute(
            update(Contract).where(Contract.start_date < dates[0]).values(billed_until=dates[0]),
            execution_options={"synchronize_session": False},
        )
        db.session.commit()
        for billing_date in dates[1:]:
            run = runs.create_run(billing_date=billing_date, mode="issue", scope_activity=None, scope_cycle=None,
                                  created_by="demo seed", now=utcnow(), chunk_size=500)
            db.session.commit()
            run_id = run.id
            with inline_jobs():
                runs.start(run)  # in this process: the run is finished when this returns
            finished = db.session.get(BillingRun, run_id)
            progress = runs.progress(finished, now=utcnow())
            bills += progress.billed
            exceptions += progress.exceptions
            db.session.commit()
    return bills, exceptions
