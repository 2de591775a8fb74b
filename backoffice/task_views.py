"""Work queues and tasks: a queue with its filters and CSV export, a task's page with its history, and the steps
(take, give back, assign, hand to another group, complete or cancel). Views parse and call one task service."""
from __future__ import annotations

import logging

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import SelectField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

from app.auth import staff_permission
from app.csv_export import csv_response, wants_csv
from backoffice import case_texts
from backoffice.texts import task_title, work_group_name
from backoffice.views import bp
from domain.contracts.models import Contract, CustomerAccount
from domain.db import db, utcnow
from domain.requests.models import ServiceRequest
from domain.tasks import services as tasks

log = logging.getLogger("backoffice.tasks")


class ActionForm(FlaskForm):
    """A step with nothing to enter (take, give back): the CSRF token only."""


class AssignForm(FlaskForm):
    assignee = SelectField(_l("Assign to"), validators=[DataRequired(_l("Choose a member of the work group."))])


class TransferForm(FlaskForm):
    group = SelectField(_l("Hand to the work group"), validators=[DataRequired(_l("Choose a work group."))])
    note = TextAreaField(_l("Note for the work group (why you hand it over)"), validators=[
        DataRequired(_l("Write a note saying why.")), Length(max=2000, message=_l("Use at most 2000 characters."))])


class CloseForm(FlaskForm):
    outcome = SelectField(_l("Outcome"), choices=[SelectChoice("done", _l("Done")),
                                                            SelectChoice("cancelled", _l("Cancelled: not to be done"))],
                         validators=[DataRequired(_l("Choose whether the task is done or cancelled."))])
    note = TextAreaField(_l("Note (needed to cancel)"), validators=[
        Optional(), Length(max=2000, message=_l("Use at most 2000 characters."))])


def _staff_id() -> int:
    return current_user.user.id


def _may_assign() -> bool:
    return "tasks.assign" in current_user.permissions


# --- the queue --------------------------------------------------------------------------------------------------------

@bp.get("/queues/<code>")
@staff_permission("tasks.work")
def work_queue(code: str):
    group = tasks.work_group_by_code(code)
    if group is None:
        abort(404)
    show = request.args.get("show", "all")
    if show not in tasks.QUEUE_FILTERS:
        show = "all"
    now = utcnow()
    if wants_csv():
        return _queue_csv(group, show, now)
    found = tasks.queue_tasks(group=group, show=show, staff_id=_staff_id(), now=now)
    return render_template("backoffice/queue.html", group=group, tasks=found, show=show, now=now,
                           filters=tasks.QUEUE_FILTERS, filter_names=case_texts.QUEUE_FILTER_NAMES,
                           assignees=tasks.staff_names(t.assignee_id for t in found), is_overdue=tasks.is_overdue,
                           time_left=case_texts.time_left, status_names=case_texts.TASK_STATUS_NAMES,
                           action_form=ActionForm(formdata=None), me=_staff_id())


def _queue_csv(group, show: str, now):
    found = tasks.queue_tasks(group=group, show=show, staff_id=_staff_id(), now=now, limit=None)
    names = tasks.staff_names(t.assignee_id for t in found)
    header = [_("Task"), _("Type"), _("Work group"), _("Status"), _("Assigned to"), _("Created"), _("Due date"),
              _("Overdue")]
    rows = ([task_title(t), str(case_texts.TASK_KIND_NAMES.get(t.kind, t.kind)), work_group_name(group),
             str(case_texts.TASK_STATUS_NAMES[t.status]), names.get(t.assignee_id, ""), t.created_at, t.due_at,
             _("Yes") if tasks.is_overdue(t, now=now) else _("No")] for t in found)
    return csv_response(f"tasks-{group.code}-{show}", header, rows)


# --- a task -----------------------------------------------------------------------------------------------------------

def _task_or_404(public_id: str):
    task = tasks.task_by_public_id(public_id)
    if task is None:
        abort(404)
    return task


