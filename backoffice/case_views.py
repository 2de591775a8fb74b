"""Case work on requests and its settings: a request's category (its answer date follows), escalation to a
supervisor, reply templates per language (managed by supervisors and tenant administrators, chosen when replying),
and the service levels of task kinds and request categories (tenant administrators)."""
from __future__ import annotations

import logging

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import IntegerField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange

from app.auth import staff_permission
from app.i18n import LOCALE_NAMES, tenant_zone
from app.permissions import ROLE_PERMISSIONS
from backoffice import admin_views
from backoffice import case_texts
from backoffice.views import bp
from domain import deadlines
from domain.db import db, utcnow
from domain.requests import categories, replies
from domain.requests import services as requests_service
from domain.tasks import levels

log = logging.getLogger("backoffice.case_work")

SUPERVISOR_ROLES = tuple(sorted(role for role, perms in ROLE_PERMISSIONS.items() if "tasks.assign" in perms))
TEMPLATE_MANAGERS = ("requests.handle", "tasks.assign")


class CategoryForm(FlaskForm):
    category = SelectField(_l("Category"))


class EscalateForm(FlaskForm):
    to = SelectField(_l("Escalate to"))
    reason = TextAreaField(_l("Why a supervisor is needed"), validators=[
        DataRequired(_l("Write why the request needs a supervisor.")),
        Length(max=2000, message=_l("Use at most 2000 characters."))])


class TemplatePickForm(FlaskForm):
    class Meta:
        csrf = False  # a GET form: it only fills the reply box, staff read and send it themselves

    template = SelectField(_l("Start from a reply template"))


def category_choices(kind: str) -> list[SelectChoice]:
    return [SelectChoice("", _("No category"))] + [
        SelectChoice(c, case_texts.category_name(kind, c)) for c in categories.categories_of(kind)]


def escalation_targets():
    return requests_service.staff_with_roles(SUPERVISOR_ROLES)


def _escalate_choices() -> list[SelectChoice]:
    return [SelectChoice("", _("The supervisors' queue (whoever is free)"))] + [
        SelectChoice(str(s.id), s.full_name) for s in escalation_targets()]


def customer_of(found, account):
    """(name, language) the customer reads replies in: who the reply is mailed to, else the account's."""
    recipients = requests_service.reply_recipients(found)
    locale = (recipients[0].locale if recipients else None) or account.locale or g.tenant.default_locale or "en"
    return account.holder.display_name, locale


def filled_template(found, account, public_id: str | None):
    """The reply box's text from the template chosen (in the customer's language), or None."""
    if not public_id:
        return None
    template = replies.template_by_public_id(public_id)
    if template is None:
        return None
    name, locale = customer_of(found, account)
    return replies.fill_for(template=template, request=found, customer_name=name, customer_locale=locale,
                            tenant_locale=g.tenant.default_locale or "en", utility_name=g.tenant.name,
                            staff_name=current_user.display_name, zone=tenant_zone())


def detail_context(found, account, *, category_form=None, escalate_form=None) -> dict:
    """What the request page shows of case work: the answer clock, category, escalations, templates."""
    now = utcnow()
    category_form = category_form or CategoryForm(prefix="category", formdata=None, category=found.category or "")
    category_form.category.choices = category_choices(found.kind)
    escalate_form = escalate_form or EscalateForm(prefix="escalate", formdata=None)
    escalate_form.to.choices = _escalate_choices()
    pick = TemplatePickForm(formdata=None, template=request.args.get("template", ""))
    pick.template.choices = [SelectChoice("", _("Choose a template"))] + [
        SelectChoice(public_id, f"{name} ({', '.join(LOCALE_NAMES.get(loc, loc) for loc in locales)})")
        for public_id, name, locales in replies.choices()]
    escalations = requests_service.escalations_of(found)
    from domain.tasks import services as tasks

    return {"time_left": case_texts.time_left(found.due_at, now) if found.status in requests_service.OPEN_STATUSES
            else "", "category_name": case_texts.category_name(found.kind, found.category),
            "category_form": category_form if categories.categories_of(found.kind) else None,
            "escalate_form": escalate_form, "escalations": escalations, "template_pick": pick,
            "escalation_staff": tasks.staff_names(t.assignee_id for t in escalations),
            "task_status_names": case_texts.TASK_STATUS_NAMES,
            "request_task": requests_service.task_of(found)}


def _request_or_404(reference: str):
    found = requests_service.request_by_reference(reference=reference)
    if found is None:
        abort(404)
    return found


def _detail(found, status, **forms):
    from backoffice.request_views import _detail as request_detail_page

    return request_detail_page(found, status, **forms)


