"""Platform console, on the platform's own host: operators sign in, list and suspend tenants."""
from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_wtf import FlaskForm

from app.auth import operator_required, safe_next, sign_in, sign_out
from app.auth_forms import LoginForm
from app.auth_views import SIGN_IN_SCOPE, too_many_failures_message
from app.extensions import limiter
from app.ratelimit import count_failed_sign_in, sign_in_blocked
from domain.db import utcnow
from domain.identity import services as identity
from tenants import services as tenants
from tenants.context import platform_scope

bp = Blueprint("console", __name__)


@bp.route("/login", methods=["GET", "POST"])
@limiter.shared_limit(lambda: current_app.config["RATE_LIMIT_LOGIN"], scope=SIGN_IN_SCOPE, methods=["POST"])
def login():
    form = LoginForm()
    error = None
    if form.validate_on_submit():
        if sign_in_blocked("operator", form.email.data):
            # Per account as on the tenants' hosts: guessing one operator's password from many addresses stops here.
            return render_template("console/login.html", form=form,
                                   error=too_many_failures_message(can_reset=False)), 429
        with platform_scope("operator sign-in"):
            try:
                operator = identity.authenticate_operator(email=form.email.data, password=form.password.data,
                                                          now=utcnow())
            except identity.InvalidCredentials:
                count_failed_sign_in("operator", form.email.data)
                error = _("The e-mail address or the password is not right.")
            else:
                sign_in("operator", operator)
                return redirect(safe_next(url_for("console.home")))
    return render_template("console/login.html", form=form, error=error)


@bp.post("/logout")
def logout():
    with platform_scope("operator sign-out"):
        sign_out()
    return redirect(url_for("console.login"))


@bp.get("/")
@operator_required
def home():
    return render_template("console/home.html", usages=tenants.list_tenants_with_usage(), form=FlaskForm())


@bp.post("/tenants/<slug>/status/<status>")
@operator_required
def set_status(slug: str, status: str):
    if status not in ("active", "suspended") or not FlaskForm().validate_on_submit():
        abort(400)
    try:
        tenants.set_tenant_status(slug=slug, status=status, now=utcnow())
    except tenants.TenantError:
        abort(404)
    from app.i18n import STATUS_NAMES

    flash(_("%(slug)s is now %(status)s.", slug=slug, status=STATUS_NAMES[status]), "success")
    return redirect(url_for("console.home"))
