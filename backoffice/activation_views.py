"""Online activation from the customer file: a new activation code (the old one stops working), and lifting the
lock-out of a customer number after too many failed attempts."""
from __future__ import annotations

import logging

from flask import abort, flash, g, make_response, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm

from app.auth import staff_permission
from backoffice.views import HISTORY_FIELDS, bp
from domain.contracts import services as accounts
from domain.db import utcnow
from domain.identity import activation

log = logging.getLogger("backoffice.activation")

# The lock and its lift are recorded in the account's history under these names.
HISTORY_FIELDS.setdefault("activation_locked", _l("Online activation blocked"))
HISTORY_FIELDS.setdefault("failed_activation_attempts", _l("Failed activation attempts"))


@bp.app_template_global()
def activation_lock(account):
    """The lock-out of this account's number (with its count and date), or None when activation is open."""
    guard = activation.guard_of(account.account_number)
    return guard if guard is not None and guard.locked_at is not None else None


@bp.post("/customers/<account_number>/activation-code")
@staff_permission("customers.view", "customers.edit")
def customer_activation_code(account_number: str):
    account = accounts.account_by_number(account_number=account_number)
    if account is None:
        abort(404)
    if not FlaskForm().validate_on_submit():
        abort(400)
    code = activation.regenerate_activation_code(account=account)
    log.info("activation code regenerated tenant=%s account=%s staff=%s", g.tenant.id, account.account_number,
             current_user.user.id)
    # Shown on this answer only (never flashed into the session cookie, never cached): no redirect on purpose.
    response = make_response(render_template("backoffice/activation_code.html", account=account,
                                             code=activation.display_code(code)))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/customers/<account_number>/activation-lock")
@staff_permission("customers.view", "customers.edit")
def customer_activation_unlock(account_number: str):
    account = accounts.account_by_number(account_number=account_number)
    if account is None:
        abort(404)
    if not FlaskForm().validate_on_submit():
        abort(400)
    if activation.lift_lock(account=account, now=utcnow()):
        log.info("activation lock lifted tenant=%s account=%s staff=%s", g.tenant.id, account.account_number,
                 current_user.user.id)
        flash(_("Online activation is open again for %(number)s.", number=account.account_number), "success")
    else:
        flash(_("Online activation was not blocked for %(number)s.", number=account.account_number), "info")
    return redirect(url_for("backoffice.customer", account_number=account.account_number))
