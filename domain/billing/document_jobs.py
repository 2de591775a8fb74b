"""Bill documents fixed at issue: rendered once right after the issuing transaction commits (one job per chunk of a
run, batched), stored under the tenant's prefix with their SHA-256, and served byte-identical afterwards.

A document is never rendered again once stored: a stored file found missing is replaced only by a rendering with
the very same checksum (rendering is deterministic: reportlab's invariant mode, and every fact the document shows
is read as it was at issue), and a file whose bytes no longer match is refused, never served.
"""
from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from sqlalchemy import select, update

from domain.billing.document_data import BillNotFound, build_bill_document
from domain.billing.document_pdf import render_bill_pdf
from domain.billing.issuing import committed_bills
from domain.billing.models import Bill
from domain.billing.run_models import BillingRunChunk
from domain.db import db
from domain.jobs import dispatch
from domain.i18n import translator
from domain.storage import storage
from tenants.context import require_tenant_id

log = logging.getLogger("billing.documents")

RUN_BATCH = 200
_on_demand: ContextVar[bool] = ContextVar("bill_documents_on_demand", default=False)


class DocumentUnavailable(RuntimeError):
    """The bill's stored document cannot be served as issued (its bytes changed, or it is lost and a rendering
    now would differ): staff restore the file; nothing different is ever served in its place."""


@contextmanager
def documents_on_demand() -> Iterator[None]:
    """Bills issued inside this block get their documents when first asked for, not right after issue (the demo
    seed bills two years of history in a few seconds; its documents are rendered as they are opened)."""
    token = _on_demand.set(True)
    try:
        yield
    finally:
        _on_demand.reset(token)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def render_bill_document(*, bill_id: int) -> str:
    """Render and store the bill's document unless stored already; returns its storage key.

    Idempotent: a bill whose document is stored keeps it (the customer always downloads the document that was
    issued). The row lock (PostgreSQL) makes concurrent callers render once: the second waits, then finds the
    document; on SQLite the conditional update in `_store` does the same. The caller commits.
    """
    tenant_id = require_tenant_id()
    stmt = select(Bill).where(Bill.id == bill_id)
    if db.session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    bill = db.session.scalar(stmt)
    if bill is None:
        raise BillNotFound(f"bill {bill_id} not found")
    return _render(bill, tenant_id)


def _render(bill: Bill, tenant_id: int) -> str:
    files = storage()
    if bill.document_path and files.exists(tenant_id=tenant_id, key=bill.document_path):
        return bill.document_path

    document = build_bill_document(bill_id=bill.id)
    pdf = render_bill_pdf(document, _=translator(document.locale))
    digest = sha256(pdf)
    if bill.document_sha256 and digest != bill.document_sha256:
        # The stored file is lost and today's rendering differs from the one issued: never serve another document.
        log.error("bill document lost and not reproducible tenant=%s bill=%s number=%s", tenant_id, bill.id,
                  bill.number)
        raise DocumentUnavailable(f"the document of bill {bill.number} is missing from the storage")
    return _store(bill, tenant_id, pdf, digest)


def _store(bill: Bill, tenant_id: int, pdf: bytes, digest: str) -> str:
    files = storage()
    key = files.save(tenant_id=tenant_id, category="bills", filename=f"{bill.number}.pdf", data=pdf)
    previous = bill.document_path
    # Compare-and-set: whoever stores first wins; a concurrent renderer (SQLite has no row lock) finds it stored.
    condition = Bill.document_path.is_(None) if previous is None else Bill.document_path == previous
    stored = db.session.execute(
        update(Bill).where(Bill.id == bill.id, condition).values(document_path=key, document_sha256=digest),
        execution_options={"synchronize_session": False}).rowcount
    if not stored:
        files.delete(tenant_id=tenant_id, key=key)
        db.session.refresh(bill)
        return bill.document_path
    db.session.refresh(bill)
    log.info("bill document stored tenant=%s bill=%s number=%s bytes=%d sha256=%s", tenant_id, bill.id, bill.number,
             len(pdf), digest)
    return key


def stored_document(bill: Bill) -> bytes:
    """The bytes of the bill's document as issued: rendered and stored now if no worker has done it yet, checked
    against the stored checksum (recorded now for a document stored before checksums were kept)."""
    tenant_id = require_tenant_id()
    key = bill.document_path
    if not key or not storage().exists(tenant_id=tenant_id, key=key):  # else no row lock: a plain read
        key = render_bill_document(bill_id=bill.id)
    data = storage().read(tenant_id=tenant_id, key=key)
    digest = sha256(data)
    if bill.document_sha256 is None:
        db.session.execute(update(Bill).where(Bill.id == bill.id, Bill.document_sha256.is_(None))
                           .values(document_sha256=digest), execution_options={"synchronize_session": False})
        db.session.refresh(bill)
    elif digest != bill.document_sha256:
        log.error("bill document checksum mismatch tenant=%s bill=%s number=%s", tenant_id, bill.id, bill.number)
        raise DocumentUnavailable(f"the stored document of bill {bill.number} does not match its checksum")
    return data