@bp.post("/requests/<reference>/category")
@staff_permission("requests.handle")
def request_category(reference: str):
    found = _request_or_404(reference)
    form = CategoryForm(prefix="category")
    form.category.choices = category_choices(found.kind)
    if not form.validate_on_submit():
        return _detail(found, 400 if "csrf_token" in form.errors else 422, category_form=form)
    try:
        changed = requests_service.set_category(request=found, category=form.category.data or None,
                                                answer_days=g.tenant.request_answer_days, zone=tenant_zone(),
                                                now=utcnow())
    except requests_service.RequestRefused as exc:
        db.session.rollback()
        form.category.errors = [str(case_texts.REQUEST_REFUSALS.get(exc.code, exc.code))]
        return _detail(found, 422, category_form=form)
    db.session.commit()
    flash(_("The category is saved; the answer is now due by the date shown.") if changed
          else _("Nothing has changed."), "success")
    return redirect(url_for("backoffice.request_detail", reference=reference))


@bp.post("/requests/<reference>/escalate")
@staff_permission("requests.handle")
def request_escalate(reference: str):
    found = _request_or_404(reference)
    form = EscalateForm(prefix="escalate")
    form.to.choices = _escalate_choices()
    if not form.validate_on_submit():
        return _detail(found, 400 if "csrf_token" in form.errors else 422, escalate_form=form)
    targets = {s.id for s in escalation_targets()}
    try:
        requests_service.escalate(request=found, staff_id=current_user.user.id, reason=form.reason.data,
                                  to_staff_id=int(form.to.data) if form.to.data else None, allowed_staff_ids=targets,
                                  now=utcnow())
    except requests_service.RequestRefused as exc:
        db.session.rollback()
        form.reason.errors = [str(case_texts.REQUEST_REFUSALS.get(exc.code, exc.code))]
        return _detail(found, 422, escalate_form=form)
    db.session.commit()
    flash(_("The request is escalated: a supervisor has it in their queue."), "success")
    return redirect(url_for("backoffice.request_detail", reference=reference) + "#escalations")


# --- reply templates ------------------------------------------------------------------------------------------------

class TemplateForm(FlaskForm):
    name = StringField(_l("Name (staff see it when they choose a template)"), validators=[
        DataRequired(_l("Enter a name for the template.")), Length(max=120, message=_l("Use at most 120 characters."))])
    locale = SelectField(_l("Language"), choices=[])
    body = TextAreaField(_l("Text"), validators=[
        DataRequired(_l("Write the text of the template.")),
        Length(max=5000, message=_l("Use at most 5000 characters."))])


class DeleteForm(FlaskForm):
    pass


def _template_form(**data) -> TemplateForm:
    form = TemplateForm(**data)
    form.locale.choices = [SelectChoice(loc, str(LOCALE_NAMES.get(loc, loc))) for loc in replies.LOCALES]
    return form


def _template_page(form, template=None, status=200):
    return render_template("backoffice/requests/template_edit.html", form=form, template=template,
                           placeholders=case_texts.PLACEHOLDER_NAMES, delete_form=DeleteForm(formdata=None)), status


@bp.get("/reply-templates")
@staff_permission(*TEMPLATE_MANAGERS)
def reply_templates():
    return render_template("backoffice/requests/templates.html", templates=replies.templates(),
                           locale_names=LOCALE_NAMES, placeholders=case_texts.PLACEHOLDER_NAMES)


def _save(form, template):
    try:
        saved = replies.save_template(template=template, name=form.name.data, locale=form.locale.data,
                                      body=form.body.data, staff_id=current_user.user.id, now=utcnow())
    except replies.TemplateRefused as exc:
        db.session.rollback()
        if exc.code == "placeholder":
            message = _("These placeholders do not exist: %(names)s. Use those listed.", names=exc.detail)
        else:
            message = str(case_texts.TEMPLATE_REFUSALS[(exc.field, exc.code)])
        form[exc.field].errors = [*form[exc.field].errors, message]
        return None
    db.session.commit()
    return saved


@bp.route("/reply-templates/new", methods=["GET", "POST"])
@staff_permission(*TEMPLATE_MANAGERS)
def reply_template_new():
    form = _template_form(formdata=None if request.method == "GET" else request.form,
                          locale=g.tenant.default_locale if request.method == "GET" else None)
    if request.method == "POST":
        if form.validate_on_submit() and _save(form, None) is not None:
            flash(_("The reply template is saved."), "success")
            return redirect(url_for("backoffice.reply_templates"))
        return _template_page(form, status=400 if "csrf_token" in form.errors else 422)
    return _template_page(form)


def _template_or_404(public_id: str):
    template = replies.template_by_public_id(public_id)
    if template is None:
        abort(404)
    return template


