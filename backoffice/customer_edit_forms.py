"""Forms of staff data entry (customer, supply, reading on behalf, meter exchange, end of contract): they parse and
check the shape of what is typed; the domain (`domain.entry`, `domain.readings`) decides the rest."""
from __future__ import annotations

from decimal import Decimal

from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, DecimalField, IntegerField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, NumberRange, Optional, ValidationError

from app.i18n import ACTIVITY_NAMES, LOCALE_NAMES, LOCALES
from app.i18n import REGISTER_NAMES
from domain.i18n import country_name
from domain.parties.services import COUNTRIES  # noqa: F401  (the views offer these)
from domain.readings.validation import ReadingProblem, parse_index
from domain.sites.services import REGISTER_LAYOUTS

ALL_REGISTERS = tuple(dict.fromkeys(code for codes in REGISTER_LAYOUTS.values() for code in codes))
NOT_A_NUMBER = _l("Enter the reading as a number, for example 12345 or 12345.6 (at most three decimals).")
TOO_LONG = _l("Use at most %(max)d characters.")


def country_choices():
    locale = str(get_locale())
    return sorted((SelectChoice(c, country_name(c, locale)) for c in COUNTRIES), key=lambda choice: choice.label)


def parsed_index(form, field):
    """An index as typed ("12 345,6"): kept in `form.indexes[field.name]` as a Decimal (None when empty)."""
    text = (field.data or "").strip()
    form.indexes = getattr(form, "indexes", {})
    if not text:
        form.indexes[field.name] = None
        return
    try:
        form.indexes[field.name] = parse_index(text)
    except ReadingProblem as exc:
        form.indexes[field.name] = None
        raise ValidationError(str(NOT_A_NUMBER)) from exc


def _text(label, maximum, required=None):
    checks = [InputRequired(required)] if required else [Optional()]
    return StringField(label, validators=[*checks, Length(max=maximum, message=TOO_LONG)])


class HolderFields(FlaskForm):
    kind = SelectField(_l("Customer type"), choices=[SelectChoice("person", _l("Person")),
                                                     SelectChoice("organisation", _l("Organisation"))])
    title = _text(_l("Title (optional)"), 16)
    first_name = _text(_l("First name"), 100)
    last_name = _text(_l("Last name"), 100)
    organisation_name = _text(_l("Organisation name"), 200)
    registration_number = _text(_l("Registration number (optional)"), 40)
    birth_date = DateField(_l("Date of birth (optional)"), validators=[Optional()])
    email = _text(_l("E-mail address (optional)"), 254)
    phone = _text(_l("Phone number (optional)"), 30)
    address_line1 = _text(_l("Address"), 200, _l("Enter the street and number."))
    address_line2 = _text(_l("Address line 2 (optional)"), 200)
    postcode = _text(_l("Postcode"), 16, _l("Enter the postcode."))
    city = _text(_l("Town or city"), 100, _l("Enter the town or city."))
    country = SelectField(_l("Country"), validators=[InputRequired(_l("Choose the country."))])

    def prepare(self):
        self.country.choices = country_choices()
        return self


class MeterFields(FlaskForm):
    serial_number = _text(_l("Meter serial number"), 40, _l("Enter the meter's serial number."))
    digits = IntegerField(_l("Digits before the decimal point"), default=6,
                          validators=[InputRequired(_l("Enter how many digits the meter shows.")),
                                      NumberRange(min=3, max=12, message=_l("A meter shows between 3 and 12 digits."))])
    multiplier = DecimalField(_l("Multiplier"), default=Decimal("1"), places=None,
                              validators=[InputRequired(_l("Enter the meter's multiplier (1 for most meters)."))])
    layout = SelectField(_l("Registers"), choices=[SelectChoice("single", _l("One register (total)")),
                                                   SelectChoice("dual", _l("Two registers (peak and off-peak hours)"))])
    is_smart = BooleanField(_l("Smart meter (sends its readings)"))
    index_TOTAL = StringField(_l("Index, total"), validators=[parsed_index], render_kw={"inputmode": "decimal"})
    index_PEAK = StringField(_l("Index, peak hours"), validators=[parsed_index], render_kw={"inputmode": "decimal"})
    index_OFFPEAK = StringField(_l("Index, off-peak hours"), validators=[parsed_index],
                                render_kw={"inputmode": "decimal"})


