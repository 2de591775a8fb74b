"""Bills: list, detail with lines and payment status, PDF."""
from __future__ import annotations

import logging
from datetime import timedelta

from babel.numbers import format_percent
from flask import abort, make_response, render_template, request
from flask_babel import get_locale, gettext
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from app.auth import customer_required
from app.i18n import tenant_today
from domain.billing import bill_list
from domain.billing import bills as bill_service
from domain.billing.document_data import display_unit, line_description, tax_totals
from domain.billing.document_jobs import DocumentUnavailable
from domain.db import db
from domain.i18n import format_unit_price
from domain.payments import services as payments
from portal.blueprint import bp

log = logging.getLogger("portal.bills")
BILLS_PER_PAGE = 20

PAYMENT_STATUS_NAMES = {
    "pending": _l("Being confirmed"), "succeeded": _l("Paid"), "failed": _l("Failed"),
    "cancelled": _l("Cancelled"), "refunded": _l("Refunded"), "partly_refunded": _l("Partly refunded"),
}


def _percent(rate, locale: str) -> str:
    return format_percent(rate, format="#,##0.##%", locale=locale)


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
        payment_bills=found.payment_bills, account_numbers=found.account_numbers, **_names())


@bp.get("/bills/<number>")
@customer_required
def bill(number: str):
    view = bill_service.bill_of_customer(customer_user_id=current_user.user.id, number=number,
                                         today=tenant_today())
    if view is None:
        abort(404)
    locale = str(get_locale())
    currency = view.bill.currency
    lines = [(line, line_description(line.description, gettext), display_unit(line.unit, line.quantity, locale),
              format_unit_price(line.unit_price, currency, locale), _percent(line.tax_rate, locale))
             for line in view.bill.lines]
    taxes = [(tax, _percent(tax.rate, locale)) for tax in tax_totals(view.bill.lines)]
    return render_template(
        "portal/bills/detail.html", view=view, bill=view.bill, lines=lines, taxes=taxes,
        allocations=bill_service.allocations_of_bill(bill_id=view.bill.id), **_names())


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
