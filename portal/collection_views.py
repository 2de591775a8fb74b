"""The customer's payment arrangement (see it; agree one alone within the utility's limits) and disputing a bill."""
from __future__ import annotations

import logging
from datetime import timedelta
from decimal import Decimal

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import format_date
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import RadioField, TextAreaField
from wtforms.validators import DataRequired, Length

from app.auth import customer_required
from app.i18n import money, tenant_today
from backoffice.collection_texts import (ARRANGEMENT_REFUSALS, ARRANGEMENT_STATUS_NAMES, DISPUTE_REASON_NAMES,
                                         DISPUTE_REFUSALS, DISPUTE_STATUS_NAMES, INSTALMENT_STATUS_NAMES, LEVEL_NAMES,
                                         schedule_refusal)
from domain.billing import bills as bill_service
from domain.collections import arrangements, disputes, dunning
from domain.collections.rules import ScheduleRefused, check_schedule, monthly_schedule
from domain.collections.settings import current_limits
from domain.contracts import services as accounts
from domain.db import db, utcnow
from portal.blueprint import bp

log = logging.getLogger("portal.collections")
FIRST_INSTALMENT_DAYS = 7  # a customer's first instalment: a week from the day they agree


class ArrangementForm(FlaskForm):
    count = RadioField(_l("Number of instalments"), validators=[DataRequired(_l("Choose a number of instalments."))])


class DisputeForm(FlaskForm):
    reason = RadioField(_l("What is wrong with this bill?"), choices=list(DISPUTE_REASON_NAMES.items()),
                        validators=[DataRequired(_l("Choose a reason."))])
    note = TextAreaField(_l("Tell us more (optional)"), validators=[Length(max=2000, message=_l(
        "Keep the note under 2,000 characters."))])


def _account(account_number: str):
    found = accounts.account_of_customer(customer_user_id=current_user.user.id, account_number=account_number)
    if found is None:
        abort(404)
    return found


def _options(total: Decimal, today, limits) -> list[tuple[int, list]]:
    """The numbers of instalments this customer may choose, each with its schedule (within the limits)."""
    first = today + timedelta(days=FIRST_INSTALMENT_DAYS)
    out = []
    for count in range(2, limits.max_instalments + 1):
        try:
            schedule = monthly_schedule(total=total, count=count, first=first)
            check_schedule(total=total, instalments=schedule, today=today, limits=limits, by_customer=True)
        except (ScheduleRefused, ValueError):
            continue
        out.append((count, schedule))
    return out


def _arrangement_page(account, *, form=None, error=None, status=200):
    today = tenant_today()
    limits = current_limits()
    views = arrangements.arrangements_of_account(account_id=account.id, today=today)
    running = next((v for v in views if v.arrangement.status == "active"), None)
    bills = [] if running else arrangements.arrangeable_bills(account_id=account.id, today=today)
    total = sum((v.outstanding for v in bills), Decimal("0.00"))
    options = _options(total, today, limits) if bills and limits.portal_arrangements else []
    if form is None:
        form = ArrangementForm(formdata=None)
    currency = bills[0].bill.currency if bills else "EUR"
    form.count.choices = [(str(count), _("%(count)s instalments of about %(amount)s, from %(date)s",
                                         count=count, amount=_money(schedule[0][1], currency),
                                         date=_day(schedule[0][0])))
                          for count, schedule in options]
    return render_template(
        "portal/collections/arrangement.html", account=account, running=running,
        past=[v for v in views if v is not running], bills=bills, total=total, options=options, form=form,
        error=error, limits=limits, status_names=ARRANGEMENT_STATUS_NAMES,
        instalment_names=INSTALMENT_STATUS_NAMES), status


def _money(amount, currency):
    return money(amount, currency)


def _day(value):
    return format_date(value, "medium")


@bp.get("/accounts/<account_number>/payment-arrangement")
@customer_required
def payment_arrangement(account_number: str):
    return _arrangement_page(_account(account_number))


@bp.post("/accounts/<account_number>/payment-arrangement")
@customer_required
def agree_payment_arrangement(account_number: str):
    account = _account(account_number)
    today = tenant_today()
    form = ArrangementForm()
    limits = current_limits()
    bills = arrangements.arrangeable_bills(account_id=account.id, today=today)
    total = sum((v.outstanding for v in bills), Decimal("0.00"))
    options = dict(_options(total, today, limits)) if bills else {}
    form.count.choices = [(str(c), str(c)) for c in options]
    if not form.validate_on_submit():
        return _arrangement_page(account, form=form, status=400 if "csrf_token" in form.errors else 422)
    try:
        arrangements.create_arrangement(
            account=account, bill_numbers=[v.bill.number for v in bills], instalments=options[int(form.count.data)],
            today=today, now=utcnow(), by=current_user.user.email, by_customer=True, limits=limits)
    except arrangements.ArrangementRefused as exc:
        db.session.rollback()
        return _arrangement_page(account, error=str(ARRANGEMENT_REFUSALS[exc.code]), status=422)
    except ScheduleRefused as exc:
        db.session.rollback()
        return _arrangement_page(account, error=schedule_refusal(exc), status=422)
    db.session.commit()
    flash(_("Your payment arrangement is set up. You will receive no reminder for these bills while you pay each "
            "instalment on time."), "success")
    return redirect(url_for("portal.payment_arrangement", account_number=account.account_number))


@bp.app_template_global()
def bill_dispute_of(bill):
    """The bill's open dispute, else its latest one (None: never disputed): the portal's bill page shows it."""
    rows = disputes.disputes_of_account(account_id=bill.account_id)
    return next((d for d, number in rows if number == bill.number), None)


@bp.app_template_global()
def reminders_of_bill(bill):
    """The reminders sent for a bill, oldest first, with their fee: the portal's bill page lists them."""
    return dunning.steps_of_bill(bill_id=bill.id)


@bp.app_context_processor
def _dispute_names():
    return {"dispute_status_names": DISPUTE_STATUS_NAMES, "dispute_reason_names": DISPUTE_REASON_NAMES,
            "reminder_level_names": LEVEL_NAMES}


def _bill(number: str):
    view = bill_service.bill_of_customer(customer_user_id=current_user.user.id, number=number, today=tenant_today())
    if view is None:
        abort(404)
    return view


@bp.route("/bills/<number>/dispute", methods=["GET", "POST"])
@customer_required
def dispute_bill(number: str):
    view = _bill(number)
    form = DisputeForm()
    error = None
    if form.validate_on_submit():
        try:
            disputes.open_dispute(bill=view.bill, reason=form.reason.data, note=form.note.data,
                                  by=current_user.user.email, by_customer=True, now=utcnow())
        except disputes.DisputeRefused as exc:
            db.session.rollback()
            error = str(DISPUTE_REFUSALS[exc.code])
        else:
            db.session.commit()
            flash(_("Thank you: we will look into this bill. It will not be chased while we do."), "success")
            return redirect(url_for("portal.bill", number=view.bill.number))
    elif form.is_submitted() and "csrf_token" in form.errors:
        return render_template("portal/collections/dispute.html", view=view, form=form, error=None), 400
    status = 422 if (form.errors or error) else 200
    return render_template("portal/collections/dispute.html", view=view, form=form, error=error,
                           dispute=disputes.open_dispute_of(bill_id=view.bill.id)), status
