"""Billing runs as staff see them: start, simulate, issue, cancel, resume, and live progress."""
from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import delete, func, select, update

from domain.billing.models import Bill, BillLine
from domain.billing.run_models import BillingException, BillingRun, BillingRunChunk
from domain.db import db
from domain.jobs import dispatch
from tenants.context import require_tenant_id
from tenants.models import Tenant

ACTIVITIES = ("water", "gas", "electricity", "heating")
FINISHED = ("simulated", "completed")
MAX_CHUNK_SIZE = 5000
# Each chunk job pays ~50-70 ms of fixed worker CPU (fork, connection, cold caches): 2000 halves that per bill
# against 1000 and keeps a worker near 115 MB (bench/README.md, "Chunk size").
DEFAULT_CHUNK_SIZE = 2000


class RunError(ValueError):
    """The run cannot do what was asked in its current state; `code` says why."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class RunProgress:
    total: int
    processed: int
    billed: int
    exceptions: int
    chunks_done: int
    chunks_total: int
    issued_chunks: int
    total_excl_tax: Decimal
    total_tax: Decimal
    total_incl_tax: Decimal
    rate_per_second: float | None
    seconds_left: float | None
    finished: bool = False  # simulated or completed: everything in scope was processed

    @property
    def percent(self) -> int:
        if self.total == 0:  # nothing planned yet (pending), or a scope with no contract at all
            return 100 if self.finished else 0
        return min(100, int(self.processed * 100 / self.total))


def latest_billing_date(today: date) -> date:
    """The furthest date a run may bill to: one monthly cycle after today (the same day next month, or that month's
    last day). Further ahead, periods that have not begun would be billed on estimates."""
    year, month = (today.year + 1, 1) if today.month == 12 else (today.year, today.month + 1)
    return date(year, month, min(today.day, calendar.monthrange(year, month)[1]))


def tenant_activities() -> tuple[str, ...]:
    """The activities the current tenant supplies, in the usual order (what a run may be scoped to)."""
    tenant = db.session.get(Tenant, require_tenant_id())
    offered = set(tenant.activities or ()) if tenant is not None else set()
    return tuple(activity for activity in ACTIVITIES if activity in offered)


def create_run(*, billing_date: date, mode: str, scope_activity: str | None, scope_cycle: str | None,
               created_by: str, now: datetime, chunk_size: int = DEFAULT_CHUNK_SIZE,
               today: date | None = None) -> BillingRun:
    """Record a run and ask a worker to plan it (split into chunks).

    `today` (the tenant's date, computed at the edge): a run may not be dated more than a cycle after it.
    """
    if mode not in ("simulate", "issue"):
        raise RunError("mode", "mode must be simulate or issue")
    if scope_activity and scope_activity not in tenant_activities():
        raise RunError("activity", f"this utility does not supply {scope_activity!r}")
    if today is not None and billing_date > latest_billing_date(today):
        raise RunError("date_ahead", f"a run cannot be dated after {latest_billing_date(today).isoformat()}")
    if not 1 <= chunk_size <= MAX_CHUNK_SIZE:
        raise RunError("chunk_size", f"chunk size must be between 1 and {MAX_CHUNK_SIZE}")
    busy = db.session.scalar(select(func.count(BillingRun.id)).where(
        BillingRun.status.in_(("pending", "running", "issuing"))))
    if busy:
        raise RunError("busy", "another billing run is in progress; wait for it or cancel it")
    run = BillingRun(billing_date=billing_date, mode=mode, scope_activity=scope_activity or None,
                     scope_cycle=scope_cycle or None, created_by=created_by, created_at=now, chunk_size=chunk_size)
    db.session.add(run)
    db.session.flush()
    return run


def start(run: BillingRun) -> None:
    """Hand the run to the workers (call after the run is committed)."""
    dispatch("billing.plan_run", tenant_id=require_tenant_id(), job_id=_job_id(run, "plan"), run_id=run.id)


def _job_id(run: BillingRun, what: str) -> str:
    return f"billing-{run.tenant_id}-{run.id}-{what}"


def run_by_public_id(public_id: str) -> BillingRun | None:
    return db.session.scalar(select(BillingRun).where(BillingRun.public_id == public_id))


def latest_runs(limit: int = 30) -> list[BillingRun]:
    return list(db.session.scalars(select(BillingRun).order_by(BillingRun.created_at.desc(), BillingRun.id.desc())
                                   .limit(limit)))


def progress(run: BillingRun, *, now: datetime) -> RunProgress:
    c = BillingRunChunk
    row = db.session.execute(
        select(
            func.count(c.id),
            func.count(c.id).filter(c.status == "done"),
            func.count(c.id).filter(c.issued.is_(True)),
            func.coalesce(func.sum(c.processed), 0),
            func.coalesce(func.sum(c.billed), 0),
            func.coalesce(func.sum(c.exceptions), 0),
            func.coalesce(func.sum(c.total_excl_tax), 0),
            func.coalesce(func.sum(c.total_tax), 0),
            func.coalesce(func.sum(c.total_incl_tax), 0),
        ).where(c.run_id == run.id)
    ).one()
    chunks_total, chunks_done, issued, processed, billed, exceptions, excl, tax, incl = row
    rate = seconds_left = None
    # A rate only while the run works or once it has done its work: a cancelled or failed run has no rate to give.
    if run.started_at and processed and run.status not in ("cancelled", "failed"):
        end = run.finished_at or now
        elapsed = max((end - run.started_at).total_seconds(), 0.001)
        rate = processed / elapsed
        seconds_left = 0.0 if run.finished_at else max(run.total_contracts - processed, 0) / rate
    cents = Decimal("0.01")
    return RunProgress(
        total=run.total_contracts, processed=int(processed), billed=int(billed), exceptions=int(exceptions),
        chunks_done=int(chunks_done), chunks_total=int(chunks_total), issued_chunks=int(issued),
        total_excl_tax=Decimal(excl).quantize(cents), total_tax=Decimal(tax).quantize(cents),
        total_incl_tax=Decimal(incl).quantize(cents), rate_per_second=rate, seconds_left=seconds_left,
        finished=run.status in FINISHED,
    )


def exceptions_of(run: BillingRun, limit: int = 200) -> list[tuple[BillingException, str]]:
    """The run's exceptions with the public number of their contract."""
    from domain.contracts.models import Contract

    rows = db.session.execute(
        select(BillingException, Contract.contract_number)
        .join(Contract, Contract.id == BillingException.contract_id)
        .where(BillingException.run_id == run.id).order_by(BillingException.id).limit(limit))
    return [(exception, number) for exception, number in rows]


def request_issue(run: BillingRun) -> None:
    """Issue the draft bills of a simulated run."""
    if run.status != "simulated":
        raise RunError("state", "only a simulated run can be issued")
    run.status = "issuing"
    run.finished_at = None
    db.session.flush()


def dispatch_issue(run: BillingRun) -> None:
    dispatch("billing.issue_run", tenant_id=require_tenant_id(), job_id=_job_id(run, "issue"), run_id=run.id)


CANCELLABLE = ("pending", "running", "simulated", "failed")


def draft_count(run: BillingRun) -> int:
    """How many draft bills cancelling the run would delete."""
    return db.session.scalar(select(func.count(Bill.id)).where(Bill.billing_run_id == run.id,
                                                               Bill.status == "draft")) or 0


def cancel(run: BillingRun, *, now: datetime) -> None:
    """Stop a run: pending chunks are skipped and its draft bills deleted. Issued bills stay (use credit notes)."""
    if run.status not in CANCELLABLE:
        raise RunError("state", "this run can no longer be cancelled")
    run.status = "cancelled"
    run.finished_at = now
    db.session.execute(update(BillingRunChunk).where(BillingRunChunk.run_id == run.id,
                                                     BillingRunChunk.status == "pending").values(status="cancelled"))
    drafts = select(Bill.id).where(Bill.billing_run_id == run.id, Bill.status == "draft")
    db.session.execute(delete(BillLine).where(BillLine.bill_id.in_(drafts)), execution_options={
        "synchronize_session": False})
    db.session.execute(delete(Bill).where(Bill.billing_run_id == run.id, Bill.status == "draft"),
                       execution_options={"synchronize_session": False})
    db.session.flush()


def prepare_resume(run: BillingRun) -> str:
    """Put a failed or stalled run back to work; returns the job to dispatch."""
    if run.status == "failed" or run.status == "running":
        run.status = "running"
        run.error = None
        db.session.execute(update(BillingRunChunk).where(BillingRunChunk.run_id == run.id,
                                                         BillingRunChunk.status == "failed")
                           .values(status="pending", error=None))
        db.session.flush()
        return "billing.plan_run"
    if run.status == "issuing":
        return "billing.issue_run"
    if run.status == "pending":
        return "billing.plan_run"
    raise RunError("state", "only a failed, stalled or pending run can be resumed")


def dispatch_resume(run: BillingRun, job: str) -> None:
    dispatch(job, tenant_id=require_tenant_id(), job_id=_job_id(run, "resume"), run_id=run.id)
