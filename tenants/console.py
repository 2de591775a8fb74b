"""Platform console, on the platform's own host: operators sign in, list and suspend tenants."""
from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm

from app.auth import operator_required, safe_next, sign_in, sign_out
from app.confirmation import confirm_form, confirmed
from app.auth_forms import LoginForm
from app.auth_views import SIGN_IN_SCOPE, too_many_failures_message
from app.extensions import limiter
from app.ratelimit import count_failed_sign_in, sign_in_blocked
from app.second_factor_views import continue_sign_in, register_second_factor_views
from domain.db import utcnow
from domain.identity import services as identity
from tenants import services as tenants
from tenants.context import platform_scope

bp = Blueprint("console", __name__)
register_second_factor_views(bp, kind="operator", home_endpoint="console.home", layout="console/layout.html",
                             issuer=lambda: _("Platform console"), protect=operator_required)


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
                # Every operator has a second factor: the code (or, the first time, enrolment) comes next.
                second_step = continue_sign_in("operator", operator, prefix="console", home_endpoint="console.home")
                if second_step is not None:
                    return second_step
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


# Suspending takes a utility's portal and back office away from all its customers and staff at once: the operator
# reads what happens on a page of its own and ticks a box (checked again here, so it works without JavaScript).
SuspendForm = confirm_form(_l("Tick the box to confirm that the utility is to be suspended."))


def _usage_or_404(slug: str):
    found = next((usage for usage in tenants.list_tenants_with_usage() if usage.tenant.slug == slug), None)
    if found is None:
        abort(404)
    return found


@bp.get("/tenants/<slug>/suspend")
@operator_required
def confirm_suspend(slug: str):
    usage = _usage_or_404(slug)
    if usage.tenant.status == "suspended":
        return redirect(url_for("console.home"))
    return render_template("console/suspend.html", usage=usage, form=SuspendForm(formdata=None))


@bp.post("/tenants/<slug>/status/<status>")
@operator_required
def set_status(slug: str, status: str):
    if status not in ("active", "suspended"):
        abort(400)
    if status == "suspended":
        form = SuspendForm()
        if not confirmed(form):  # not confirmed: the utility stays open
            return render_template("console/suspend.html", usage=_usage_or_404(slug), form=form), 422
    elif not FlaskForm().validate_on_submit():
        abort(400)
    try:
        tenants.set_tenant_status(slug=slug, status=status, now=utcnow())
    except tenants.TenantError:
        abort(404)
    from app.i18n import STATUS_NAMES

    flash(_("%(slug)s is now %(status)s.", slug=slug, status=STATUS_NAMES[status]), "success")
    return redirect(url_for("console.home"))
