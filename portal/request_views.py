"""Complaints and requests: open, follow, exchange messages, attachments, move in and out."""
from __future__ import annotations

from urllib.parse import quote

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import DateField, MultipleFileField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

from app.case_wording import category_name
from app.files import private_file
from app.auth import customer_required
from app.i18n import ACTIVITY_NAMES, format_day, quantity, tenant_today, tenant_zone
from domain.contracts import services as accounts
from domain.db import utcnow
from domain.paging import page_of
from domain.requests import attachments as files
from domain.requests import categories
from domain.requests import moves
from domain.requests import services as requests_service
from portal.blueprint import bp
from portal.reading_views import UNIT_LABELS, register_name

REQUESTS_PER_PAGE = 20
KIND_NAMES = {"complaint": _l("Complaint"), "move_in": _l("Moving in"), "move_out": _l("Moving out"),
              "offer_change": _l("Change of offer"), "meter_problem": _l("Meter problem"),
              "intervention": _l("Intervention"), "other": _l("Other request")}
KIND_HINTS = {"complaint": _l("Something went wrong: a bill, a payment, our service."),
              "move_in": _l("Tell us where and when you move in; we prepare your supply."),
              "move_out": _l("Give your move-out date and your final meter reading; we end the contract."),
              "offer_change": _l("Ask to change the offer of a point of delivery."),
              "meter_problem": _l("Your meter is damaged, blocked, or its display cannot be read."),
              "other": _l("Any other question or request.")}
# "open" in the context of a request: the bare word is also a contract's open end, which languages word differently.
REQUEST_STATUS_NAMES = {"open": lazy_pgettext("request status", "open"), "in_progress": _l("in progress"),
                        "waiting_customer": _l("waiting for you"), "resolved": _l("resolved"),
                        "closed": lazy_pgettext("request status", "closed")}

ATTACHMENT_ERRORS = {
    "type": lambda name: _("%(name)s is not a PDF, JPEG or PNG file.", name=name),
    "size": lambda name: _("%(name)s is larger than 5 MB.", name=name),
    "empty": lambda name: _("%(name)s is empty.", name=name),
    "count": lambda name: _("Attach at most 3 files."),
}


class FileError(str):
    """An attachment's error message; the error summary links it to the file field (`anchor`)."""

    anchor = ""


def file_error(exc: files.AttachmentRefused, anchor: str) -> FileError:
    message = FileError(ATTACHMENT_ERRORS[exc.code](exc.filename))
    message.anchor = anchor
    return message


MOVE_OUT_ERRORS = {
    "date_missing": lambda e: _("Enter your move-out date."),
    "date_before_start": lambda e: _("The move-out date must be after the start of your contract."),
    "date_too_far": lambda e: _("The move-out date can be at most %(days)d days from today.",
                                days=moves.MAX_DAYS_AHEAD),
    "date_too_old": lambda e: _("The move-out date can be at most %(days)d days in the past. Please contact us.",
                                days=moves.MAX_DAYS_PAST),
    "date_billed": lambda e: _("A bill already covers the period up to this date. Please choose a later date "
                               "or contact us."),
    "already_ending": lambda e: _("A move out is already recorded for this point of delivery."),
    "no_meter": lambda e: _("No meter is known at this point of delivery. Please contact us."),
}
REQUEST_ERRORS = {
    "account": lambda: _("Choose one of your accounts."),
    "point": lambda: _("Choose a point of delivery of this account."),
    "date_missing": lambda: _("Enter the date."),
    "kind": lambda: _("Choose what your request is about."),
    "closed": lambda: _("This request is closed. Please open a new one."),
    "empty": lambda: _("Write your message."),
    "reference_busy": lambda: _("Please try again."),
    "category": lambda: _("Choose one of the subjects listed."),
}


@bp.app_context_processor
def _request_names():
    return {"request_kind_names": KIND_NAMES, "request_status_names": REQUEST_STATUS_NAMES}


class _RequestBase(FlaskForm):
    attachments = MultipleFileField(_l("Attachments (optional)"))