@bp.route("/reply-templates/<public_id>", methods=["GET", "POST"])
@staff_permission(*TEMPLATE_MANAGERS)
def reply_template_edit(public_id: str):
    template = _template_or_404(public_id)
    if request.method == "GET":
        return _template_page(_template_form(formdata=None, obj=template), template)
    form = _template_form()
    if form.validate_on_submit() and _save(form, template) is not None:
        flash(_("The reply template is saved."), "success")
        return redirect(url_for("backoffice.reply_templates"))
    return _template_page(form, template, status=400 if "csrf_token" in form.errors else 422)


@bp.post("/reply-templates/<public_id>/delete")
@staff_permission(*TEMPLATE_MANAGERS)
def reply_template_delete(public_id: str):
    template = _template_or_404(public_id)
    if not DeleteForm().validate_on_submit():
        return _template_page(_template_form(formdata=None, obj=template), template, status=400)
    replies.delete_template(template)
    db.session.commit()
    flash(_("The reply template is deleted."), "success")
    return redirect(url_for("backoffice.reply_templates"))


# --- service levels (administration) ----------------------------------------------------------------------------------

def _levels_form_class():
    """A form with, per task kind, an amount and a unit, and per request category a number of working days."""
    unit_choices = [SelectChoice(u, case_texts.UNIT_NAMES[u]) for u in deadlines.UNITS]

    class LevelsForm(FlaskForm):
        pass

    for kind in levels.TASK_LEVELS:
        setattr(LevelsForm, f"task__{kind}", IntegerField(
            case_texts.TASK_KIND_NAMES.get(kind, kind), validators=[
                InputRequired(_l("Enter a whole number.")),
                NumberRange(min=1, max=720, message=_l("Enter a number from 1 to 720."))]))
        setattr(LevelsForm, f"unit__{kind}", SelectField(_l("Unit"), choices=unit_choices))
    for code in categories.all_codes():
        setattr(LevelsForm, f"request__{code.replace('.', '__')}", IntegerField(
            case_texts.CATEGORY_NAMES.get(code, code), validators=[
                InputRequired(_l("Enter a whole number.")),
                NumberRange(min=1, max=260, message=_l("Enter a number from 1 to 260."))]))
    return LevelsForm


def _levels_rows(form):
    task_rows = [(kind, form[f"task__{kind}"], form[f"unit__{kind}"]) for kind in levels.TASK_LEVELS]
    request_rows = []
    for kind, cats in categories.CATEGORIES.items():
        for category in cats:
            request_rows.append((kind, form[f"request__{kind}__{category}"]))
    return task_rows, request_rows


@admin_views.bp.route("/service-levels", methods=["GET", "POST"])
@staff_permission("admin.configure")
def service_levels_page():
    form_class = _levels_form_class()
    answer_days = g.tenant.request_answer_days
    if request.method == "GET":
        data = {}
        for kind, level in levels.task_levels().items():
            data[f"task__{kind}"], data[f"unit__{kind}"] = level.amount, level.unit
        for code, level in levels.request_levels(default_days=answer_days).items():
            data[f"request__{code.replace('.', '__')}"] = level.amount
        form = form_class(formdata=None, data=data)
    else:
        form = form_class()
        if form.validate_on_submit():
            task_levels = {kind: levels.Level(form[f"task__{kind}"].data, form[f"unit__{kind}"].data)
                           for kind in levels.TASK_LEVELS}
            request_levels = {code: levels.Level(form[f"request__{code.replace('.', '__')}"].data, "working_days")
                              for code in categories.all_codes()}
            try:
                changed = levels.save_levels(scope="task", levels=task_levels) + \
                    levels.save_levels(scope="request", levels=request_levels)
            except levels.LevelRefused as exc:
                db.session.rollback()
                target = form[f"task__{exc.key}"] if exc.key in levels.TASK_LEVELS else \
                    form[f"request__{exc.key.replace('.', '__')}"]
                unit = form[f"unit__{exc.key}"].data if exc.key in levels.TASK_LEVELS else "working_days"
                target.errors = [*target.errors, _("Enter a number from 1 to %(most)s %(unit)s.",
                                                   most=levels.MAX_AMOUNT.get(unit, 1),
                                                   unit=case_texts.UNIT_NAMES.get(unit, unit))]
            else:
                db.session.commit()
                log.info("service levels saved tenant=%s changed=%s", g.tenant.id, changed)
                flash(_("The service levels are saved. They apply to tasks and requests from now on.") if changed
                      else _("Nothing has changed."), "success")
                return redirect(url_for("admin.service_levels_page"))
    task_rows, request_rows = _levels_rows(form)
    status = 200 if not form.errors else (400 if "csrf_token" in form.errors else 422)
    return render_template("backoffice/admin/settings/service_levels.html", form=form, task_rows=task_rows,
                           request_rows=request_rows, answer_days=answer_days), status
