"""Complaints and requests in the back office: list with filters, conversation, reply, internal note, status."""
from __future__ import annotations

import logging

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import pgettext
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import MultipleFileField, SelectField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length

from app.auth import staff_permission
from app.csv_export import csv_response, wants_csv
from app.messages import queue_message
from backoffice import case_texts
from backoffice.reading_views import register_name, unit_label
from backoffice.views import bp
from domain.db import utcnow
from domain.requests import attachments as files
from domain.requests import categories
from domain.requests import services as requests_service
from domain.requests.models import REQUEST_KINDS, REQUEST_STATUSES
from portal.request_views import KIND_NAMES, REQUEST_STATUS_NAMES, attachment_response, file_error

log = logging.getLogger("requests")


# Staff see the statuses from their side: "waiting for you" in the portal is "waiting for the customer" here.
STAFF_STATUS_NAMES = {**REQUEST_STATUS_NAMES, "waiting_customer": _l("waiting for the customer")}


def _status_choices(first=None):
    choices = [SelectChoice(s, STAFF_STATUS_NAMES[s]) for s in REQUEST_STATUSES]
    return ([first] if first else []) + choices


class StaffReplyForm(FlaskForm):
    body = TextAreaField(_l("Message to the customer"), validators=[
        DataRequired(_l("Write your message.")), Length(max=5000, message=_l("Use at most 5000 characters."))])
    status = SelectField(_l("Then set the status to"))
    attachments = MultipleFileField(_l("Attachments (optional)"))


class NoteForm(FlaskForm):
    note = TextAreaField(_l("Internal note (never shown to the customer)"), validators=[
        DataRequired(_l("Write your note.")), Length(max=5000, message=_l("Use at most 5000 characters."))])


class StatusForm(FlaskForm):
    new_status = SelectField(_l("Status"), choices=[])


def _forms(found, reply=None, note=None, status=None, template_text=None):
    reply = reply or StaffReplyForm(prefix="reply", formdata=None)
    reply.status.choices = _status_choices(SelectChoice("", _("keep the status")))
    if reply.status.data is None:  # a fresh form: a first answer usually waits for the customer
        reply.status.data = "waiting_customer" if found.status == "open" else ""
    if template_text is not None and not reply.body.data:
        reply.body.data = template_text
    status = status or StatusForm(prefix="status")
    status.new_status.choices = _status_choices()
    if not status.is_submitted():
        status.new_status.data = found.status
    return {"reply_form": reply, "note_form": note or NoteForm(prefix="note"), "status_form": status}


def _request_or_404(reference: str):
    found = requests_service.request_by_reference(reference=reference)
    if found is None:
        abort(404)
    return found


@bp.get("/requests")
@staff_permission("requests.handle")
def requests():
    status = request.args.get("status", "")
    kind = request.args.get("kind", "")
    # A category is chosen as "<type>.<category>": it implies its type.
    category_kind, _dot, category = request.args.get("category", "").partition(".")
    kind = kind if kind in REQUEST_KINDS else None
    if categories.is_category(category_kind, category) and kind in (None, category_kind):
        kind = category_kind
    else:
        category = None
    filters = requests_service.StaffFilters(
        status=status if status in REQUEST_STATUSES else None, kind=kind, category=category,
        overdue=request.args.get("overdue") == "1")
    now = utcnow()
    if wants_csv():
        filters.limit = None
        return _requests_csv(requests_service.staff_requests(filters=filters, now=now), now)
    found = requests_service.staff_requests(filters=filters, now=now)
    category_options = [(k, c, case_texts.category_name(k, c)) for k in REQUEST_KINDS
                        for c in categories.categories_of(k)]
    return render_template("backoffice/requests/list.html", found=found, filters=filters, now=now,
                           accounts_by_id=requests_service.accounts_by_id(found), kinds=REQUEST_KINDS,
                           statuses=REQUEST_STATUSES, is_overdue=requests_service.is_overdue,
                           staff_status_names=STAFF_STATUS_NAMES, category_options=category_options,
                           category_name=case_texts.category_name, time_left=case_texts.time_left,
                           open_statuses=requests_service.OPEN_STATUSES)


def _requests_csv(found, now):
    accounts = requests_service.accounts_by_id(found)
    header = [pgettext("request", "Reference"), _("Subject"), _("Type"), _("Category"), _("Customer number"),
              _("Customer"), _("Status"), _("Opened"), _("Answer due"), _("Overdue")]
    rows = ([r.reference, r.subject, str(KIND_NAMES[r.kind]), case_texts.category_name(r.kind, r.category),
             accounts[r.account_id].account_number, accounts[r.account_id].holder.display_name,
             str(STAFF_STATUS_NAMES[r.status]), r.opened_at, r.due_at,
             _("Yes") if requests_service.is_overdue(r, now=now) else _("No")] for r in found)
    return csv_response("requests", header, rows)


