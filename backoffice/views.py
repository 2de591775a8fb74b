"""Back-office pages: staff sign-in, home, customer search and the customer file."""
from __future__ import annotations

from flask import Blueprint, abort, flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_wtf import FlaskForm
from app.auth import staff_permission
from app.i18n import tenant_zone
from app.auth_views import register_auth_views
from backoffice.dashboard import home_figures
from domain.audit import services as audit
from domain.billing import bills, corrections, down_payments
from domain.payments import mandates
from domain.payments import services as card_payments
from domain.db import db, utcnow
from domain.contracts import services as accounts

bp = Blueprint("backoffice", __name__)

register_auth_views(bp, kind="staff", home_endpoint="backoffice.home", template_dir="backoffice",
                    protect=staff_permission("home.view"))


@bp.get("/")
@staff_permission("home.view")
def home():
    return render_template("backoffice/home.html", figures=home_figures())


@bp.get("/customers")
@staff_permission("customers.view")
def customers():
    query = request.args.get("q", "")[:100]
    results = accounts.search_accounts(query=query)
    return render_template("backoffice/customers.html", query=query, results=results)


@bp.get("/customers/<account_number>")
@staff_permission("customers.view")
def customer(account_number: str):
    found = accounts.account_by_number(account_number=account_number)
    if found is None:
        abort(404)
    balance = accounts.balances(account_ids=[found.id])[found.id]
    return render_template("backoffice/customer.html", account=found, balance=balance,
                           bills=bills.bills_of_account(account_id=found.id), form=FlaskForm(),
                           mandate=mandates.active_mandate(account_id=found.id),
                           budget_plans=down_payments.plans_with_bills(account_id=found.id),
                           card_reversals=card_payments.reversals_of_account(account_id=found.id))


@bp.post("/bills/<number>/correct")
@staff_permission("billing.run")
def bill_correct(number: str):
    bill = bills.issued_bill(number=number)
    if bill is None or not FlaskForm().validate_on_submit():
        abort(404 if bill is None else 400)
    account_number = bill.account.account_number
    now = utcnow()
    try:
        credit, corrective = corrections.cancel_and_rebill(number=number, issued_at=now,
                                                           issue_date=now.astimezone(tenant_zone()).date())
    except corrections.CorrectionRefused as exc:
        flash(_("This bill cannot be cancelled and re-billed: %(reason)s", reason=str(exc)), "error")
    else:
        db.session.commit()
        flash(_("Bill %(number)s is cancelled by credit note %(credit)s and replaced by bill %(corrective)s.",
                number=number, credit=credit.number, corrective=corrective.number), "success")
    return redirect(url_for("backoffice.customer", account_number=account_number))


@bp.get("/bills/<number>.pdf")
@staff_permission("customers.view")
def bill_pdf(number: str):
    bill = bills.issued_bill(number=number)
    if bill is None:
        abort(404)
    response = make_response(bills.document_of(bill))
    response.headers["Content-Type"] = "application/pdf"
    response.headers["Content-Disposition"] = f'inline; filename="{bill.number}.pdf"'
    return response


@bp.get("/customers/<account_number>/history")
@staff_permission("customers.view", "audit.view")
def customer_history(account_number: str):
    found = accounts.account_by_number(account_number=account_number)
    if found is None:
        abort(404)
    events = audit.history_of_account(account=found, limit=200)
    return render_template("backoffice/customer_history.html", account=found, events=events)
