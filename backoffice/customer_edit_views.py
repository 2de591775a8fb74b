"""Staff data entry from the back office (permission customers.edit): a new customer in one form; from the customer
file, contact details, another supply, a reading on the customer's behalf, a meter exchange, the end of a contract.
Each view parses its form, makes one domain call and words the domain's refusals per field; a refusal writes
nothing (the request's transaction is rolled back)."""
from __future__ import annotations

import logging

from flask import abort, flash, g, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy.exc import IntegrityError
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired

from app.i18n import UNIT_LABELS
from app.auth import staff_permission
from app.i18n import _date as format_day
from app.i18n import quantity, tenant_today
from backoffice import customer_edit_forms as forms
from backoffice.views import FREQUENCY_NAMES, bp
from domain.billing.settings import billing_frequencies, default_billing_frequency
from domain.contracts import services as accounts
from domain.db import db, utcnow
from domain.entry import services as entry
from domain.field_errors import FieldErrors
from domain.parties.services import Address, HolderDetails
from domain.readings import services as readings
from domain.requests.moves import MoveOutRefused, registers_to_read
from domain.sites.services import MeterSpec

log = logging.getLogger("backoffice.customer_edit")
EDIT = ("customers.view", "customers.edit")


def register_label(register) -> str:
    """The usual registers in the staff member's language; any other keeps the label the utility gave it."""
    return str(forms.REGISTER_NAMES.get(register.code, register.label))


bp.add_app_template_global(register_label, "register_label")


# --- wording of refusals ------------------------------------------------------------------------------------------

def _unit(unit: str | None) -> str:
    return UNIT_LABELS.get(unit or "", unit or "")


def refusal_message(field: str, code: str, details: dict, unit: str = "") -> str:
    """A domain refusal code of a field, in the staff member's language."""
    day = details.get("date")
    field = field.removeprefix("premise_") if field != "premise" else field
    specific = {
        ("address_line1", "required"): _("Enter the street and number."),
        ("postcode", "required"): _("Enter the postcode."),
        ("city", "required"): _("Enter the town or city."),
        ("identifier", "taken"): _("This point of delivery identifier is already used by this utility."),
        ("serial_number", "taken"): _("A meter with this serial number already exists at this utility."),
        ("identifier", "too_long"): _("Use at most 40 characters."),
        ("serial_number", "too_long"): _("Use at most 40 characters."),
        ("digits", "range"): _("A meter shows between 3 and 12 digits."),
        ("multiplier", "range"): _("The multiplier must be more than 0 and at most 100,000."),
        ("activity", "unknown"): _("Choose one of the utility's energies."),
        ("activity", "already_at_premise"): _("This premise already has a point of delivery for this energy."),
        ("offer", "unknown"): _("Choose an offer."),
        ("offer", "other_activity"): _("This offer is for another energy than the point of delivery."),
        ("offer", "no_tariff"): _("This offer has no tariff in force on %(date)s.", date=format_day(day)),
        ("start_date", "too_far"): _("The start date can be at most a year ahead."),
        ("start_date", "before_installation"): _("The contract cannot start before the meter is installed "
                                                 "(%(date)s).", date=format_day(day)),
        ("installed_on", "future"): _("The date cannot be in the future."),
        ("installed_on", "too_old"): _("The installation date is more than five years ago."),
        ("birth_date", "future"): _("The date of birth must be in the past."),
        ("email", "invalid"): _("Enter a valid e-mail address."),
        ("phone", "invalid"): _("Enter a phone number with digits only, for example +33 4 72 00 00 00."),
        ("country", "unknown"): _("Choose the country."),
        ("premise", "unknown"): _("Choose one of the customer's premises."),
        ("premise", "required"): _("Choose a premise or enter the address of a new one."),
        ("last_name", "required"): _("Enter the last name."),
        ("organisation_name", "required"): _("Enter the organisation's name."),
        ("billing_frequency", "unknown"): _("Choose a billing frequency."),
        ("billing_frequency", "not_offered"): _("The utility does not bill at this frequency: choose one it offers."),
        ("estimated_annual_consumption", "range"): _("Enter a consumption above 0."),
        ("exchange_on", "no_meter"): _("No meter is installed at this point of delivery."),
        ("exchange_on", "before_installation"): _("The meter was installed on %(date)s: the exchange must be after "
                                                  "that day.", date=format_day(day)),
        ("exchange_on", "billed"): _("A bill already covers this date (until %(date)s): choose a later date.",
                                     date=format_day(day)),
        ("exchange_on", "later_reading"): _("The meter has a reading dated %(date)s, after this date.",
                                            date=format_day(day)),
    }
    if (field, code) in specific:
        return specific[(field, code)]
    return reading_message(code, details, unit) or {
        "required": _("Fill in this field."),
        "future": _("The date cannot be in the future."),
        "too_old": _("The date is more than 60 days ago."),
        "no_contract": _("No contract of this customer supplies this meter on that date."),
    }.get(code, _("Check this value."))


