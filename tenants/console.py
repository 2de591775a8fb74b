"""Platform console, on the platform's own host: operators sign in, list and suspend tenants."""
from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, send_file, url_for
from flask_login import current_user
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm

from app.auth import operator_required, safe_next, sign_in, sign_out
from app.confirmation import confirm_form, confirmed
from app.auth_forms import LoginForm
from app.auth_views import SIGN_IN_SCOPE, too_many_failures_message
from app.jobs import enqueue_after_commit, job_waiting_check
from app.extensions import limiter
from app.ratelimit import count_failed_sign_in, sign_in_blocked
from app.second_factor_views import continue_sign_in, register_second_factor_views
from domain.db import utcnow
from domain.identity import services as identity
from tenants import export as exports
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
    return render_template("console/home.html", usages=tenants.list_tenants_with_usage(now=utcnow()),
                           form=FlaskForm())


# Suspending takes a utility's portal and back office away from all its customers and staff at once: the operator
# reads what happens on a page of its own and ticks a box (checked again here, so it works without JavaScript).
SuspendForm = confirm_form(_l("Tick the box to confirm that the utility is to be suspended."))


def _usage_or_404(slug: str):
    found = tenants.tenant_usage(slug=slug, now=utcnow())
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
        tenants.set_tenant_status(slug=slug, status=status, now=utcnow(), job_waiting=job_waiting_check())
    except tenants.TenantError:
        abort(404)
    from app.i18n import STATUS_NAMES

    flash(_("%(slug)s is now %(status)s.", slug=slug, status=STATUS_NAMES[status]), "success")
    return redirect(url_for("console.home"))


# A utility's whole data as a ZIP: written by a job (queue `default`, in-process without Redis) to the tenant's
# storage, then downloaded from the list of its exports (tenants/export.py).
@bp.get("/tenants/<slug>/exports")
@operator_required
def exports_page(slug: str):
    usage = _usage_or_404(slug)
    found = exports.exports_of(tenant_id=usage.tenant.id)
    working = any(export.status in ("pending", "running") for export in found)
    return render_template("console/exports.html", usage=usage, exports=found, working=working, form=FlaskForm())


@bp.post("/tenants/<slug>/exports")
@operator_required
def start_export(slug: str):
    if not FlaskForm().validate_on_submit():
        abort(400)
    usage = _usage_or_404(slug)
    operator = current_user.user
    export = exports.request_export(tenant_id=usage.tenant.id, requested_by=operator.email, now=utcnow())
    enqueue_after_commit("tenants.export_data", tenant_id=usage.tenant.id, export_id=export.id,
                         actor={"kind": "operator", "id": operator.id, "label": operator.email},
                         job_id=f"tenant-export-{usage.tenant.id}-{export.public_id}")
    flash(_("The export of %(name)s has started. It appears below once written.", name=usage.tenant.name),
          "success")
    return redirect(url_for("console.exports_page", slug=slug))


@bp.get("/tenants/<slug>/exports/<public_id>.zip")
@operator_required
def download_export(slug: str, public_id: str):
    tenant = tenants.tenant_by_slug(slug)
    export = exports.export_by_public_id(tenant_id=tenant.id, public_id=public_id) if tenant else None
    path = exports.export_file(export) if export else None
    if path is None:
        abort(404)
    return send_file(path, mimetype="application/zip", as_attachment=True,
                     download_name=f"{slug}-{export.finished_at:%Y-%m-%d-%H%M}.zip", max_age=0)