def _subject_link(task) -> tuple[str, str] | None:
    """(label, address) of what the task is about, when staff have a page for it."""
    if task.subject_type == "service_request" and task.subject_id:
        reference = db.session.scalar(select(ServiceRequest.reference).where(ServiceRequest.id == task.subject_id))
        if reference and "requests.handle" in current_user.permissions:
            return _("Request %(reference)s", reference=reference), url_for("backoffice.request_detail",
                                                                            reference=reference)
    if task.subject_type == "Contract" and task.subject_id:
        number = db.session.scalar(select(CustomerAccount.account_number).join(
            Contract, Contract.account_id == CustomerAccount.id).where(Contract.id == task.subject_id))
        if number:
            return _("Customer %(number)s", number=number), url_for("backoffice.customer", account_number=number)
    return None


def _task_page(task, *, status: int = 200, assign_form=None, transfer_form=None, close_form=None, error=None):
    now = utcnow()
    history = tasks.history_of(task)
    staff = tasks.staff_names([task.assignee_id, *(e.staff_user_id for e in history),
                               *(e.from_assignee_id for e in history), *(e.to_assignee_id for e in history)])
    groups = tasks.group_names([task.work_group_id, *(e.from_group_id for e in history),
                                *(e.to_group_id for e in history)])
    group = groups[task.work_group_id]
    assign_form = assign_form or AssignForm(formdata=None)
    assign_form.assignee.choices = [SelectChoice("", _("Choose a person"))] + [
        SelectChoice(str(m.id), m.full_name) for m in tasks.members_of(group)]
    transfer_form = transfer_form or TransferForm(formdata=None)
    transfer_form.group.choices = [SelectChoice("", _("Choose a work group"))] + [
        SelectChoice(g.code, work_group_name(g)) for g in tasks.work_groups() if g.id != task.work_group_id]
    me = _staff_id()
    active = task.status in ("open", "in_progress")
    may_act = active and (task.assignee_id in (None, me) or _may_assign())
    return render_template(
        "backoffice/tasks/detail.html", task=task, group=group, history=history, staff=staff, groups=groups,
        now=now, overdue=tasks.is_overdue(task, now=now), time_left=case_texts.time_left(task.due_at, now),
        subject=_subject_link(task), kind_names=case_texts.TASK_KIND_NAMES,
        status_names=case_texts.TASK_STATUS_NAMES, action_names=case_texts.TASK_ACTION_NAMES,
        action_form=ActionForm(formdata=None), assign_form=assign_form, transfer_form=transfer_form,
        close_form=close_form or CloseForm(formdata=None), me=me, active=active, may_act=may_act,
        may_claim=active and task.status == "open" and task.assignee_id in (None, me),
        may_assign=active and _may_assign(), error=error), status


@bp.get("/tasks/<public_id>")
@staff_permission("tasks.work")
def task_detail(public_id: str):
    return _task_page(_task_or_404(public_id))


def _refusal(exc: tasks.TaskRefused) -> str:
    if exc.code in ("taken", "not_yours") and exc.holder:
        if exc.code == "taken":
            return _("%(name)s took this task just before you.", name=exc.holder)
        return _("This task is %(name)s's: only they or a supervisor can do this.", name=exc.holder)
    return str(case_texts.TASK_REFUSALS.get(exc.code, _l("This cannot be done on this task.")))


def _back(task):
    return redirect(url_for("backoffice.task_detail", public_id=task.public_id))


@bp.post("/tasks/<public_id>/claim")
@staff_permission("tasks.work")
def task_claim(public_id: str):
    task = _task_or_404(public_id)
    if not ActionForm().validate_on_submit():
        return _task_page(task, status=400)
    try:
        tasks.claim(task=task, staff_id=_staff_id(), now=utcnow())
    except tasks.TaskRefused as exc:
        db.session.rollback()
        return _task_page(_task_or_404(public_id), status=409, error=_refusal(exc))
    db.session.commit()
    flash(_("The task is yours: it is in progress."), "success")
    return _back(task)