def reading_message(code: str, details: dict, unit: str) -> str | None:
    """The portal's reading refusals (domain.readings.validation), as staff read them."""
    if code == "missing":
        return _("Enter the index shown on the meter.")
    if code == "not_a_number":
        return str(forms.NOT_A_NUMBER)
    if code == "too_many_digits":
        return _("The meter shows at most %(digits)s digits before the decimal point.", digits=details["digits"])
    if code == "lower_than_previous":
        return _("This index is lower than the previous one (%(previous)s). If the meter went back to zero, tick "
                 "the box below.", previous=quantity(details["previous"], unit))
    if code == "rollover_not_possible":
        return _("A meter with %(digits)s digits cannot reach this index from %(previous)s by going back to zero.",
                 digits=details["digits"], previous=quantity(details["previous"], unit))
    if code == "implausible":
        return _("This index means %(consumption)s used, far from the %(expected)s or so expected (accepted "
                 "between %(low)s and %(high)s). Check it with the customer; if it is right, tick the box to "
                 "confirm it.", consumption=quantity(details["consumption"], unit),
                 expected=quantity(details["expected"], unit), low=quantity(details["low"], unit),
                 high=quantity(details["high"], unit))
    return None


def _show(form, refused: FieldErrors, unit: str = "", *, beside_form_errors: bool = False) -> list[str]:
    """Put each refusal on its field; returns the messages of fields the form does not have (shown on top).
    `beside_form_errors`: the form refused some fields already (what was typed is not a date, a number...); the
    domain's refusals go on the other fields only, so every problem shows at once."""
    loose = []
    for name, code in refused.errors.items():
        message = refusal_message(name, code, refused.details.get(name, {}), unit)
        field = getattr(form, name, None)
        if field is None and name in ("address_line1", "postcode", "city", "country") and hasattr(form, "premise_"
                                                                                                  + name):
            field = getattr(form, "premise_" + name)
        if field is None:
            loose.append(message)
        elif not (beside_form_errors and field.errors):
            field.errors = [*field.errors, message]
    return loose


def _invalid(form) -> None:
    """A form without its token is a bad request; a date that is not one is worded as the missing date is."""
    if "csrf_token" in form.errors:
        abort(400)
    for field in form:
        if field.type == "DateField" and field.errors and field.data is None:
            required = next((v.message for v in field.validators if isinstance(v, InputRequired)), None)
            field.errors = [str(required or _("Enter the date."))]


# --- reading the forms --------------------------------------------------------------------------------------------

def _holder(form) -> HolderDetails:
    return HolderDetails(
        kind=form.kind.data, title=form.title.data, first_name=form.first_name.data, last_name=form.last_name.data,
        organisation_name=form.organisation_name.data, registration_number=form.registration_number.data,
        birth_date=form.birth_date.data, email=form.email.data, phone=form.phone.data,
        address=Address(form.address_line1.data or "", form.address_line2.data, form.postcode.data or "",
                        form.city.data or "", form.country.data or ""))


def _meter(form) -> MeterSpec:
    return MeterSpec(serial_number=form.serial_number.data or "", digits=form.digits.data,
                     multiplier=form.multiplier.data, layout=form.layout.data, is_smart=bool(form.is_smart.data))


def _indexes(form, prefix: str, codes) -> dict:
    found = getattr(form, "indexes", {})
    return {code: found.get(f"{prefix}{code}") for code in codes}


