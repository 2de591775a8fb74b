"""A new activation code for a customer's account, from the customer file (the old code stops working)."""
from __future__ import annotations

import logging

from flask import abort, g, make_response, render_template
from flask_login import current_user
from flask_wtf import FlaskForm

from app.auth import staff_permission
from backoffice.views import bp
from domain.contracts import services as accounts
from domain.identity import activation

log = logging.getLogger("backoffice.activation")


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