@bp.post("/tasks/<public_id>/release")
@staff_permission("tasks.work")
def task_release(public_id: str):
    task = _task_or_404(public_id)
    if not ActionForm().validate_on_submit():
        return _task_page(task, status=400)
    try:
        tasks.release(task=task, staff_id=_staff_id(), may_assign=_may_assign(), now=utcnow())
    except tasks.TaskRefused as exc:
        db.session.rollback()
        return _task_page(_task_or_404(public_id), status=409, error=_refusal(exc))
    db.session.commit()
    flash(_("The task is back in the queue for anyone to take."), "success")
    return _back(task)


@bp.post("/tasks/<public_id>/assign")
@staff_permission("tasks.work", "tasks.assign")
def task_assign(public_id: str):
    task = _task_or_404(public_id)
    form = AssignForm()
    group = db.session.get(tasks.WorkGroup, task.work_group_id)
    form.assignee.choices = [SelectChoice("", "")] + [
        SelectChoice(str(m.id), m.full_name) for m in tasks.members_of(group)]
    if not form.validate_on_submit():
        return _task_page(task, status=400 if "csrf_token" in form.errors else 422, assign_form=form)
    try:
        tasks.assign(task=task, staff_id=_staff_id(), assignee_id=int(form.assignee.data), now=utcnow())
    except tasks.TaskRefused as exc:
        db.session.rollback()
        return _task_page(_task_or_404(public_id), status=409, error=_refusal(exc))
    db.session.commit()
    flash(_("The task is assigned to %(name)s.", name=tasks.staff_names([task.assignee_id])[task.assignee_id]),
          "success")
    return _back(task)


@bp.post("/tasks/<public_id>/transfer")
@staff_permission("tasks.work")
def task_transfer(public_id: str):
    task = _task_or_404(public_id)
    form = TransferForm()
    form.group.choices = [SelectChoice("", "")] + [
        SelectChoice(g.code, work_group_name(g)) for g in tasks.work_groups()]
    if not form.validate_on_submit():
        return _task_page(task, status=400 if "csrf_token" in form.errors else 422, transfer_form=form)
    try:
        tasks.transfer(task=task, staff_id=_staff_id(), to_group=tasks.work_group_by_code(form.group.data),
                       note=form.note.data, may_assign=_may_assign(), now=utcnow())
    except tasks.TaskRefused as exc:
        db.session.rollback()
        if exc.code in ("same_group", "group"):
            form.group.errors = [_refusal(exc)]
        elif exc.code in ("note_missing", "note_long"):
            form.note.errors = [_refusal(exc)]
        else:
            return _task_page(_task_or_404(public_id), status=409, error=_refusal(exc))
        return _task_page(_task_or_404(public_id), status=422, transfer_form=form)
    db.session.commit()
    flash(_("The task is handed to %(group)s.", group=work_group_name(tasks.work_group_by_code(form.group.data))),
          "success")
    return _back(task)


@bp.post("/tasks/<public_id>/close")
@staff_permission("tasks.work")
def task_close(public_id: str):
    task = _task_or_404(public_id)
    form = CloseForm()
    if not form.validate_on_submit():
        return _task_page(task, status=400 if "csrf_token" in form.errors else 422, close_form=form)
    try:
        tasks.close(task=task, staff_id=_staff_id(), outcome=form.outcome.data, note=form.note.data,
                    may_assign=_may_assign(), now=utcnow())
    except tasks.TaskRefused as exc:
        db.session.rollback()
        if exc.code == "note_missing":
            form.note.errors = [_refusal(exc)]
            return _task_page(_task_or_404(public_id), status=422, close_form=form)
        return _task_page(_task_or_404(public_id), status=409, error=_refusal(exc))
    db.session.commit()
    flash(_("The task is completed.") if form.outcome.data == "done" else _("The task is cancelled."), "success")
    return _back(task)