def _supply(form, *, premise_public_id: str | None, same_address: bool) -> entry.SupplyDetails:
    if same_address:
        address = Address(form.address_line1.data or "", form.address_line2.data, form.postcode.data or "",
                          form.city.data or "", form.country.data or "")
    elif premise_public_id:
        address = None
    else:
        address = Address(form.premise_address_line1.data or "", form.premise_address_line2.data,
                          form.premise_postcode.data or "", form.premise_city.data or "",
                          form.premise_country.data or "")
    return entry.SupplyDetails(
        premise_public_id=premise_public_id, address=address, activity=form.activity.data,
        identifier=form.identifier.data or "", meter=_meter(form), installed_on=form.installed_on.data,
        installation_values=_indexes(form, "index_", forms.ALL_REGISTERS), offer_code=form.offer.data or "",
        start_date=form.start_date.data, billing_frequency=form.billing_frequency.data,
        estimated_annual_consumption=form.estimated_annual_consumption.data)


def _prepare_supply(form):
    """The form's lists: the utility's activities, offers and billing frequencies (its default chosen first)."""
    offered = billing_frequencies(g.tenant)
    form.prepare_supply(activities=g.tenant.activities or (), offers=accounts.offers_for_entry(),
                        frequencies={code: FREQUENCY_NAMES.get(code, code) for code in offered})
    if not form.is_submitted():
        form.billing_frequency.data = default_billing_frequency(g.tenant)
    form.premise_country.choices = forms.country_choices()
    return form


def _account_or_404(account_number: str):
    account = accounts.account_by_number(account_number=account_number)
    if account is None:
        abort(404)
    return account


def _to_file(account, anchor: str = ""):
    return redirect(url_for("backoffice.customer", account_number=account.account_number) + anchor)


def _staff_id() -> int:
    return current_user.user.id


def _serial_taken(form) -> None:
    """Two staff members gave the same serial or identifier at the same moment: the constraint refused the
    second; say so on the fields (nothing was written)."""
    db.session.rollback()
    message = _("This identifier or serial number was just used by someone else: check it.")
    for name in ("identifier", "serial_number"):
        field = getattr(form, name, None)
        if field is not None:
            field.errors = [*field.errors, message]


# --- a new customer -----------------------------------------------------------------------------------------------

@bp.route("/customers/new", methods=["GET", "POST"])
@staff_permission(*EDIT)
def customer_new():
    form = _prepare_supply(forms.NewCustomerForm())
    form.prepare()
    if not form.is_submitted():
        form.country.data = form.country.data or _default_country()
        form.premise_country.data = form.country.data
        form.locale.data = g.tenant.default_locale
        form.start_date.data = form.installed_on.data = tenant_today()
    loose, status = [], 200
    if form.is_submitted():
        status = 422
        if form.validate():
            try:
                account = entry.create_customer(
                    holder=_holder(form), supply=_supply(form, premise_public_id=None,
                                                         same_address=bool(form.same_address.data)),
                    locale=form.locale.data, paperless=bool(form.paperless.data), tenant=g.tenant,
                    staff_user_id=_staff_id(), today=tenant_today(), now=utcnow())
                db.session.commit()
            except FieldErrors as refused:
                db.session.rollback()
                loose = _show(form, _as_typed(form, refused))
            except IntegrityError:
                _serial_taken(form)
            else:
                flash(_("Customer %(number)s is created.", number=account.account_number), "success")
                return _to_file(account)
        else:
            _invalid(form)
            loose = _show(form, _as_typed(form, entry.check_new_customer(
                holder=_holder(form), supply=_supply(form, premise_public_id=None,
                                                     same_address=bool(form.same_address.data)),
                tenant=g.tenant, today=tenant_today())), beside_form_errors=True)
    return render_template("backoffice/customers/new.html", form=form, loose=loose), status


def _as_typed(form, refused: FieldErrors) -> FieldErrors:
    """Supplied at the postal address: the supply address is the postal one, whose fields carry its problems."""
    if not form.same_address.data:
        return refused
    keep = {name: code for name, code in refused.errors.items() if not name.startswith("premise_")}
    return FieldErrors(keep, refused.details)


