"""Contracts in the customer file: billing staff mark a contract whose customer prevented readings (it lifts the
back-billing limit from that day), or clear the mark. The audit trail records who changed it and when."""
from __future__ import annotations

import logging

from flask import abort, flash, g, redirect, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import DateField, TextAreaField
from wtforms.validators import InputRequired, Length

from app.auth import staff_permission
from app.i18n import _date as format_day
from app.i18n import tenant_today
from backoffice.views import bp
from domain.contracts import services as accounts
from domain.db import db

log = logging.getLogger("backoffice.contracts")

PREVENTED_REFUSALS = {
    "reason": _l("Say how the customer prevented readings."),
    "reason_length": _l("The reason is too long (500 characters at most)."),
    "future": _l("The date cannot be in the future."),
    "before_contract": _l("The date cannot be before the contract started."),
}


class ReadingsPreventedForm(FlaskForm):
    from_date = DateField(_l("Readings prevented since"), validators=[InputRequired()])
    reason = TextAreaField(_l("How the customer prevented readings"),
                           validators=[InputRequired(), Length(max=accounts.READINGS_PREVENTED_REASON_MAX)])


def _contract_or_404(account_number: str, contract_number: str):
    account = accounts.account_by_number(account_number=account_number)
    contract = None if account is None else next(
        (c for c in account.contracts if c.contract_number == contract_number), None)
    if contract is None:
        abort(404)
    return account, contract


def _back(account):
    return redirect(url_for("backoffice.customer", account_number=account.account_number) + "#readings-prevented")


@bp.post("/customers/<account_number>/contracts/<contract_number>/readings-prevented")
@staff_permission("customers.view", "billing.run")
def contract_readings_prevented(account_number: str, contract_number: str):
    account, contract = _contract_or_404(account_number, contract_number)
    form = ReadingsPreventedForm()
    if not form.validate_on_submit():
        if "csrf_token" in form.errors:
            abort(400)
        if form.from_date.errors:
            flash(_("Enter the date from which the customer prevented readings."), "error")
        else:
            flash(str(PREVENTED_REFUSALS["reason_length" if form.reason.data else "reason"]), "error")
        return _back(account)
    try:
        accounts.mark_readings_prevented(contract=contract, from_date=form.from_date.data, reason=form.reason.data,
                                         today=tenant_today())
    except accounts.ReadingsPreventedRefused as exc:
        db.session.rollback()
        flash(str(PREVENTED_REFUSALS[exc.code]), "error")
        return _back(account)
    db.session.commit()
    log.info("readings prevented set tenant=%s contract=%s from=%s staff=%s", g.tenant.id, contract.contract_number,
             contract.readings_prevented_from, current_user.user.id)
    flash(_("Contract %(contract)s: readings prevented by the customer since %(date)s. The back-billing limit no "
            "longer holds back consumption from that day.", contract=contract.contract_number,
            date=format_day(contract.readings_prevented_from)), "success")
    return _back(account)


@bp.post("/customers/<account_number>/contracts/<contract_number>/readings-prevented/clear")
@staff_permission("customers.view", "billing.run")
def contract_readings_prevented_clear(account_number: str, contract_number: str):
    account, contract = _contract_or_404(account_number, contract_number)
    if not FlaskForm().validate_on_submit():
        abort(400)
    accounts.clear_readings_prevented(contract=contract)
    db.session.commit()
    log.info("readings prevented cleared tenant=%s contract=%s staff=%s", g.tenant.id, contract.contract_number,
             current_user.user.id)
    flash(_("Contract %(contract)s: the back-billing limit applies again.", contract=contract.contract_number),
          "success")
    return _back(account)