def dispatch_chunk_documents(*, tenant_id: int, run_id: int, chunk_number: int) -> None:
    """After a chunk's bills are issued and committed: ask for their documents (unless made on demand here)."""
    committed_bills()  # asked for here, by chunk: not once more bill by bill
    if _on_demand.get():
        return
    dispatch("billing.render_chunk_documents", tenant_id=tenant_id,
             job_id=f"billing-{tenant_id}-{run_id}-documents-{chunk_number}", run_id=run_id,
             chunk_number=chunk_number)


def dispatch_documents() -> int:
    """After a commit (the job runner, the end of a request): ask for the documents of the bills it issued outside
    billing runs (corrective bills, credit notes, instalments, final bills), in batches. Returns how many."""
    issued = committed_bills()
    if not issued or _on_demand.get():
        return 0
    by_tenant: dict[int, list[int]] = {}
    for tenant_id, bill_id in issued:
        by_tenant.setdefault(tenant_id, []).append(bill_id)
    for tenant_id, bill_ids in by_tenant.items():
        for start in range(0, len(bill_ids), RUN_BATCH):
            batch = bill_ids[start:start + RUN_BATCH]
            dispatch("billing.render_bill_documents", tenant_id=tenant_id,
                     job_id=f"billing-{tenant_id}-documents-{batch[0]}-{batch[-1]}", bill_ids=batch)
    return len(issued)


def render_bill_documents(*, bill_ids: list[int]) -> dict:
    """Render the documents of these issued bills that have none yet (skipping rows another worker holds)."""
    tenant_id = require_tenant_id()
    stmt = (select(Bill).where(Bill.id.in_(bill_ids), Bill.status == "issued", Bill.document_path.is_(None))
            .order_by(Bill.id))
    if db.session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    bills = list(db.session.scalars(stmt))
    for bill in bills:
        _render(bill, tenant_id)
    return {"rendered": len(bills)}


def render_chunk_documents(*, run_id: int, chunk_number: int, after_bill_id: int = 0,
                           batch_size: int = RUN_BATCH) -> dict:
    """Render the next batch of a chunk's issued bills that have no document yet, then dispatch the next batch.

    One job per batch keeps each job short and lets billing jobs (a higher-priority queue) pass in between.
    Bills are taken in id order after `after_bill_id`; rows another worker holds are skipped (it renders them).
    """
    tenant_id = require_tenant_id()
    chunk = db.session.scalar(select(BillingRunChunk).where(BillingRunChunk.run_id == run_id,
                                                            BillingRunChunk.number == chunk_number))
    if chunk is None:
        return {"rendered": 0, "last_bill_id": after_bill_id}
    bills = _unrendered(run_id, after_bill_id, batch_size,
                        Bill.contract_id.between(chunk.first_contract_id, chunk.last_contract_id))
    for bill in bills:
        _render(bill, tenant_id)
    if len(bills) == batch_size:
        dispatch("billing.render_chunk_documents", tenant_id=tenant_id,
                 job_id=f"billing-{tenant_id}-{run_id}-documents-{chunk_number}-{bills[-1].id}",
                 run_id=run_id, chunk_number=chunk_number, after_bill_id=bills[-1].id, batch_size=batch_size)
    return {"rendered": len(bills), "last_bill_id": bills[-1].id if bills else after_bill_id}


def _unrendered(run_id: int, after_bill_id: int, batch_size: int, *where) -> list[Bill]:
    stmt = (select(Bill).where(Bill.billing_run_id == run_id, Bill.status == "issued", Bill.id > after_bill_id,
                               Bill.document_path.is_(None), *where)
            .order_by(Bill.id).limit(batch_size))
    if db.session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    return list(db.session.scalars(stmt))


def render_run_documents(*, run_id: int, after_bill_id: int = 0, batch_size: int = RUN_BATCH) -> dict:
    """Catch-up once a run is complete: render, in batches, any of its issued bills still without a document (a
    chunk's document job lost with its worker). Costs one query when every document is there."""
    tenant_id = require_tenant_id()
    bills = _unrendered(run_id, after_bill_id, batch_size)
    for bill in bills:
        _render(bill, tenant_id)
    if len(bills) == batch_size:
        dispatch("billing.render_run_documents", tenant_id=tenant_id,
                 job_id=f"billing-{tenant_id}-{run_id}-documents-{bills[-1].id}",
                 run_id=run_id, after_bill_id=bills[-1].id, batch_size=batch_size)
    return {"rendered": len(bills), "last_bill_id": bills[-1].id if bills else after_bill_id}