def _default_country() -> str:
    from domain.i18n import zone_country

    country = zone_country(g.tenant.timezone)
    return country if country in forms.COUNTRIES else "FR"


# --- contact details ----------------------------------------------------------------------------------------------

@bp.route("/customers/<account_number>/contact", methods=["GET", "POST"])
@staff_permission(*EDIT)
def customer_contact(account_number: str):
    account = _account_or_404(account_number)
    party = account.holder
    email, phone, postal = party.primary("email"), party.primary("phone"), party.primary("postal")
    form = forms.ContactForm(
        kind=party.kind, title=party.title, first_name=party.first_name, last_name=party.last_name,
        organisation_name=party.organisation_name, registration_number=party.registration_number,
        birth_date=party.birth_date, email=email.value if email else None, phone=phone.value if phone else None,
        address_line1=postal.address_line1 if postal else None, address_line2=postal.address_line2 if postal else None,
        postcode=postal.postcode if postal else None, city=postal.city if postal else None,
        country=(postal.country if postal and postal.country else None) or _default_country(),
    ).prepare()
    form.kind.data = party.kind  # the kind of a party stays what it is
    loose, status = [], 200
    if form.is_submitted():
        status = 422
        if form.validate():
            try:
                entry.change_holder(account=account, holder=_holder(form), today=tenant_today(), now=utcnow())
                db.session.commit()
            except FieldErrors as refused:
                db.session.rollback()
                loose = _show(form, refused)
            else:
                log.info("contact details changed tenant=%s account=%s staff=%s", g.tenant.id,
                         account.account_number, _staff_id())
                flash(_("The contact details of %(number)s are saved.", number=account.account_number), "success")
                return _to_file(account)
        else:
            _invalid(form)
            loose = _show(form, entry.check_holder_change(account=account, holder=_holder(form), today=tenant_today()),
                          beside_form_errors=True)
    return render_template("backoffice/customers/contact.html", account=account, form=form, loose=loose), status


# --- another supply -----------------------------------------------------------------------------------------------

@bp.route("/customers/<account_number>/supplies/new", methods=["GET", "POST"])
@staff_permission(*EDIT)
def customer_supply_new(account_number: str):
    account = _account_or_404(account_number)
    premises = entry.premises_of(account)
    form = _prepare_supply(forms.SupplyForm())
    form.premise.choices = [SelectChoice(p.public_id, p.one_line) for p in premises] + [
        SelectChoice("", _l("A new address"))]
    if not form.is_submitted():
        form.premise.data = premises[0].public_id if premises else ""
        form.premise_country.data = _default_country()
        form.start_date.data = form.installed_on.data = tenant_today()
    loose, status = [], 200
    if form.is_submitted():
        status = 422
        if form.validate():
            try:
                contract = entry.add_supply(account=account, supply=_supply(
                    form, premise_public_id=form.premise.data or None, same_address=False), tenant=g.tenant,
                    staff_user_id=_staff_id(), today=tenant_today(), now=utcnow())
                db.session.commit()
            except FieldErrors as refused:
                db.session.rollback()
                loose = _show(form, refused)
            except IntegrityError:
                _serial_taken(form)
            else:
                flash(_("Contract %(contract)s is added.", contract=contract.contract_number), "success")
                return _to_file(account)
        else:
            _invalid(form)
            loose = _show(form, entry.check_supply(account=account, supply=_supply(
                form, premise_public_id=form.premise.data or None, same_address=False), tenant=g.tenant,
                today=tenant_today()), beside_form_errors=True)
    return render_template("backoffice/customers/supply.html", account=account, form=form, loose=loose), status


# --- a reading on the customer's behalf ---------------------------------------------------------------------------

def _meter_of(account, serial: str):
    found = next(((c, m) for c, m in readings.meters_of_account(account=account, day=tenant_today())
                  if m.serial_number == serial), None)
    if found is None:
        abort(404)
    return found