class RequestForm(_RequestBase):
    account = SelectField(_l("Account"), validators=[DataRequired(_l("Choose one of your accounts."))])
    point = SelectField(_l("Point of delivery (optional)"), validators=[Optional()])
    subject = StringField(_l("Subject"), validators=[DataRequired(_l("Enter a subject.")),
                                                     Length(max=200, message=_l("Use at most 200 characters."))])
    description = TextAreaField(_l("Your message"), validators=[
        DataRequired(_l("Describe your request.")), Length(max=5000, message=_l("Use at most 5000 characters."))])
    category = SelectField(_l("What is it about? (optional)"), validators=[Optional()])


class MoveInForm(_RequestBase):
    account = SelectField(_l("Account"), validators=[DataRequired(_l("Choose one of your accounts."))])
    address = TextAreaField(_l("Address of your new home"), validators=[
        DataRequired(_l("Enter the address of your new home.")),
        Length(max=500, message=_l("Use at most 500 characters."))])
    effective_on = DateField(_l("Move-in date"), validators=[DataRequired(_l("Enter your move-in date."))])
    meter_reading = StringField(_l("Meter reading on arrival (optional)"), validators=[
        Optional(), Length(max=40, message=_l("Use at most 40 characters."))])
    description = TextAreaField(_l("Anything else we should know (optional)"), validators=[
        Optional(), Length(max=5000, message=_l("Use at most 5000 characters."))])


class MoveOutForm(_RequestBase):
    effective_on = DateField(_l("Move-out date"), validators=[DataRequired(_l("Enter your move-out date."))])
    description = TextAreaField(_l("Your new address for the final bill, and anything else (optional)"),
                                validators=[Optional(), Length(max=5000, message=_l("Use at most 5000 characters."))])


class ReplyForm(_RequestBase):
    body = TextAreaField(_l("Your reply"), validators=[
        DataRequired(_l("Write your message.")), Length(max=5000, message=_l("Use at most 5000 characters."))])


def _uploads() -> list[files.Upload]:
    return [files.Upload(filename=f.filename or "", data=f.read())
            for f in request.files.getlist("attachments") if f and (f.filename or "")]


def _point_label(contract) -> str:
    dp = contract.delivery_point
    return f"{ACTIVITY_NAMES[dp.activity]} · {dp.premise.one_line} ({dp.identifier})"


def _live_contracts(customer_accounts) -> list:
    return [c for a in customer_accounts for c in a.contracts if c.end_date is None]


def _open(new: requests_service.NewRequest):
    return requests_service.open_request(customer=current_user.user, new=new, now=utcnow(), today=tenant_today(),
                                 answer_days=g.tenant.request_answer_days, zone=tenant_zone(),
                                 tenant_id=g.tenant.id)


@bp.get("/requests")
@customer_required
def requests():
    user_id = current_user.user.id
    page = page_of(requested=request.args.get("page"),
                   total=requests_service.count_requests_of_customer(customer_user_id=user_id),
                   size=REQUESTS_PER_PAGE)
    found = requests_service.requests_of_customer(customer_user_id=user_id, limit=page.size, offset=page.offset)
    return render_template("portal/requests/list.html", found=found, now=utcnow(), page=page,
                           unread=requests_service.unread_references(customer_user_id=user_id),
                           accounts_by_id=requests_service.accounts_by_id(found))


@bp.route("/requests/new", methods=["GET", "POST"])
@customer_required
def new_request():
    kind = request.args.get("kind", "")
    if kind not in requests_service.PORTAL_KINDS:
        return render_template("portal/requests/choose.html", kinds=requests_service.PORTAL_KINDS,
                               hints=KIND_HINTS)
    customer_accounts = accounts.accounts_of_customer(customer_user_id=current_user.user.id)
    if not customer_accounts:
        abort(404)
    if kind == "move_out":
        return _move_out(customer_accounts)
    form = MoveInForm() if kind == "move_in" else RequestForm()
    form.account.choices = [SelectChoice(a.account_number, a.account_number) for a in customer_accounts]
    if kind != "move_in":
        points = {c.delivery_point.identifier: _point_label(c) for a in customer_accounts for c in a.contracts}
        form.point.choices = [SelectChoice("", _("Not about a particular point of delivery"))] + [
            SelectChoice(identifier, label) for identifier, label in points.items()]
        form.category.choices = [SelectChoice("", _("Something else, or not sure"))] + [
            SelectChoice(c, category_name(kind, c)) for c in categories.categories_of(kind)]
    if len(customer_accounts) == 1 and not form.account.data:
        form.account.data = customer_accounts[0].account_number
    error = None
    if form.is_submitted():
        if form.validate():
            new = _new_from(kind, form)
            try:
                created = _open(new)
            except files.AttachmentRefused as exc:
                error = file_error(exc, "attachments")
            except requests_service.RequestRefused as exc:
                error = REQUEST_ERRORS[exc.code]()
            else:
                flash(_("Your request %(reference)s is registered. We will answer by %(date)s.",
                        reference=created.reference, date=_due_text(created)), "success")
                return redirect(url_for("portal.request", reference=created.reference))
        return render_template("portal/requests/new.html", form=form, kind=kind, error=error), 400
    return render_template("portal/requests/new.html", form=form, kind=kind, error=error)


