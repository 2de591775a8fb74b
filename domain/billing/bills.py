"""Reading bills: an account's bills and an issued bill's document, for the portal and the back office."""
from __future__ import annotations

from sqlalchemy import select

from domain.billing.document_jobs import render_bill_document
from domain.billing.models import Bill
from domain.db import db
from domain.storage import storage
from tenants.context import require_tenant_id


def bills_of_account(*, account_id: int, limit: int = 50) -> list[Bill]:
    """Issued and cancelled bills of an account, newest first (drafts are not the customer's yet)."""
    return list(db.session.scalars(
        select(Bill).where(Bill.account_id == account_id, Bill.status != "draft")
        .order_by(Bill.period_start.desc(), Bill.id.desc()).limit(limit)))


def issued_bill(*, number: str) -> Bill | None:
    return db.session.scalar(select(Bill).where(Bill.number == number, Bill.status != "draft"))


def document_of(bill: Bill) -> bytes:
    """The bill's PDF as sent; rendered now if no worker has rendered it yet."""
    key = render_bill_document(bill_id=bill.id)
    return storage().read(tenant_id=require_tenant_id(), key=key)