@bp.route("/customers/<account_number>/meters/<serial>/reading", methods=["GET", "POST"])
@staff_permission(*EDIT)
def customer_reading(account_number: str, serial: str):
    account = _account_or_404(account_number)
    contract, meter = _meter_of(account, serial)
    codes = [r.code for r in meter.registers]
    single = len(codes) == 1
    unit = _unit(meter.unit)
    form_class = forms.add_index_fields(
        forms.StaffReadingForm, codes, "r_",
        (lambda name: _l("Index in %(unit)s", unit=unit)) if single
        else (lambda name: _l("%(register)s, in %(unit)s", register=name, unit=unit)))
    form = form_class()
    if not form.is_submitted():
        form.read_on.data = tenant_today()
    previous = readings.previous_actual([r.id for r in meter.registers], tenant_today())
    loose, status, warned = [], 200, False
    if form.is_submitted():
        status = 422
        if form.validate():
            try:
                readings.enter_reading_for_customer(
                    account=account, serial=serial, channel=form.channel.data, read_on=form.read_on.data,
                    values={c: v for c, v in _indexes(form, "r_", codes).items() if v is not None},
                    rollover_confirmed=bool(form.rollover.data),
                    implausible_confirmed=bool(form.confirm_implausible.data), staff_user_id=_staff_id(),
                    tenant=g.tenant, today=tenant_today(), now=utcnow())
                db.session.commit()
            except readings.ReadingRefused as refused:
                db.session.rollback()
                for code, problem in refused.problems.items():
                    warned = warned or problem.reason == "implausible"
                    field = getattr(form, f"r_{code}")
                    field.errors = [*field.errors, reading_message(problem.reason, problem.details, unit)]
            except readings.StaffReadingRefused as refused:
                db.session.rollback()
                form.read_on.errors = [*form.read_on.errors, refusal_message("read_on", refused.code, {
                    "date": refused.details.get("latest")}, unit) if refused.code != "later_reading" else
                    _("The meter has a reading dated %(date)s, after this date.",
                      date=format_day(refused.details["latest"]))]
            except readings.MeterNotFound:
                abort(404)
            else:
                flash(_("The reading of meter %(serial)s is recorded.", serial=serial), "success")
                return _to_file(account)
        else:
            _invalid(form)
    return render_template("backoffice/customers/reading.html", account=account, contract=contract, meter=meter,
                           form=form, index_fields=[getattr(form, f"r_{c}") for c in codes], previous=previous,
                           unit=unit, warned=warned or bool(form.confirm_implausible.data), loose=loose), status


# --- a meter exchange ---------------------------------------------------------------------------------------------

@bp.route("/customers/<account_number>/points/<identifier>/exchange", methods=["GET", "POST"])
@staff_permission(*EDIT)
def customer_meter_exchange(account_number: str, identifier: str):
    account = _account_or_404(account_number)
    point = entry.point_of_account(account, identifier)
    if point is None or point.current_meter is None:
        abort(404)
    old = point.current_meter
    old_codes = [r.code for r in old.registers]
    unit = _unit(old.unit)
    form_class = forms.add_index_fields(forms.ExchangeForm, old_codes, "removal_",
                                        lambda name: _l("Removal index, %(register)s", register=name))
    form = form_class()
    if not form.is_submitted():
        form.exchange_on.data = tenant_today()
        form.digits.data, form.layout.data = old.digits, "dual" if len(old_codes) > 1 else "single"
    loose, status, warned = [], 200, False
    if form.is_submitted():
        status = 422
        if form.validate():
            try:
                entry.exchange_meter(
                    account=account, identifier=identifier, exchange_on=form.exchange_on.data,
                    removal_values=_indexes(form, "removal_", old_codes), rollover_confirmed=bool(form.rollover.data),
                    implausible_confirmed=bool(form.confirm_implausible.data), new_meter=_meter(form),
                    installation_values=_indexes(form, "index_", forms.ALL_REGISTERS), tenant=g.tenant,
                    staff_user_id=_staff_id(), today=tenant_today(), now=utcnow())
                db.session.commit()
            except FieldErrors as refused:
                db.session.rollback()
                loose = _show(form, refused, unit)
                warned = "implausible" in refused.errors.values()
            except IntegrityError:
                _serial_taken(form)
            else:
                flash(_("Meter %(old)s is replaced by meter %(new)s.", old=old.serial_number,
                        new=form.serial_number.data.strip().upper()), "success")
                return _to_file(account)
        else:
            _invalid(form)
            refused = entry.check_exchange(
                account=account, identifier=identifier, exchange_on=form.exchange_on.data,
                removal_values=_indexes(form, "removal_", old_codes), rollover_confirmed=bool(form.rollover.data),
                implausible_confirmed=bool(form.confirm_implausible.data), new_meter=_meter(form),
                installation_values=_indexes(form, "index_", forms.ALL_REGISTERS), today=tenant_today())
            loose = _show(form, refused, unit, beside_form_errors=True)
            warned = "implausible" in refused.errors.values()
    warned = warned or bool(form.confirm_implausible.data)
    return render_template("backoffice/customers/exchange.html", account=account, point=point, meter=old, form=form,
                           removal_fields=[getattr(form, f"removal_{c}") for c in old_codes],
                           previous=readings.previous_actual([r.id for r in old.registers], tenant_today()),
                           unit=unit, warned=warned, loose=loose), status


