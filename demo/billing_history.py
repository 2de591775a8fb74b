"""Bills the demo utilities' reading history month by month, through the real billing runs and engine."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, UTC

from sqlalchemy import update

from domain.billing import runs
from domain.billing.document_jobs import documents_on_demand
from domain.billing.run_models import BillingRun
from domain.contracts.models import Contract
from domain.db import clock_from, db, utcnow
from domain.jobs import inline_jobs
from tenants.context import tenant_scope


# Past runs are issued the morning after their billing date, as a utility's nightly run would.
ISSUE_TIME = time(6)


def issue_moment(billing_date: date, *, latest: bool, now: datetime) -> datetime:
    """When the demo's run of `billing_date` is issued.

    Past months: the morning after the billing date, so their bills carry that month's dates and fall due (and
    are paid, demo/payments.py) in that month. The latest run is issued yesterday morning: whatever the day of the
    month the demo is seeded, its bills are fresh and not yet due, so every demo customer has something to pay.
    """
    if latest:
        moment = datetime.combine(now.date() - timedelta(days=1), ISSUE_TIME, tzinfo=UTC)
        earliest = datetime.combine(billing_date, ISSUE_TIME, tzinfo=UTC)
        return min(max(moment, earliest), now)
    return min(datetime.combine(billing_date + timedelta(days=1), ISSUE_TIME, tzinfo=UTC), now)


def bill_history(*, tenant_id: int, dates: list[date], now: datetime | None = None) -> tuple[int, int]:
    """One issuing run per month of history, each issued on its own date (`issue_moment`); returns (bills,
    exceptions).

    Contracts older than the history are marked billed up to its first day, as if an
    earlier system had billed them; the runs then bill every month since, in order.
    """
    now = now or utcnow()
    bills = exceptions = 0
    with tenant_scope(tenant_id):
        db.session.execute(
            update(Contract).where(Contract.start_date < dates[0]).values(billed_until=dates[0]),
            execution_options={"synchronize_session": False},
        )
        db.session.commit()
        for billing_date in dates[1:]:
            with clock_from(issue_moment(billing_date, latest=billing_date == dates[-1], now=now)):
                run = runs.create_run(billing_date=billing_date, mode="issue", scope_activity=None,
                                      scope_cycle=None, created_by="demo seed", now=utcnow(), chunk_size=500)
                db.session.commit()
                run_id = run.id
                # In this process: the run is finished when this returns. Two years of history would take minutes
                # to render: its documents are rendered, once, when first opened (same bytes: see document_jobs).
                with inline_jobs(), documents_on_demand():
                    runs.start(run)
                finished = db.session.get(BillingRun, run_id)
                progress = runs.progress(finished, now=utcnow())
                bills += progress.billed
                exceptions += progress.exceptions
                db.session.commit()
    return bills, exceptions