def _detail(found, status_code=200, error=None, category_form=None, escalate_form=None, **forms):
    from backoffice.case_views import detail_context, filled_template

    account = requests_service.account_of(found)
    filled = filled_template(found, account, request.args.get("template")) if request.method == "GET" else None
    grouped: dict = {}
    for attachment in requests_service.attachments_of(found, for_customer=False):
        grouped.setdefault(attachment.message_id, []).append(attachment)
    return render_template(
        "backoffice/requests/detail.html", req=found, files_by_message=grouped,
        account=account, point=requests_service.point_of(found), filled=filled,
        **detail_context(found, account, category_form=category_form, escalate_form=escalate_form),
        overdue=requests_service.is_overdue(found, now=utcnow()), error=error, staff_status_names=STAFF_STATUS_NAMES,
        final_readings=requests_service.final_readings_of(found),
        staff_authors=requests_service.staff_authors_of(found), register_name=register_name, unit_label=unit_label,
        **_forms(found, template_text=filled.text if filled else None, **forms),
    ), status_code


@bp.get("/requests/<reference>")
@staff_permission("requests.handle")
def request_detail(reference: str):
    return _detail(_request_or_404(reference))


def _uploads() -> list[files.Upload]:
    return [files.Upload(filename=f.filename or "", data=f.read())
            for f in request.files.getlist("reply-attachments") if f and (f.filename or "")]


@bp.post("/requests/<reference>/reply")
@staff_permission("requests.handle")
def request_reply(reference: str):
    found = _request_or_404(reference)
    form = StaffReplyForm(prefix="reply")
    form.status.choices = _status_choices(SelectChoice("", ""))
    if not form.validate_on_submit():
        return _detail(found, 400, reply=form)
    try:
        message = requests_service.staff_message(
            request=found, staff_id=current_user.user.id, body=form.body.data, internal=False, uploads=_uploads(),
            now=utcnow(), new_status=form.status.data or None)
    except files.AttachmentRefused as exc:
        return _detail(found, 400, error=file_error(exc, "reply-attachments"), reply=form)
    mailed = _mail_customer(found, message)
    log.info("request reply tenant=%s reference=%s staff=%s mails=%s", g.tenant.id, found.reference,
             current_user.user.id, mailed)
    if mailed:
        flash(_("Your reply is sent; the customer is told by e-mail."), "success")
    else:
        flash(_("Your reply is saved. The customer has no online access, so no e-mail was sent."), "info")
    return redirect(url_for("backoffice.request_detail", reference=reference) + "#conversation")


def _mail_customer(found, message) -> int:
    account = requests_service.account_of(found)
    link = url_for("portal.request", reference=found.reference, _external=True)
    recipients = requests_service.reply_recipients(found)
    for user in recipients:
        queue_message(
            kind="request_reply", to=user.email, account=account, customer_user=user,
            subject=_l("%(name)s replied to your request %(reference)s", name=g.tenant.name,
                       reference=found.reference),
            locale=user.locale or account.locale, link=link, req=found,
            body=message.body, kind_name=KIND_NAMES[found.kind], status_name=REQUEST_STATUS_NAMES[found.status],
        )
    return len(recipients)


@bp.post("/requests/<reference>/note")
@staff_permission("requests.handle")
def request_note(reference: str):
    found = _request_or_404(reference)
    form = NoteForm(prefix="note")
    if not form.validate_on_submit():
        return _detail(found, 400, note=form)
    requests_service.staff_message(request=found, staff_id=current_user.user.id, body=form.note.data,
                                   internal=True, uploads=[], now=utcnow())
    flash(_("Your internal note is saved."), "success")
    return redirect(url_for("backoffice.request_detail", reference=reference) + "#conversation")


@bp.post("/requests/<reference>/status")
@staff_permission("requests.handle")
def request_status(reference: str):
    found = _request_or_404(reference)
    form = StatusForm(prefix="status")
    form.new_status.choices = _status_choices()
    if not form.validate_on_submit():
        return _detail(found, 400, status=form)
    requests_service.change_status(request=found, status=form.new_status.data, now=utcnow())
    flash(_("The status is now: %(status)s.", status=STAFF_STATUS_NAMES[found.status]), "success")
    return redirect(url_for("backoffice.request_detail", reference=reference))


@bp.get("/requests/<reference>/files/<public_id>")
@staff_permission("requests.handle")
def request_attachment(reference: str, public_id: str):
    found = _request_or_404(reference)
    attachment = requests_service.attachment_of(found, public_id=public_id, for_customer=False)
    data = files.content_of(attachment) if attachment is not None else None
    if data is None:
        abort(404)
    return attachment_response(attachment, data)