def _due_text(created) -> str:
    return format_day(created.due_at, "long")


def _new_from(kind: str, form) -> requests_service.NewRequest:
    if kind == "move_in":
        lines = [_("Address of the new home: %(address)s", address=form.address.data.strip())]
        if form.meter_reading.data:
            lines.append(_("Meter reading on arrival: %(reading)s", reading=form.meter_reading.data.strip()))
        if form.description.data:
            lines.append(form.description.data.strip())
        return requests_service.NewRequest(
            kind=kind, account_number=form.account.data, effective_on=form.effective_on.data,
            subject=_("Moving in on %(date)s", date=format_day(form.effective_on.data, "long")),
            description="\n\n".join(lines), uploads=_uploads())
    return requests_service.NewRequest(
        kind=kind, account_number=form.account.data, point_identifier=form.point.data or None,
        category=form.category.data or None,
        subject=form.subject.data.strip(), description=form.description.data.strip(), uploads=_uploads())


def _move_out(customer_accounts):
    live = _live_contracts(customer_accounts)
    chosen = request.args.get("point")
    contract = next((c for c in live if c.delivery_point.identifier == chosen), None)
    if contract is None and len(live) == 1 and not chosen:
        contract = live[0]
    if contract is None:
        status = 404 if chosen else 200
        return render_template("portal/requests/move_out_point.html", contracts=live, label=_point_label,
                               unknown=bool(chosen)), status
    to_read = moves.registers_to_read(contract=contract, on=tenant_today())
    form = MoveOutForm()
    readings_raw = {item.register.code: request.form.get(f"reading-{item.register.code}", "")
                    for item in to_read}
    field_errors: dict[str, str] = {}
    error = None
    if form.is_submitted():
        if form.validate():
            parsed = {code: moves.parse_reading(raw) if raw.strip() else None for code, raw in readings_raw.items()}
            for code, raw in readings_raw.items():
                if raw.strip() and parsed[code] is None:
                    field_errors[code] = _("Enter the reading as a number, for example 1234.5.")
                elif parsed[code] is None:
                    field_errors[code] = _("Enter the final reading.")
            if not field_errors:
                created, error, field_errors = _record_move_out(contract, form, parsed)
                if created is not None:
                    return redirect(url_for("portal.request", reference=created.reference))
            else:  # tell the date's problem too, not only after the readings are fixed
                problem = moves.move_out_date_problem(move_out_on=form.effective_on.data, contract=contract,
                                                      today=tenant_today())
                if problem:
                    field_errors["effective_on"] = MOVE_OUT_ERRORS[problem](None)
        return render_template("portal/requests/move_out.html", form=form, contract=contract, to_read=to_read,
                               label=_point_label, readings_raw=readings_raw, field_errors=field_errors,
                               register_name=register_name, unit_labels=UNIT_LABELS,
                               error=error, today=tenant_today(), max_ahead=moves.MAX_DAYS_AHEAD,
                               max_past=moves.MAX_DAYS_PAST,
                               budget_billing=moves.on_budget_billing(contract=contract)), 400
    return render_template("portal/requests/move_out.html", form=form, contract=contract, to_read=to_read,
                           label=_point_label, readings_raw=readings_raw, field_errors=field_errors,
                           register_name=register_name, unit_labels=UNIT_LABELS, error=None,
                           today=tenant_today(), max_ahead=moves.MAX_DAYS_AHEAD, max_past=moves.MAX_DAYS_PAST,
                           budget_billing=moves.on_budget_billing(contract=contract))


