"""Meter self-reading per meter and register, and the reading history."""
from __future__ import annotations

import re
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from flask import abort, current_app, flash, g, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import BooleanField, StringField
from wtforms.validators import ValidationError

from app.files import private_file
from app.i18n import UNIT_LABELS, REGISTER_NAMES
from app.auth import customer_required
from app.i18n import _date as format_day
from app.i18n import quantity, tenant_zone
from app.messages import queue_message
from domain.db import utcnow
from domain.readings import services as reading_service
from domain.readings.photos import MAX_PHOTO_BYTES, photo_token
from domain.readings.validation import ReadingProblem, parse_index
from tenants.operation_settings import plausibility_factor as tenant_plausibility_factor
from portal.blueprint import bp

SOURCE_NAMES = {"customer": _l("Customer"), "agent": _l("Meter reader"), "smart_meter": _l("Smart meter"),
                "estimated": _l("Estimated"), "regularisation": _l("Regularisation")}
# The usual registers in the customer's language; any other keeps the label the utility gave it.
READING_STATUS_NAMES = {"valid": _l("Accepted"), "pending": _l("To be checked"), "rejected": _l("Rejected")}

_NOT_A_NUMBER = _l("Enter the reading as a number, for example 12345 or 12345.6 (at most three decimals).")


def _plausibility_factor():
    """The utility's factor (administration, billing and readings settings), else the platform's configured one."""
    return tenant_plausibility_factor(g.tenant, current_app.config.get("READING_PLAUSIBILITY_FACTOR"))


def _unit(unit: str) -> str:
    return UNIT_LABELS.get(unit, unit)


def register_name(register) -> str:
    return str(REGISTER_NAMES.get(register.code, register.label))


def source_name(reading) -> str:
    if reading.source == "customer" and reading.submitted_by_user_id == current_user.user.id:
        return _("You")
    return str(SOURCE_NAMES.get(reading.source, reading.source))


def _problem_message(problem, value, previous, unit: str) -> str:
    reason = problem.reason
    if reason == "missing":
        return _("Enter the reading shown on your meter.")
    if reason == "not_a_number":
        return str(_NOT_A_NUMBER)
    if reason == "too_many_digits":
        return _("Your meter shows at most %(digits)s digits before the decimal point: check the number you entered.",
                 digits=problem.details["digits"])
    if reason == "lower_than_previous":
        return _("This reading (%(value)s) is lower than the previous one (%(previous)s on %(date)s). Check the "
                 "number; if your meter went back to zero, tick “My meter went back to zero”.",
                 value=quantity(value, unit), previous=quantity(problem.details["previous"], unit),
                 date=format_day(previous.read_on) if previous else "")
    if reason == "rollover_not_possible":
        return _("A meter with %(digits)s digits cannot go from %(previous)s to %(value)s by going back to zero. "
                 "Check the number you entered.", digits=problem.details["digits"],
                 previous=quantity(problem.details["previous"], unit), value=quantity(value, unit))
    if reason == "type":
        return _("The photo must be a JPEG, PNG or WebP image.")
    if reason == "size":
        return _("The photo must be 5 MB or smaller.")
    if reason == "empty":
        return _("The photo file is empty.")
    return _("Check this value.")


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "meter"


def _index_field(label: str, field_id: str) -> StringField:
    def parsed(form, field):
        if not (field.data or "").strip():
            raise ValidationError(_("Enter the reading shown on your meter."))
        try:
            form.values[field.name[2:]] = parse_index(field.data)
        except ReadingProblem as exc:
            raise ValidationError(str(_NOT_A_NUMBER)) from exc

    return StringField(label, id=field_id, validators=[parsed], render_kw={"inputmode": "decimal",
                                                                          "autocomplete": "off"})


def reading_form(state, **kwargs) -> FlaskForm:
    """A form for one meter: one field per register (named r_<code>), a rollover confirmation, a photo."""
    slug = _slug(state.meter.serial_number)
    unit = _unit(state.meter.unit)

    class ReadingForm(FlaskForm):
        rollover = BooleanField(_l("My meter went back to zero"), id=f"{slug}-rollover")
        photo = FileField(_l("Photo of your meter (optional)"), id=f"{slug}-photo",
                          render_kw={"accept": "image/jpeg,image/png,image/webp"})

    single = len(state.registers) == 1
    for line in state.registers:
        label = (_("Reading in %(unit)s", unit=unit) if single
                 else _("%(register)s, in %(unit)s", register=register_name(line.register), unit=unit))
        setattr(ReadingForm, f"r_{line.register.code}", _index_field(label, f"{slug}-{_slug(line.register.code)}"))
    form = ReadingForm(**kwargs)
    form.values = {}
    form.index_fields = [getattr(form, f"r_{line.register.code}") for line in state.registers]
    return form


def _today():
    return datetime.now(tenant_zone()).date()


