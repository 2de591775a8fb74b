"""What a billing run made, for staff to check before issuing (issue 15 §2): the run's bills (drafts of a
simulation) with their totals and exceptions, paged, narrowed and exported to CSV; each draft opened as the customer
would see it, marked as a simulation that is not issued."""
from __future__ import annotations

from datetime import timedelta

from flask import abort, render_template, request
from flask_babel import gettext as _

from app.auth import staff_permission
from app.bill_presentation import bill_presentation
from app.csv_export import csv_response, wants_csv
from app.i18n import BILL_STATUS_NAMES, EXCEPTION_NAMES
from backoffice.billing_views import bp
from backoffice.texts import exception_detail
from domain.billing import runs
from domain.billing.simulation import draft_of_run, run_rows

PER_PAGE = 50


def _run_or_404(public_id: str):
    run = runs.run_by_public_id(public_id)
    if run is None:
        abort(404)
    return run


def _filters() -> tuple[bool, str]:
    return request.args.get("show") == "exceptions", request.args.get("number", "").strip()[:40]


@bp.get("/runs/<public_id>/bills")
@staff_permission("billing.run")
def run_bills(public_id: str):
    run = _run_or_404(public_id)
    exceptions_only, number = _filters()
    if wants_csv():
        _page, rows = run_rows(run, exceptions_only=exceptions_only, number=number, size=None)
        return csv_response(f"billing-run-{run.billing_date.isoformat()}", _header(), _csv_rows(rows))
    page, rows = run_rows(run, exceptions_only=exceptions_only, number=number,
                          requested_page=request.args.get("page"), size=PER_PAGE)
    return render_template("backoffice/billing/run_bills.html", run=run, page=page, rows=rows,
                           exceptions_only=exceptions_only, number=number, one_day=timedelta(days=1))


def _problems(row) -> str:
    return "; ".join(f"{EXCEPTION_NAMES.get(e.code, e.code)}: {exception_detail(e)}" for e in row.exceptions)


def _header():
    return [_("Customer"), _("Customer number"), _("Contract"), _("Bill"), _("Status"), _("Period from"),
            _("Period to"), _("Total excl. tax"), _("Tax"), _("Total incl. tax"), _("Currency"), _("Estimated"),
            _("Exceptions")]


def _csv_rows(rows):
    for row in rows:
        bill = row.bill
        yield [row.account.holder.display_name, row.account.account_number,
               row.contract.contract_number if row.contract else "",
               (bill.number or "") if bill else "", str(BILL_STATUS_NAMES.get(bill.status, bill.status)) if bill
               else _("not billed"),
               bill.period_start if bill else None, (bill.period_end - timedelta(days=1)) if bill else None,
               bill.total_excl_tax if bill else None, bill.total_tax if bill else None,
               bill.total_incl_tax if bill else None, bill.currency if bill else "",
               (_("Yes") if bill.estimated else _("No")) if bill else "", _problems(row)]


@bp.get("/runs/<public_id>/drafts/<bill_id>")
@staff_permission("billing.run")
def run_draft(public_id: str, bill_id: str):
    run = _run_or_404(public_id)
    bill = draft_of_run(run, bill_id)
    if bill is None:
        abort(404)
    return render_template("backoffice/billing/draft.html", run=run, bill=bill, one_day=timedelta(days=1),
                           **bill_presentation(bill))
