"""Background jobs: render an issued bill's PDF once and file it under the tenant's prefix; render a whole
run's documents in batches once it is issued, so customers download them at once."""
from __future__ import annotations

import logging

from sqlalchemy import select

from domain.billing.document_data import BillNotFound, build_bill_document
from domain.billing.document_pdf import render_bill_pdf
from domain.billing.models import Bill
from domain.db import db
from domain.jobs import dispatch
from domain.i18n import translator
from domain.storage import storage
from tenants.context import require_tenant_id

log = logging.getLogger("billing.documents")


def render_bill_document(*, bill_id: int) -> str:
    """Render and store the bill's document; returns its storage key.

    Idempotent: a bill whose document is already stored keeps it (a bill is not re-rendered
    after issue, so the customer always downloads the document that was sent). The caller
    (the job runner) commits.
    """
    tenant_id = require_tenant_id()
    # The row lock (PostgreSQL) makes a job enqueued twice render once: the second waits, then finds the file.
    bill = db.session.scalar(select(Bill).where(Bill.id == bill_id).with_for_update())
    if bill is None:
        raise BillNotFound(f"bill {bill_id} not found")
    return _render(bill, tenant_id)


def _render(bill: Bill, tenant_id: int) -> str:
    bill_id = bill.id
    files = storage()
    if bill.document_path and files.exists(tenant_id=tenant_id, key=bill.document_path):
        return bill.document_path

    document = build_bill_document(bill_id=bill_id)
    pdf = render_bill_pdf(document, _=translator(document.locale))
    key = files.save(tenant_id=tenant_id, category="bills", filename=f"{bill.number}.pdf", data=pdf)
    bill.document_path = key
    db.session.flush()
    log.info("bill document stored tenant=%s bill=%s number=%s bytes=%d", tenant_id, bill.id, bill.number,
             len(pdf))
    return key


RUN_BATCH = 200


def render_run_documents(*, run_id: int, after_bill_id: int = 0, batch_size: int = RUN_BATCH) -> dict:
    """Render the next batch of an issued run's bills that have no document yet, then dispatch the next batch.

    One job per batch keeps each job short and lets billing jobs (a higher-priority queue) pass in between.
    Bills are taken in id order after `after_bill_id`; rows another worker holds are skipped (it renders them).
    """
    tenant_id = require_tenant_id()
    stmt = (select(Bill).where(Bill.billing_run_id == run_id, Bill.status == "issued", Bill.id > after_bill_id,
                               Bill.document_path.is_(None))
            .order_by(Bill.id).limit(batch_size))
    if db.session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    bills = list(db.session.scalars(stmt))
    for bill in bills:
        _render(bill, tenant_id)
    if len(bills) == batch_size:
        dispatch("billing.render_run_documents", tenant_id=tenant_id,
                 job_id=f"billing-{tenant_id}-{run_id}-documents-{bills[-1].id}",
                 run_id=run_id, after_bill_id=bills[-1].id, batch_size=batch_size)
    return {"rendered": len(bills), "last_bill_id": bills[-1].id if bills else after_bill_id}
