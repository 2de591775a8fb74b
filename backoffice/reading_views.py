"""Readings to check in the back office: the queue, the photo, and accepting, rejecting or correcting a reading."""
from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from flask import abort, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from itsdangerous import BadSignature, URLSafeSerializer
from wtforms import BooleanField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from app.files import private_file
from app.i18n import UNIT_LABELS
from app.auth import staff_permission
from app.i18n import _date as format_day
from app.i18n import quantity
from app.messages import queue_message
from app.csv_export import wants_csv
from backoffice import exports
from backoffice.views import bp
from domain.db import utcnow
from domain.readings import review
from domain.readings.photos import photo_token
from domain.readings.validation import ReadingProblem, parse_index
from tenants.operation_settings import plausibility_factor as tenant_plausibility_factor
from portal.reading_views import SOURCE_NAMES, register_name

DECISION_NAMES = {"valid": _l("accepted"), "rejected": _l("rejected"), "pending": _l("to be checked")}


def _plausibility_factor():
    """The utility's factor (administration, billing and readings settings), else the platform's configured one."""
    return tenant_plausibility_factor(g.tenant, current_app.config.get("READING_PLAUSIBILITY_FACTOR"))


def unit_label(unit: str) -> str:
    return UNIT_LABELS.get(unit, unit)


def rough(value: Decimal | None, unit: str) -> Decimal | None:
    """An expectation to whole kWh or a tenth of a m3: it is no more precise than that."""
    if value is None:
        return None
    return value.quantize(Decimal("0.1") if unit == "m³" else Decimal("1"), ROUND_HALF_UP)


# A reading has no public reference of its own: URLs carry its id signed for this tenant, so ids cannot be
# guessed or walked, and another tenant's reference does not even decode here.
def _signer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=f"backoffice-reading:{g.tenant.id}")


def reading_ref(reading) -> str:
    return _signer().dumps(reading.id)


def _reading_id(ref: str) -> int:
    try:
        reading_id = _signer().loads(ref)
    except BadSignature:
        abort(404)
    if not isinstance(reading_id, int) or review.reading_by_id(reading_id=reading_id) is None:
        abort(404)
    return reading_id


def _parsed_index(form, field):
    try:
        form.index = parse_index(field.data)
    except ReadingProblem as exc:
        raise ValidationError(_("Enter the index as a number, for example 12345 or 12345.6 "
                                "(at most three decimals).")) from exc


class _PageForm(FlaskForm):
    """CSRF only; the page to go back to is read as it comes (`_page_number`)."""


class RejectForm(_PageForm):
    reason = TextAreaField(_l("Reason, shown to the customer"), validators=[
        DataRequired(_l("Write the reason the customer will read.")),
        Length(max=review.REASON_MAX, message=_l("Use at most 255 characters."))])


class CorrectForm(_PageForm):
    value = StringField(_l("Right index"), validators=[DataRequired(_l("Enter the right index.")), _parsed_index])
    rollover = BooleanField(_l("The meter went back to zero"))
    # Shown after the warning that the index gives a consumption outside the plausible range.
    confirm_implausible = BooleanField(_l("I have checked this index: it is right"))
    reason = TextAreaField(_l("Note to the customer (optional)"), validators=[
        Optional(), Length(max=review.REASON_MAX, message=_l("Use at most 255 characters."))])


def _page_number() -> int:
    raw = request.form.get("page") if request.method == "POST" else request.args.get("page")
    try:
        return max(1, int(raw or 1))
    except ValueError:
        return 1


def _queue(*, status: int = 200, problem: dict | None = None):
    found = review.readings_to_check(page=_page_number())
    return render_template("backoffice/readings/queue.html", found=found, problem=problem, reading_ref=reading_ref,
                           photo_token=photo_token, unit_label=unit_label, rough=rough, register_name=register_name,
                           source_names=SOURCE_NAMES, csrf_form=FlaskForm()), status


@bp.get("/readings")
@staff_permission("readings.validate")
def reading_queue():
    if wants_csv():
        return exports.readings_to_check()
    return _queue()


@bp.get("/readings/photos/<token>")
@staff_permission("readings.validate")
def reading_queue_photo(token: str):
    try:
        data, content_type = review.staff_photo(token=token, tenant_id=g.tenant.id)
    except review.ReadingGone:
        abort(404)
    return private_file(data, content_type)


def _back():
    page = _page_number()
    return redirect(url_for("backoffice.reading_queue", page=page if page > 1 else None))


def _what(reading) -> str:
    meter = reading.register.meter
    if len(meter.registers) > 1:
        return _("the reading of meter %(serial)s (%(register)s) of %(date)s", serial=meter.serial_number,
                 register=register_name(reading.register), date=format_day(reading.read_on))
    return _("the reading of meter %(serial)s of %(date)s", serial=meter.serial_number,
             date=format_day(reading.read_on))


def _handled(exc: review.ReviewRefused):
    flash(_("This reading has already been checked: it is %(status)s. Nothing was changed.",
            status=DECISION_NAMES.get(exc.status, exc.status)), "info")
    return _back()


def _index_problem(problem: ReadingProblem, unit: str) -> str:
    if problem.reason == "too_many_digits":
        return _("This meter shows at most %(digits)s digits before the decimal point.",
                 digits=problem.details["digits"])
    if problem.reason == "lower_than_previous":
        return _("This index is lower than the previous actual reading (%(previous)s). Tick “The meter went back "
                 "to zero” only if it did.", previous=quantity(problem.details["previous"], unit))
    if problem.reason == "rollover_not_possible":
        return _("A meter with %(digits)s digits cannot go from %(previous)s to this index by going back to zero.",
                 digits=problem.details["digits"], previous=quantity(problem.details["previous"], unit))
    return _("Check this index.")