class SupplyFields(MeterFields):
    activity = SelectField(_l("Energy"))
    identifier = _text(_l("Point of delivery identifier"), 40, _l("Enter the point of delivery identifier."))
    installed_on = DateField(_l("Meter installed on"), validators=[InputRequired(_l("Enter the installation date."))])
    offer = SelectField(_l("Offer"), validators=[InputRequired(_l("Choose an offer."))])
    start_date = DateField(_l("Contract start date"), validators=[InputRequired(_l("Enter the start date."))])
    billing_frequency = SelectField(_l("Billing frequency"), validate_choice=False)  # the domain says why
    estimated_annual_consumption = DecimalField(_l("Estimated annual consumption (optional)"), places=None,
                                                validators=[Optional()])

    def prepare_supply(self, *, activities, offers, frequencies):
        self.activity.choices = [SelectChoice(a, ACTIVITY_NAMES.get(a, a)) for a in activities]
        self.offer.choices = [SelectChoice("", _l("Choose an offer"))] + [
            SelectChoice(o.code, f"{ACTIVITY_NAMES.get(o.activity, o.activity)} · {o.name}") for o in offers]
        self.billing_frequency.choices = [SelectChoice(code, name) for code, name in frequencies.items()]
        return self


class PremiseFields(FlaskForm):
    premise_address_line1 = _text(_l("Address"), 200)
    premise_address_line2 = _text(_l("Address line 2 (optional)"), 200)
    premise_postcode = _text(_l("Postcode"), 16)
    premise_city = _text(_l("Town or city"), 100)
    premise_country = SelectField(_l("Country"))


class NewCustomerForm(HolderFields, SupplyFields, PremiseFields):
    same_address = BooleanField(_l("Supplied at the postal address"), default=True)
    locale = SelectField(_l("Language of bills and e-mails"),
                         choices=[SelectChoice(code, LOCALE_NAMES[code]) for code in LOCALES])
    paperless = BooleanField(_l("Paperless billing"))


class SupplyForm(SupplyFields, PremiseFields):
    premise = SelectField(_l("Premise"))


class ContactForm(HolderFields):
    pass


class StaffReadingForm(FlaskForm):
    channel = SelectField(_l("How the index was given"),
                          choices=[SelectChoice("phone", _l("By the customer, on the phone")),
                                   SelectChoice("meter_reader", _l("Read by a meter reader"))])
    read_on = DateField(_l("Date of the reading"), validators=[InputRequired(_l("Enter the date of the reading."))])
    rollover = BooleanField(_l("The meter went back to zero"))
    confirm_implausible = BooleanField(_l("I checked the index: it is right although far from what was expected"))


class ExchangeForm(MeterFields):
    exchange_on = DateField(_l("Date of the exchange"),
                            validators=[InputRequired(_l("Enter the date of the exchange."))])
    rollover = BooleanField(_l("The old meter went back to zero"))
    confirm_implausible = BooleanField(_l("I checked the index: it is right although far from what was expected"))


class EndContractForm(FlaskForm):
    end_on = DateField(_l("End date (the first day no longer supplied)"),
                       validators=[InputRequired(_l("Enter the end date."))])


def add_index_fields(form_class, codes, prefix: str, label):
    """A form class with one index field per register (`<prefix><code>`), labelled `label(register name)`."""
    attrs = {f"{prefix}{code}": StringField(label(REGISTER_NAMES.get(code, code)), validators=[parsed_index],
                                            render_kw={"inputmode": "decimal", "autocomplete": "off"})
             for code in codes}
    return type(form_class.__name__, (form_class,), attrs)
