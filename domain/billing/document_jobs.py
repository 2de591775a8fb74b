"""Background job: render an issued bill's PDF once and file it under the tenant's prefix."""
from __future__ import annotations

import logging

from sqlalchemy import select

from domain.billing.document_data import BillNotFound, build_bill_document
from domain.billing.document_pdf import render_bill_pdf
from domain.billing.models import Bill
from domain.db import db
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
