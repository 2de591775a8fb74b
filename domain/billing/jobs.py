"""Billing run jobs (queue `billing`): plan a run into chunks, bill each chunk, issue, finish.

Every job is idempotent and restartable: a chunk is done once (its row says so, and
a partial unique index allows one live bill per contract, period and kind), a re-run
of the planner re-dispatches only what is not done, and a cancelled run's jobs do
nothing. Jobs commit their own work before dispatching follow-up jobs.
"""
from __future__ import annotations

import gc
import logging
from contextlib import contextmanager
from datetime import datetime

from sqlalchemy import and_, exists, func, select, update

from domain.audit.recorder import record_event
from domain.billing.chunk import bill_contract_range
from domain.billing.document_jobs import dispatch_chunk_documents
from domain.billing.issuing import issue_drafts
from domain.billing.models import Bill
from domain.billing.run_models import BillingRun, BillingRunChunk
from domain.contracts.models import Contract, CustomerAccount
from domain.db import db, utcnow
from domain.jobs import dispatch
from domain.sites.models import DeliveryPoint
from tenants.context import require_tenant_id
from tenants.models import Tenant

log = logging.getLogger("billing")


@contextmanager
def _without_cyclic_gc():
    """Python's cyclic garbage collector paused while a chunk runs.

    A chunk allocates a few hundred thousand short-lived objects (rows, readings, lines),
    which set off collections, and a full collection walks every object of the process
    (the app, SQLAlchemy, the engine: 50-100 ms each time in a worker), writing to each one,
    which in a forked RQ work horse also copies every page of the parent's heap. The chunk's
    own garbage is freed by reference counting anyway; any cycle waits for the next collection.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _run(run_id: int) -> BillingRun | None:
    return db.session.scalar(select(BillingRun).where(BillingRun.id == run_id))


def scoped_contract_ids(run: BillingRun):
    """SELECT of the ids of the contracts a run covers (its scope; due-ness is decided per contract)."""
    stmt = select(Contract.id).where(Contract.start_date < run.billing_date)
    if run.scope_activity:
        stmt = stmt.join(DeliveryPoint, DeliveryPoint.id == Contract.delivery_point_id).where(
            DeliveryPoint.activity == run.scope_activity)
    if run.scope_cycle:
        stmt = stmt.join(CustomerAccount, CustomerAccount.id == Contract.account_id).where(
            CustomerAccount.billing_cycle == run.scope_cycle)
    return stmt


def _plan_chunks(run: BillingRun) -> list[dict]:
    # Explicit tenant filter: the outer statements are Core, out of the ORM guard's reach.
    ids = scoped_contract_ids(run).where(Contract.tenant_id == run.tenant_id).subquery()
    numbered = select(ids.c.id, func.row_number().over(order_by=ids.c.id).label("rn")).subquery()
    filtered = {"tenant_filtered": True}
    total = db.session.scalar(select(func.count()).select_from(ids), execution_options=filtered) or 0
    starts = list(db.session.scalars(
        select(numbered.c.id).where((numbered.c.rn - 1) % run.chunk_size == 0).order_by(numbered.c.id),
        execution_options=filtered))
    last_id = db.session.scalar(select(func.max(ids.c.id)), execution_options=filtered)
    chunks = []
    for index, first in enumerate(starts):
        last = starts[index + 1] - 1 if index + 1 < len(starts) else last_id
        count = run.chunk_size if index + 1 < len(starts) else total - run.chunk_size * index
        chunks.append({"number": index + 1, "first_contract_id": first, "last_contract_id": last, "contracts": count})
    return chunks


def _locked_run(run_id: int) -> BillingRun | None:
    """The run's row, locked until the job commits (PostgreSQL): two planners of one run (a planner given back by
    RQ and one dispatched by the sweep, domain/billing/recovery.py) plan it once; the second finds the chunks."""
    stmt = select(BillingRun).where(BillingRun.id == run_id)
    if db.session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    return db.session.scalar(stmt)


def plan_run(*, run_id: int) -> dict:
    """Split the run into chunks (first time only) and dispatch every chunk not done yet."""
    run = _locked_run(run_id)
    if run is None or run.status not in ("pending", "running"):
        db.session.rollback()
        return {"skipped": True}
    if not run.chunks:
        planned = _plan_chunks(run)
        for spec in planned:
            db.session.add(BillingRunChunk(run_id=run.id, **spec))
        run.total_contracts = sum(spec["contracts"] for spec in planned)
        run.started_at = utcnow()
        run.status = "running"
        record_event(db.session, tenant_id=run.tenant_id, action="billing_run_started", entity_type="BillingRun",
                     entity_id=run.id, occurred_at=run.started_at, details={
                         "billing_date": run.billing_date, "mode": run.mode, "activity": run.scope_activity,
                         "cycle": run.scope_cycle, "contracts": run.total_contracts, "chunks": len(planned)})
    db.session.commit()
    pending = list(db.session.scalars(select(BillingRunChunk.number).where(
        BillingRunChunk.run_id == run.id, BillingRunChunk.status == "pending").order_by(BillingRunChunk.number)))
    tenant_id = require_tenant_id()
    for number in pending:
        dispatch("billing.bill_chunk", tenant_id=tenant_id, job_id=f"billing-{tenant_id}-{run_id}-chunk-{number}",
                 run_id=run_id, chunk_number=number)
    if not pending:
        _finish_if_done(run_id)
    return {"chunks": len(pending)}


def _locked_chunk(run_id: int, number: int) -> BillingRunChunk | None:
    """The chunk's row, locked until the job commits. A second job for the same chunk (a run taken up after a
    worker died, domain/billing/recovery.py) waits for the first to finish, then finds the chunk done. It does
    not skip a locked row: the lock may be a killed worker's, whose transaction PostgreSQL has yet to roll back,
    and skipping would leave that chunk to nobody."""
    stmt = select(BillingRunChunk).where(BillingRunChunk.run_id == run_id, BillingRunChunk.number == number)
    if db.session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    return db.session.scalar(stmt)


def bill_chunk(*, run_id: int, chunk_number: int) -> dict:
    """Compute (and, in issue mode, issue) the bills of one chunk in one transaction."""
    with _without_cyclic_gc():
        return _bill_chunk(run_id, chunk_number)


def _bill_chunk(run_id: int, chunk_number: int) -> dict:
    run = _run(run_id)
    chunk = _locked_chunk(run_id, chunk_number)
    if run is None or chunk is None or chunk.status != "pending" or run.status != "running":
        db.session.rollback()
        # Done already (a job given back after its worker died between the chunk's commit and closing the run):
        # the run may be waiting for nothing but this close.
        if run is not None:
            _finish_if_done(run_id)
        return {"skipped": True}
    tenant = db.session.get(Tenant, run.tenant_id)
    try:
        outcome = bill_contract_range(run=run, tenant=tenant, first_contract_id=chunk.first_contract_id,
                                      last_contract_id=chunk.last_contract_id, now=utcnow())
        # A chunk with nothing due issued nothing, and has nothing left to issue either: in issue mode it is issued,
        # or the run would wait for it for ever.
        chunk.issued = outcome.issued or run.mode == "issue"
        chunk.processed = outcome.processed
        chunk.billed = len(outcome.bill_ids)
        chunk.exceptions = outcome.exceptions
        chunk.total_excl_tax = outcome.total_excl_tax
        chunk.total_tax = outcome.total_tax
        chunk.total_incl_tax = outcome.total_incl_tax
        chunk.status = "done"
        chunk.finished_at = utcnow()
        db.session.commit()
    except Exception as exc:  # a broken chunk fails the run visibly; staff resume it after a fix
        db.session.rollback()
        log.exception("billing chunk failed tenant=%s run=%s chunk=%s", run.tenant_id, run_id, chunk_number)
        _fail(run_id, chunk_number, f"{type(exc).__name__}: {exc}")
        return {"failed": True}
    if outcome.issued and outcome.bill_ids:  # committed: their documents are rendered now, outside this transaction
        dispatch_chunk_documents(tenant_id=run.tenant_id, run_id=run_id, chunk_number=chunk_number)
    _finish_if_done(run_id)
    return {"processed": outcome.processed, "billed": len(outcome.bill_ids), "exceptions": outcome.exceptions}


def _fail(run_id: int, chunk_number: int, error: str) -> None:
    db.session.execute(update(BillingRunChunk).where(
        BillingRunChunk.run_id == run_id, BillingRunChunk.number == chunk_number).values(status="failed", error=error))
    db.session.execute(update(BillingRun).where(BillingRun.id == run_id, BillingRun.status == "running")
                       .values(status="failed", error=error[:2000]))
    db.session.commit()


def issue_run(*, run_id: int) -> dict:
    """Issue a simulated run: dispatch one issuing job per chunk not issued yet."""
    run = _run(run_id)
    if run is None or run.status != "issuing":
        return {"skipped": True}
    pending = list(db.session.scalars(select(BillingRunChunk.number).where(
        BillingRunChunk.run_id == run_id, BillingRunChunk.status == "done", BillingRunChunk.issued.is_(False))
        .order_by(BillingRunChunk.number)))
    db.session.commit()
    tenant_id = require_tenant_id()
    for number in pending:
        dispatch("billing.issue_chunk", tenant_id=tenant_id, job_id=f"billing-{tenant_id}-{run_id}-issue-{number}",
                 run_id=run_id, chunk_number=number)
    if not pending:
        _finish_if_done(run_id)
    return {"chunks": len(pending)}


def issue_chunk(*, run_id: int, chunk_number: int) -> dict:
    run = _run(run_id)
    chunk = _locked_chunk(run_id, chunk_number)
    if run is None or chunk is None or chunk.issued or run.status != "issuing":
        db.session.rollback()
        if run is not None:
            _finish_if_done(run_id)
        return {"skipped": True}
    tenant = db.session.get(Tenant, run.tenant_id)
    bill_ids = list(db.session.scalars(select(Bill.id).where(
        Bill.billing_run_id == run_id, Bill.status == "draft",
        Bill.contract_id.between(chunk.first_contract_id, chunk.last_contract_id)).order_by(Bill.id)))
    issued = issue_drafts(tenant_id=run.tenant_id, bill_ids=bill_ids, issued_at=utcnow(),
                          issue_date=run.billing_date, payment_terms_days=tenant.payment_terms_days)
    chunk.issued = True
    db.session.commit()
    if issued:
        dispatch_chunk_documents(tenant_id=run.tenant_id, run_id=run_id, chunk_number=chunk_number)
    _finish_if_done(run_id)
    return {"issued": issued}


def finish_if_done(run_id: int) -> bool:
    """Close the run once no chunk is left; safe when several workers finish at once. True if this call closed it.

    Called after every chunk, by a chunk job that finds its chunk done already, and by the sweep
    (domain/billing/recovery.py): whoever comes first closes the run."""
    chunks = BillingRunChunk
    now: datetime = utcnow()
    open_chunks = exists().where(chunks.run_id == run_id, chunks.status.in_(("pending", "failed")))
    unissued = exists().where(chunks.run_id == run_id, chunks.status == "done", chunks.issued.is_(False))
    simulated = db.session.execute(update(BillingRun).where(
        BillingRun.id == run_id, BillingRun.status == "running", BillingRun.mode == "simulate", ~open_chunks)
        .values(status="simulated", finished_at=now)).rowcount
    # In issue mode a chunk is issued in the transaction that bills it: once none is open, the run is complete
    # (runs left `running` by empty chunks never marked issued, before this was so, complete too).
    completed = db.session.execute(update(BillingRun).where(
        BillingRun.id == run_id, ~open_chunks,
        and_(BillingRun.status == "running", BillingRun.mode == "issue")
        | and_(BillingRun.status == "issuing", ~unissued))
        .values(status="completed", finished_at=now)).rowcount
    if simulated or completed:
        run = _run(run_id)
        record_event(db.session, tenant_id=run.tenant_id, action=f"billing_run_{run.status}",
                     entity_type="BillingRun", entity_id=run.id, occurred_at=now, details={"status": run.status})
    db.session.commit()
    if completed:  # catch-up for documents whose chunk job was lost with its worker (workers only)
        tenant_id = require_tenant_id()
        dispatch("billing.render_run_documents", tenant_id=tenant_id, job_id=f"billing-{tenant_id}-{run_id}-documents",
                 background_only=True, run_id=run_id)
    return bool(simulated or completed)


_finish_if_done = finish_if_done