def _photo_bytes(form) -> bytes | None:
    upload = form.photo.data
    if upload is None or not getattr(upload, "filename", ""):
        return None
    return upload.stream.read(MAX_PHOTO_BYTES + 1)


@bp.get("/readings")
@customer_required
def readings():
    today = _today()
    states = reading_service.meters_to_read(customer_user_id=current_user.user.id, tenant=g.tenant, today=today)
    forms = {state.meter.serial_number: reading_form(state, formdata=None) for state in states}
    return render_template("portal/readings/index.html", states=states, forms=forms, today=today,
                           unit_label=_unit, source_names=SOURCE_NAMES)


def _state_or_404(serial: str, today):
    try:
        return reading_service.meter_to_read(customer_user_id=current_user.user.id, serial=serial, tenant=g.tenant,
                                      today=today)
    except reading_service.MeterNotFound:
        abort(404)


@bp.route("/readings/<serial>", methods=["GET", "POST"])
@customer_required
def submit_reading(serial: str):
    today = _today()
    state = _state_or_404(serial, today)
    form = reading_form(state)
    if form.validate_on_submit():
        try:
            submission = reading_service.submit_reading(
                customer_user_id=current_user.user.id, serial=serial, values=form.values,
                rollover_confirmed=bool(form.rollover.data), photo=_photo_bytes(form), tenant=g.tenant,
                today=today, now=utcnow(),
                plausibility_factor=_plausibility_factor(),
            )
        except reading_service.MeterNotFound:
            abort(404)
        except reading_service.ReadingRefused as refused:
            _show_problems(form, state, refused)
        else:
            _confirm(submission, today)
            _tell_to_be_checked(submission, today)
            return redirect(url_for("portal.reading_history", serial=serial))
    return render_template("portal/readings/submit.html", state=state, form=form, today=today, unit_label=_unit,
                           source_names=SOURCE_NAMES)


def _show_problems(form, state, refused) -> None:
    unit = _unit(state.meter.unit)
    for key, problem in refused.problems.items():
        if key == "photo":
            form.photo.errors = [*form.photo.errors, _problem_message(problem, None, None, unit)]
            continue
        line = next(line for line in state.registers if line.register.code == key)
        field = getattr(form, f"r_{key}")
        message = _problem_message(problem, form.values.get(key), line.previous, unit)
        field.errors = [*field.errors, message]


def _rounded(value: Decimal | None, unit: str) -> Decimal | None:
    """To whole kWh, or a tenth of a m3: an expectation is no more precise than that."""
    if value is None:
        return None
    return value.quantize(Decimal("0.1") if unit == "m³" else Decimal("1"), ROUND_HALF_UP)


def _tell_to_be_checked(submission, today) -> None:
    """A reading far from the expected goes to staff: the customer is told by e-mail too (optional notice), and
    again with the outcome (backoffice/reading_views.py)."""
    pending = [o for o in submission.outcomes if o.reading.status == "pending"]
    if not pending:
        return
    user = current_user.user
    serial = submission.state.meter.serial_number
    queue_message(kind="reading_to_check", to=user.email, locale=user.locale, customer_user=user,
                  account_id=submission.state.contract.account_id, reference=f"reading-check:{pending[0].reading.id}",
                  serial=serial, read_on=today,
                  link=url_for("portal.reading_history", serial=serial, _external=True))


def _confirm(submission, today) -> None:
    unit = _unit(submission.state.meter.unit)
    parts = [_("Thank you: your reading of %(date)s is recorded.", date=format_day(today))]
    if submission.replaced:
        parts.append(_("It replaces the reading you gave earlier today."))
    pending = [o for o in submission.outcomes if o.reading.status == "pending"]
    if pending:
        outcome = pending[0]
        parts.append(_("It means %(given)s used since your previous reading, far from the %(expected)s or so we "
                       "expected, so our team will check it before it is used for a bill.",
                       expected=quantity(_rounded(outcome.expected, unit), unit),
                       given=quantity(_rounded(outcome.check.consumption, unit), unit)))
    flash(" ".join(parts), "warning" if pending else "success")


@bp.get("/readings/<serial>/history")
@customer_required
def reading_history(serial: str):
    try:
        history = reading_service.reading_history(customer_user_id=current_user.user.id, serial=serial)
    except reading_service.MeterNotFound:
        abort(404)
    return render_template("portal/readings/history.html", history=history, unit=_unit(history.meter.unit),
                           source_name=source_name, status_names=READING_STATUS_NAMES, photo_token=photo_token,
                           register_name=register_name)


@bp.get("/readings/photos/<token>")
@customer_required
def reading_photo(token: str):
    try:
        data, content_type = reading_service.customer_photo(customer_user_id=current_user.user.id, token=token,
                                                     tenant_id=g.tenant.id)
    except (reading_service.MeterNotFound, FileNotFoundError):
        abort(404)
    return private_file(data, content_type)
