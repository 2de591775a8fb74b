"""Bills: list, detail with lines and payment status, PDF."""
from __future__ import annotations

import logging
from datetime import timedelta

from flask import abort, make_response, render_template, request
from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext
from flask_login import current_user

from app.auth import customer_required
from app.bill_presentation import bill_presentation
from app.i18n import tenant_today
from domain.billing import bill_list
from domain.billing import bills as bill_service
from domain.billing.document_jobs import DocumentUnavailable
from domain.db import db
from domain.payments import services as payments
from portal.blueprint import bp

log = logging.getLogger("portal.bills")
BILLS_PER_PAGE = 20

# A payment's words ("paiement": "Payé", "Annulé"), not a bill's ("facture": "Payée", "Annulée").
PAYMENT_STATUS_NAMES = {
    "pending": _l("Being confirmed"), "succeeded": lazy_pgettext("payment status", "Paid"), "failed": _l("Failed"),
    "cancelled": lazy_pgettext("payment status", "Cancelled"), "refunded": _l("Refunded"),
    "partly_refunded": _l("Partly refunded"),
    "expired": _l("Not completed"),
}


def _names() -> dict:
    return {"payment_status_names": PAYMENT_STATUS_NAMES,
            "payment_display_status": payments.display_status, "one_day": timedelta(days=1)}


@bp.get("/bills")
@customer_required
def bills():
    try:
        found = bill_list.bills_page(customer_user_id=current_user.user.id, account_number=request.args.get("account"),
                                     requested=request.args.get("page"), today=tenant_today(), size=BILLS_PER_PAGE)
    except bill_list.UnknownAccount:
        abort(404)
    return render_template(
        "portal/bills/list.html", accounts=found.accounts, chosen=found.chosen, shown_accounts=found.shown_accounts,
        page=found.page, balances=found.balances, views=found.views, payments=found.payments,
        payment_bills=found.payment_bills, account_numbers=found.account_numbers,
        debits=payments.pending_debits([v.bill.id for v in found.views if v.payable]), **_names())


@bp.get("/bills/<number>")
@customer_required
def bill(number: str):
    view = bill_service.bill_of_customer(customer_user_id=current_user.user.id, number=number,
                                         today=tenant_today())
    if view is None:
        abort(404)
    bill = view.bill
    return render_template(
        "portal/bills/detail.html", view=view, bill=bill, **bill_presentation(bill),
        allocations=bill_service.allocations_of_bill(bill_id=bill.id),
        debit=payments.pending_debits([bill.id]).get(bill.id) if view.payable else None, **_names())


@bp.get("/bills/<number>.pdf")
@customer_required
def bill_pdf(number: str):
    view = bill_service.bill_of_customer(customer_user_id=current_user.user.id, number=number,
                                         today=tenant_today())
    if view is None:
        abort(404)
    try:
        data = bill_service.document_of(view.bill)
    except Exception as exc:  # the document cannot be served now: say so, never a 500, never another document
        log.exception("bill document not available tenant=%s bill=%s", view.bill.tenant_id, view.bill.number)
        db.session.rollback()
        page = render_template("portal/bills/preparing.html", number=number,
                               unavailable=isinstance(exc, DocumentUnavailable))
        response = make_response(page, 503)
        response.headers["Retry-After"] = "60"
        return response
    response = make_response(data)
    response.headers["Content-Type"] = "application/pdf"
    response.headers["Content-Disposition"] = pdf_disposition(view.bill.number,
                                                              download=request.args.get("download") == "1")
    return response


def pdf_disposition(number: str, *, download: bool) -> str:
    """The Open link shows the PDF in the browser; the Download link saves it as bill-<number>.pdf."""
    safe = "".join(ch for ch in number if ch.isascii() and (ch.isalnum() or ch in "-_.")) or "document"
    if not download:
        return f'inline; filename="{safe}.pdf"'
    return f'attachment; filename="bill-{safe}.pdf"'