def _form_problem(ref: str, action: str, form, field: str | None = None, message: str | None = None):
    """Show the queue again with the form's errors beside the reading they are about (nothing was changed)."""
    errors = [(name, error) for name, errors in form.errors.items() if name in ("reason", "value") for error in errors]
    if message:
        errors.append((field, message))
    return _queue(status=422, problem={"ref": ref, "action": action, "errors": errors, "form": form})


@bp.post("/readings/<ref>/accept")
@staff_permission("readings.validate")
def reading_accept(ref: str):
    reading_id = _reading_id(ref)
    if not _PageForm().validate_on_submit():
        abort(400)
    try:
        done = review.accept_reading(reading_id=reading_id, staff_user_id=current_user.user.id, now=utcnow())
    except review.ReviewRefused as exc:
        return _handled(exc)
    _tell_customer_accepted(done)
    flash(_("You accepted %(what)s: bills will use it.", what=_what(done.reading)), "success")
    return _back()


@bp.post("/readings/<ref>/reject")
@staff_permission("readings.validate")
def reading_reject(ref: str):
    reading_id = _reading_id(ref)
    form = RejectForm()
    if not form.validate_on_submit():
        if form.csrf_token.errors:
            abort(400)
        return _form_problem(ref, "reject", form)
    try:
        done = review.reject_reading(reading_id=reading_id, reason=form.reason.data,
                                     staff_user_id=current_user.user.id, now=utcnow())
    except review.ReviewRefused as exc:
        if exc.code == "reason":
            return _form_problem(ref, "reject", form, "reason", _("Write the reason the customer will read."))
        return _handled(exc)
    _tell_customer(done)
    flash(_("You rejected %(what)s: bills will not use it.", what=_what(done.reading)) + " " + _told(done),
          "success")
    return _back()


@bp.post("/readings/<ref>/correct")
@staff_permission("readings.validate")
def reading_correct(ref: str):
    reading_id = _reading_id(ref)
    form = CorrectForm()
    if not form.validate_on_submit():
        if form.csrf_token.errors:
            abort(400)
        return _form_problem(ref, "correct", form)
    try:
        done = review.correct_reading(
            reading_id=reading_id, value=form.index, rollover_confirmed=form.rollover.data, reason=form.reason.data,
            staff_user_id=current_user.user.id, now=utcnow(), implausible_confirmed=form.confirm_implausible.data,
            plausibility_factor=_plausibility_factor())
    except review.ReviewRefused as exc:
        if exc.code == "implausible":
            unit = unit_label(review.reading_by_id(reading_id=reading_id).register.meter.unit)
            return _form_problem(ref, "correct", form, "confirm", _implausible(exc.judged, unit))
        if exc.code == "same_value":
            return _form_problem(ref, "correct", form, "value",
                                 _("This is the index the customer gave: accept the reading instead."))
        if exc.code == "index":
            meter = review.reading_by_id(reading_id=reading_id).register.meter
            return _form_problem(ref, "correct", form, "value", _index_problem(exc.problem, unit_label(meter.unit)))
        return _handled(exc)
    _tell_customer(done)
    unit = unit_label(done.reading.register.meter.unit)
    message = _("You corrected %(what)s to %(value)s: bills will use the corrected index, not the customer's.",
                what=_what(done.reading), value=quantity(done.corrected_by.value, unit))
    if done.corrected_by.implausible_confirmed:
        message += " " + _("It is recorded that you confirmed it outside the expected range.")
    flash(message + " " + _told(done), "success")
    return _back()


def _implausible(judged: review.Judgement, unit: str) -> str:
    """The warning for a right index far from the expected consumption (staff confirm it or change it)."""
    low, high = judged.plausibility.low, judged.plausibility.high
    return _("This index means %(consumption)s used since %(date)s, where about %(expected)s was expected "
             "(accepted between %(low)s and %(high)s). Check it; if it is right, tick “I have checked this "
             "index: it is right” and store it again.",
             consumption=quantity(judged.consumption, unit), date=format_day(judged.previous.read_on),
             expected=quantity(rough(judged.expected, unit), unit), low=quantity(rough(low, unit), unit),
             high=quantity(rough(high, unit), unit))


def _told(done: review.Review) -> str:
    if done.recipients:
        return _("The customer is told by e-mail.")
    return _("The customer has no online access, so no e-mail was sent.")


def _tell_customer_accepted(done: review.Review) -> None:
    """The outcome of a check the customer was told about when giving the reading (optional notice)."""
    reading = done.reading
    meter = reading.register.meter
    link = url_for("portal.reading_history", serial=meter.serial_number, _external=True)
    for recipient in done.recipients:
        queue_message(kind="reading_accepted", to=recipient.email, account=done.account, locale=recipient.locale,
                      reference=f"reading-accepted:{reading.id}:{recipient.email.lower()}",
                      serial=meter.serial_number, read_on=reading.read_on, value=reading.value,
                      unit=unit_label(meter.unit), link=link)


def _tell_customer(done: review.Review) -> None:
    reading = done.reading
    meter = reading.register.meter
    link = url_for("portal.reading_history", serial=meter.serial_number, _external=True)
    for recipient in done.recipients:
        queue_message(
            kind="reading_rejected", to=recipient.email, account=done.account,
            subject=_l("About your meter reading of %(serial)s", serial=meter.serial_number),
            locale=recipient.locale, reading=reading, meter=meter,
            register_name=register_name if len(meter.registers) > 1 else None, unit=unit_label(meter.unit),
            corrected=done.corrected_by, link=link,
        )
