"""Billing runs in the back office: list, start, follow live, issue, cancel, resume (role: billing)."""
from __future__ import annotations

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.auth import staff_permission
from app.csv_export import wants_csv
from app.i18n import format_day, tenant_today
from backoffice import exports
from backoffice.billing_forms import CancelRunForm, RunActionForm, StartRunForm
from domain.billing import runs
from domain.db import db, utcnow

bp = Blueprint("billing", __name__)

RUN_ERRORS = {
    "busy": lambda: _("Another billing run is in progress. Wait for it to finish or cancel it."),
    "state": lambda: _("This run cannot do that in its current state."),
    "activity": lambda: _("Choose an activity from the list."),
    "date_ahead": lambda: _("A run can be dated at most one billing cycle ahead, up to %(date)s.",
                            date=format_day(runs.latest_billing_date(tenant_today()))),
    "mode": lambda: _("Choose what to do."),
    "chunk_size": lambda: _("Invalid chunk size."),
}


def _run_or_404(public_id: str):
    run = runs.run_by_public_id(public_id)
    if run is None:
        abort(404)
    return run


@bp.route("/runs", methods=["GET", "POST"])
@staff_permission("billing.run")
def run_list():
    if request.method == "GET" and wants_csv():
        return exports.billing_runs([(run, runs.progress(run, now=utcnow())) for run in runs.latest_runs()])
    form = StartRunForm(activities=runs.tenant_activities())
    if form.validate_on_submit():
        try:
            run = runs.create_run(billing_date=form.billing_date.data, mode=form.mode.data,
                                  scope_activity=form.activity.data or None, scope_cycle=form.cycle.data or None,
                                  created_by=current_user.user.email, now=utcnow(), today=tenant_today())
        except runs.RunError as exc:
            flash(RUN_ERRORS[exc.code](), "error")
        else:
            db.session.commit()
            runs.start(run)
            return redirect(url_for("billing.run_detail", public_id=run.public_id))
    now = utcnow()
    latest = [(run, runs.progress(run, now=now)) for run in runs.latest_runs()]
    return render_template("backoffice/billing/runs.html", form=form, runs=latest)


@bp.get("/runs/<public_id>")
@staff_permission("billing.run")
def run_detail(public_id: str):
    return _detail(_run_or_404(public_id))


def _detail(run, *, cancel_form=None, status=200):
    cancellable = run.status in runs.CANCELLABLE
    return render_template("backoffice/billing/run.html", run=run, progress=runs.progress(run, now=utcnow()),
                           exceptions=runs.exceptions_of(run), form=RunActionForm(),
                           cancel_form=cancel_form or CancelRunForm(formdata=None),
                           drafts=runs.draft_count(run) if cancellable else 0), status


@bp.get("/runs/<public_id>/progress.json")
@staff_permission("billing.run")
def run_progress(public_id: str):
    run = _run_or_404(public_id)
    p = runs.progress(run, now=utcnow())
    return jsonify(status=run.status, total=p.total, processed=p.processed, billed=p.billed,
                   exceptions=p.exceptions, percent=p.percent, rate=round(p.rate_per_second or 0, 1),
                   seconds_left=None if p.seconds_left is None else round(p.seconds_left),
                   active=run.is_active)


def _action(public_id: str, act, done_message):
    run = _run_or_404(public_id)
    if not RunActionForm().validate_on_submit():
        abort(400)
    return _act(run, act, done_message)


def _act(run, act, done_message):
    """Do `act(run)`; commit and say `done_message()` on success, or say why the run refused; back to its page."""
    public_id = run.public_id
    try:
        after_commit = act(run)
    except runs.RunError as exc:
        flash(RUN_ERRORS[exc.code](), "error")
    else:
        db.session.commit()
        if after_commit:
            after_commit()
        flash(done_message(), "success")
    return redirect(url_for("billing.run_detail", public_id=public_id))


@bp.post("/runs/<public_id>/issue")
@staff_permission("billing.run")
def run_issue(public_id: str):
    def act(run):
        runs.request_issue(run)
        return lambda: runs.dispatch_issue(run)
    return _action(public_id, act, lambda: _("The bills of this run are being issued."))


@bp.post("/runs/<public_id>/cancel")
@staff_permission("billing.run")
def run_cancel(public_id: str):
    run = _run_or_404(public_id)
    form = CancelRunForm()
    if not form.validate_on_submit():
        if form.csrf_token.errors:
            abort(400)
        return _detail(run, cancel_form=form, status=422)  # not confirmed: nothing is deleted
    return _act(run, lambda r: runs.cancel(r, now=utcnow()),
                lambda: _("The run is cancelled; its draft bills are deleted."))


@bp.post("/runs/<public_id>/resume")
@staff_permission("billing.run")
def run_resume(public_id: str):
    def act(run):
        job = runs.prepare_resume(run)
        return lambda: runs.dispatch_resume(run, job)
    return _action(public_id, act, lambda: _("The run is resuming."))
