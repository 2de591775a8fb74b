"""Bills for a utility's accounting: a list to sync (`updated_since`, cursor), one bill with its lines, and its PDF
exactly as issued (scope `bills:read`)."""
from __future__ import annotations

import logging

from flask import Response
from flask_babel import gettext as _

from api.errors import ApiError
from api.pagination import page_model
from api.registry import operation
from api.schemas.bills import BillListQuery, BillOut
from api.schemas.sync import SYNC_CONTRACT, next_cursor, position_of
from app.i18n import tenant_today
from domain.billing import api_queries as bills
from domain.billing.bills import document_of
from domain.billing.document_jobs import DocumentUnavailable
from domain.db import db

log = logging.getLogger("api")


@operation("GET", "/bills", scope="bills:read", response=page_model(BillOut), query=BillListQuery, tags=["Bills"],
           summary="Bills with their lines, to sync", errors=(422,),
           description="Issued and cancelled bills (never drafts) with their lines and what was paid on them. "
                       + SYNC_CONTRACT)
def list_bills(*, query: BillListQuery):
    page = bills.bill_page(after=position_of(query.cursor, "bills"), updated_since=query.updated_since,
                           limit=query.limit, today=tenant_today(), account_number=query.account_number)
    return page_model(BillOut)(data=[BillOut.of(r) for r in page.items], next_cursor=next_cursor(page, "bills"))


@operation("GET", "/bills/<number>", scope="bills:read", response=BillOut, tags=["Bills"],
           summary="One bill with its lines", errors=(404,))
def get_bill(number: str):
    record = bills.bill_record(number=number, today=tenant_today())
    if record is None:
        raise ApiError(404, "not_found", _("No bill has this number."))
    return BillOut.of(record)


@operation("GET", "/bills/<number>/pdf", scope="bills:read", tags=["Bills"], summary="The bill's PDF as issued",
           errors=(404, 503),
           description="The document issued to the customer, byte for byte (checked against the checksum stored at "
                       "issue); never a new rendering. 503 with `Retry-After` if it cannot be served as issued now.",
           response_content={"application/pdf": {"schema": {"type": "string", "format": "binary"}}})
def get_bill_pdf(number: str):
    bill = bills.issued_bill_for_document(number=number)
    if bill is None:
        raise ApiError(404, "not_found", _("No bill has this number."))
    try:
        data = document_of(bill)
    except DocumentUnavailable as exc:
        log.exception("bill document not available tenant=%s bill=%s", bill.tenant_id, bill.number)
        db.session.rollback()
        error = ApiError(503, "document_unavailable",
                         _("This bill's document cannot be served as issued right now. Try again later."),
                         headers={"Retry-After": "60"})
        raise error from exc
    response = Response(data, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'attachment; filename="bill-{_safe(bill.number)}.pdf"'
    return response


def _safe(number: str) -> str:
    return "".join(ch for ch in number if ch.isascii() and (ch.isalnum() or ch in "-_.")) or "document"