def _reading_message(problem: str, details: dict) -> str:
    if problem == "reading_lower":
        return _("The reading cannot be lower than the previous reading (%(value)s on %(date)s).",
                 value=quantity(details["previous"], UNIT_LABELS.get(details["unit"], details["unit"])),
                 date=format_day(details["previous_on"]))
    if problem == "reading_missing":
        return _("Enter the final reading.")
    return _("Enter the reading as a number, for example 1234.5.")


def _record_move_out(contract, form, parsed):
    """(the request, None, {}) or (None, a message for the summary, messages per register code)."""
    dp = contract.delivery_point
    new = requests_service.NewRequest(
        kind="move_out", account_number=contract.account.account_number, point_identifier=dp.identifier,
        effective_on=form.effective_on.data, final_readings=parsed,
        subject=_("Moving out on %(date)s", date=format_day(form.effective_on.data, "long")),
        description=(form.description.data or "").strip(), uploads=_uploads())
    try:
        created = _open(new)
    except moves.MoveOutRefused as exc:
        if exc.registers:
            return None, None, {code: _reading_message(problem, details)
                                for code, (problem, details) in exc.registers.items()}
        if exc.code.startswith("date") or exc.code == "already_ending":
            return None, None, {"effective_on": MOVE_OUT_ERRORS[exc.code](exc)}
        return None, MOVE_OUT_ERRORS[exc.code](exc), {}
    except files.AttachmentRefused as exc:
        return None, file_error(exc, "attachments"), {}
    except requests_service.RequestRefused as exc:
        return None, REQUEST_ERRORS[exc.code](), {}
    flash(_("Your move out on %(date)s is recorded with your final reading. Your final bill will follow. "
            "Reference: %(reference)s.", date=format_day(created.effective_on, "long"),
            reference=created.reference), "success")
    return created, None, {}


def _own_request_or_404(reference: str):
    found = requests_service.request_of_customer(customer_user_id=current_user.user.id, reference=reference)
    if found is None:
        abort(404)
    return found


@bp.get("/requests/<reference>", endpoint="request")
@customer_required
def request_page(reference: str):
    found = _own_request_or_404(reference)
    return _detail(found, ReplyForm(), None, 200)


def _detail(found, form, error, status):
    unread_since = found.customer_seen_at
    page = render_template(
        "portal/requests/detail.html", req=found, messages=requests_service.visible_messages(found),
        files_by_message=_files_by_message(found), account=requests_service.account_of(found),
        point=requests_service.point_of(found), form=form, error=error, unread_since=unread_since,
        now=utcnow(), overdue=requests_service.is_overdue(found, now=utcnow()))
    if status == 200:
        requests_service.mark_seen(found, now=utcnow())
    return page, status


def _files_by_message(found) -> dict:
    grouped: dict = {}
    for attachment in requests_service.attachments_of(found, for_customer=True):
        grouped.setdefault(attachment.message_id, []).append(attachment)
    return grouped


@bp.post("/requests/<reference>/reply")
@customer_required
def request_reply(reference: str):
    found = _own_request_or_404(reference)
    form = ReplyForm()
    error = None
    if form.validate_on_submit():
        try:
            requests_service.customer_reply(request=found, customer=current_user.user, body=form.body.data,
                                            uploads=_uploads(), now=utcnow())
        except files.AttachmentRefused as exc:
            error = file_error(exc, "attachments")
        except requests_service.RequestRefused as exc:
            error = REQUEST_ERRORS[exc.code]()
        else:
            flash(_("Your message is sent."), "success")
            return redirect(url_for("portal.request", reference=reference) + "#conversation")
    return _detail(found, form, error, 400)


@bp.get("/requests/<reference>/files/<public_id>")
@customer_required
def request_attachment(reference: str, public_id: str):
    found = _own_request_or_404(reference)
    attachment = requests_service.attachment_of(found, public_id=public_id, for_customer=True)
    data = files.content_of(attachment) if attachment is not None else None
    if data is None:
        abort(404)
    return attachment_response(attachment, data)


def attachment_response(attachment, data: bytes):
    """The file, served with its checked type; never rendered as HTML, never cached by shared caches."""
    ascii_name = "".join(ch for ch in attachment.filename if ch.isascii() and (ch.isalnum() or ch in "._- "))
    return private_file(data, attachment.content_type,
                        disposition=(f'attachment; filename="{ascii_name[:100] or "file"}"; '
                                     f"filename*=UTF-8''{quote(attachment.filename[:100])}"))