# --- ending a contract --------------------------------------------------------------------------------------------

END_REFUSALS = {
    "date_missing": _l("Enter the end date."),
    "date_before_start": _l("The end date must be after the contract's start."),
    "date_too_far": _l("The end date can be at most 60 days ahead."),
    "date_too_old": _l("The end date can be at most 30 days in the past."),
    "date_billed": _l("A bill already covers this date: choose a date after the billed period."),
    "already_ending": _l("This contract already has an end date."),
    "no_meter": _l("No meter is installed at this point of delivery: a final reading cannot be taken."),
    "reading_missing": _l("Enter the final index."),
    "reading_invalid": str(forms.NOT_A_NUMBER),
}


@bp.route("/customers/<account_number>/contracts/<contract_number>/end", methods=["GET", "POST"])
@staff_permission(*EDIT)
def customer_contract_end(account_number: str, contract_number: str):
    account = _account_or_404(account_number)
    contract = next((c for c in account.contracts if c.contract_number == contract_number), None)
    if contract is None:
        abort(404)
    today = tenant_today()
    to_read = registers_to_read(contract=contract, on=today)
    codes = [item.register.code for item in to_read]
    unit = _unit(to_read[0].register.meter.unit) if to_read else ""
    form_class = forms.add_index_fields(forms.EndContractForm, codes, "final_",
                                        lambda name: _l("Final index, %(register)s", register=name))
    form = form_class()
    if not form.is_submitted():
        form.end_on.data = today
    status = 200
    if form.is_submitted():
        status = 422
        if form.validate() and contract.end_date is None:
            try:
                entry.end_contract(contract=contract, end_on=form.end_on.data,
                                   values=_indexes(form, "final_", codes), staff_user_id=_staff_id(), today=today,
                                   now=utcnow())
                db.session.commit()
            except MoveOutRefused as refused:
                db.session.rollback()
                _show_end_refusal(form, refused, unit)
            else:
                flash(_("Contract %(contract)s ends on %(date)s.", contract=contract_number,
                        date=format_day(form.end_on.data)), "success")
                return _to_file(account)
        elif contract.end_date is not None:
            form.end_on.errors = [*form.end_on.errors, str(END_REFUSALS["already_ending"])]
        else:
            _invalid(form)
    return render_template("backoffice/customers/end_contract.html", account=account, contract=contract,
                           form=form, final_fields=[getattr(form, f"final_{c}") for c in codes], to_read=to_read,
                           unit=unit), status


def _show_end_refusal(form, refused: MoveOutRefused, unit: str) -> None:
    if refused.code != "readings":
        form.end_on.errors = [*form.end_on.errors, str(END_REFUSALS.get(refused.code, END_REFUSALS["date_missing"]))]
        return
    for code, (problem, details) in refused.registers.items():
        field = getattr(form, f"final_{code}")
        if problem == "reading_lower":
            message = _("The final index is lower than the previous one (%(previous)s on %(date)s).",
                        previous=quantity(details["previous"], unit), date=format_day(details["previous_on"]))
        else:
            message = str(END_REFUSALS.get(problem, END_REFUSALS["reading_missing"]))
        field.errors = [*field.errors, message]

