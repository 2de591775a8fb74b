"""Offers and tariffs in the administration area: offers per activity, tariff versions from a date with their
prices, components and the names customers read, and the preview of a typical bill computed by the engine.

Offers are found by their code, versions by the date they start (public references, never row ids); rules live
in domain/offers/tariffs.py, which refuses what must not change (a version an issued bill used).
"""
from __future__ import annotations

import logging
from datetime import date, timedelta
from decimal import Decimal

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, SelectField, StringField
from wtforms.validators import InputRequired, Length, Optional

from app.auth import staff_permission
from backoffice.admin_views import bp
from domain.billing import line_names
from domain.billing.document_data import activity_label
from domain.db import db
from domain.i18n import format_rate, translations
from app.i18n import format_locale
from domain.offers import tariffs
from domain.offers.models import COMPONENTS

log = logging.getLogger("backoffice.tariffs")

LOCALE_LABELS = {"en": _l("Name in English"), "fr": _l("Name in French"), "de": _l("Name in German"),
                 "es": _l("Name in Spanish")}


def refusal(exc: tariffs.TariffRefused) -> str:
    """The refusal in the administrator's language."""
    params = exc.params
    messages = {
        "locked": _("This version priced a bill already issued: it can no longer change. Create a new version "
                    "from the date the new prices apply."),
        "amount": _("Enter an amount of 0 or more, below 1,000, for example 0.2516."),
        "places": _("Enter at most %(places)s decimals.", places=params.get("places", 6)),
        "percent": _("Enter a rate in per cent from 0 to 100, for example 20 or 5.5."),
        "name_length": _("A name has at most 120 characters."),
        "code_format": _("Enter a code of 2 to 40 capital letters, digits, hyphens or underscores."),
        "code_taken": _("Another offer already has this code."),
        "activity": _("Choose an activity."),
        "kind": _("Choose a kind."),
        "name": _("Enter a name of at most 120 characters."),
        "not_after_latest": _("A new version starts after the latest one, which starts on %(day)s.",
                              day=_day(params.get("latest"))),
        "gap": _("The latest version ends on %(day)s: a new version starts on that day at the latest.",
                 day=_day(params.get("latest_end"))),
        "billed": _("Issued bills already cover the days up to %(day)s: a new version starts on that day or later.",
                    day=_day(params.get("billed_until"))),
        "component": _("Choose a component."),
        "register": _("Enter a register code of capital letters and digits, for example PEAK."),
        "tier_order": _("A tier ends above the quantity it starts from."),
        "key_format": _("Enter a key of 2 to 40 lower-case letters, digits or underscores, starting with a letter."),
        "key_taken": _("Another line of this version already has this key."),
        "per": _("Choose per day, per month or per year."),
        "base": _("Enter the keys of the lines of this version the levy is a percentage of."),
        "inconsistent": _("The billing engine could not price the version so: %(detail)s", detail=str(exc)),
        "missing": _("This line is no longer in the version."),
        "in_base": _("A levy is computed on this line: remove the levy first."),
    }
    return messages.get(exc.code, str(exc))


def _day(value) -> str:
    from app.i18n import format_day
    return format_day(value) if value else ""


class NamesMixin:
    name_en = StringField(LOCALE_LABELS["en"], validators=[Optional(), Length(max=120)])
    name_fr = StringField(LOCALE_LABELS["fr"], validators=[Optional(), Length(max=120)])
    name_de = StringField(LOCALE_LABELS["de"], validators=[Optional(), Length(max=120)])
    name_es = StringField(LOCALE_LABELS["es"], validators=[Optional(), Length(max=120)])

    def names(self) -> dict:
        return {locale: getattr(self, f"name_{locale}").data for locale in tariffs.LOCALES}

    def name_fields(self):
        return [getattr(self, f"name_{locale}") for locale in tariffs.LOCALES]


def _activity_choices():
    return [(activity, activity_label(activity, _)) for activity in g.tenant.activities
            if activity in tariffs.ACTIVITIES] or [(a, activity_label(a, _)) for a in tariffs.ACTIVITIES]


def _kind_choices():
    return [("market", _("Market offer")), ("regulated", _("Regulated tariff"))]


class OfferForm(FlaskForm):
    code = StringField(_l("Code"), validators=[InputRequired(message=_l("Enter a code.")), Length(max=40)])
    name = StringField(_l("Name customers see"), validators=[InputRequired(message=_l("Enter a name.")),
                                                             Length(max=120)])
    activity = SelectField(_l("Activity"))
    kind = SelectField(_l("Kind"))


class OfferEditForm(FlaskForm):
    name = StringField(_l("Name customers see"), validators=[InputRequired(message=_l("Enter a name.")),
                                                             Length(max=120)])
    kind = SelectField(_l("Kind"))


class NewVersionForm(FlaskForm):
    effective_from = DateField(_l("New prices from"), validators=[InputRequired(
        message=_l("Enter the first day the new prices apply."))])


class VersionForm(NamesMixin, FlaskForm):
    prices_include_tax = BooleanField(_l("Prices are entered including tax"))
    standing_charge_per_day = StringField(_l("Standing charge per day"), validators=[InputRequired(
        message=_l("Enter an amount of 0 or more, below 1,000, for example 0.2516."))])
    standing_charge_tax = StringField(_l("Its tax rate (%)"), validators=[InputRequired(
        message=_l("Enter a rate in per cent from 0 to 100, for example 20 or 5.5."))])


class PriceForm(NamesMixin, FlaskForm):
    component = SelectField(_l("Component"))
    price = StringField(_l("Unit price"), validators=[InputRequired(
        message=_l("Enter an amount of 0 or more, below 1,000, for example 0.2516."))])
    tax = StringField(_l("Tax rate (%)"), validators=[InputRequired(
        message=_l("Enter a rate in per cent from 0 to 100, for example 20 or 5.5."))])
    register_code = StringField(_l("Register (only for a price per register)"), validators=[Optional()])
    tier_from = StringField(_l("Tier from (a year)"), validators=[Optional()])
    tier_to = StringField(_l("Tier up to (a year)"), validators=[Optional()])
    description = StringField(_l("Key (optional)"), validators=[Optional()])


class ComponentForm(NamesMixin, FlaskForm):
    kind = SelectField(_l("What it is"))
    code = StringField(_l("Key"), validators=[InputRequired(message=_l("Enter a key."))])
    amount = StringField(_l("Amount"), validators=[InputRequired(
        message=_l("Enter an amount of 0 or more, below 1,000, for example 0.2516."))])
    per = SelectField(_l("Per (standing charges)"), validators=[Optional()])
    base = StringField(_l("Computed on (levies: line keys; included taxes: component)"), validators=[Optional()])
    tax = StringField(_l("Tax rate (%)"), validators=[Optional()])


class PreviewForm(FlaskForm):
    class Meta:
        csrf = False

    consumption = StringField(_l("Annual consumption"))
    power = StringField(_l("Subscribed power"))


def component_label(component: str) -> str:
    return line_names.component_name(component, _)


def _component_choices():
    return [(component, component_label(component)) for component in COMPONENTS]


def _choices(form) -> None:
    if hasattr(form, "activity"):
        form.activity.choices = _activity_choices()
    if isinstance(form, (OfferForm, OfferEditForm)):
        form.kind.choices = _kind_choices()
    if isinstance(form, PriceForm):
        form.component.choices = _component_choices()
    if isinstance(form, ComponentForm):
        form.kind.choices = [("standing_charge", _("Standing charge")),
                             ("percent_levy", _("Levy as a percentage of other lines")),
                             ("included_part", _("Tax or levy included in a price (shown as 'of which')"))]
        form.per.choices = [("", "—"), ("day", _("per day")), ("month", _("per month")), ("year", _("per year"))]


def _field_error(form, exc: tariffs.TariffRefused, fallback: str) -> None:
    """Show the refusal on the field at fault (or on `fallback` when the domain names no field of this form)."""
    target = getattr(form, exc.field, None) if exc.field else None
    if target is None:
        target = getattr(form, fallback)
    target.errors = [*target.errors, refusal(exc)] if isinstance(target.errors, list) else [refusal(exc)]


def _offer_or_404(code: str):
    offer = tariffs.find_offer(code)
    if offer is None:
        abort(404)
    return offer


def _version_or_404(offer, day: str):
    try:
        effective_from = date.fromisoformat(day)
    except ValueError:
        abort(404)
    version = tariffs.find_version(offer, effective_from)
    if version is None:
        abort(404)
    return version


# --- offers --------------------------------------------------------------------------------------------------------

@bp.route("/offers", methods=["GET", "POST"])
@staff_permission("admin.configure")
def offers():
    form = OfferForm()
    _choices(form)
    if form.validate_on_submit():
        try:
            offer = tariffs.create_offer(code=form.code.data, name=form.name.data, activity=form.activity.data,
                                         kind=form.kind.data)
        except tariffs.TariffRefused as exc:
            db.session.rollback()
            _field_error(form, exc, "code")
        else:
            db.session.commit()
            log.info("offer created tenant=%s offer=%s staff=%s", g.tenant.id, offer.code, current_user.user.id)
            flash(_("The offer %(name)s is created: add its first tariff version.", name=offer.name), "success")
            return redirect(url_for("admin.offer", code=offer.code))
    return render_template("backoffice/admin/offers.html", form=form, by_activity=tariffs.offers_by_activity(),
                           activity_label=lambda a: activity_label(a, _)), 422 if form.errors else 200


def _last_day(version):
    """The last day a version is in force (its period's end is exclusive), None when open-ended."""
    return version.effective_to - timedelta(days=1) if version.effective_to else None


def _offer_page(offer, form=None, version_form=None, status=200):
    form = form or OfferEditForm(obj=offer, formdata=None)
    _choices(form)
    version_form = version_form or NewVersionForm(formdata=None)
    versions = sorted(offer.versions, key=lambda v: v.effective_from, reverse=True)
    return render_template("backoffice/admin/offer.html", offer=offer, form=form, version_form=version_form,
                           versions=[(version, tariffs.is_locked(version), _last_day(version)) for version in versions],
                           activity=activity_label(offer.activity, _)), status


@bp.route("/offers/<code>", methods=["GET", "POST"])
@staff_permission("admin.configure")
def offer(code: str):
    found = _offer_or_404(code)
    if request.method == "GET":
        return _offer_page(found)
    form = OfferEditForm()
    _choices(form)
    if form.validate_on_submit():
        try:
            tariffs.update_offer(offer=found, name=form.name.data, kind=form.kind.data)
        except tariffs.TariffRefused as exc:
            db.session.rollback()
            _field_error(form, exc, "name")
        else:
            db.session.commit()
            flash(_("The offer is saved."), "success")
            return redirect(url_for("admin.offer", code=found.code))
    return _offer_page(found, form=form, status=422)


@bp.post("/offers/<code>/active")
@staff_permission("admin.configure")
def offer_active(code: str):
    found = _offer_or_404(code)
    form = FlaskForm()
    if not form.validate_on_submit():
        abort(400)
    tariffs.set_offer_active(offer=found, active=request.form.get("active") == "1")
    db.session.commit()
    flash(_("The offer is offered to new contracts.") if found.is_active
          else _("The offer is no longer offered to new contracts; contracts on it are still billed with it."),
          "success")
    return redirect(url_for("admin.offer", code=found.code))


@bp.post("/offers/<code>/versions")
@staff_permission("admin.configure")
def new_version(code: str):
    found = _offer_or_404(code)
    form = NewVersionForm()
    if form.validate_on_submit():
        try:
            version = tariffs.create_version(offer=found, effective_from=form.effective_from.data)
        except tariffs.TariffRefused as exc:
            db.session.rollback()
            _field_error(form, exc, "effective_from")
        else:
            db.session.commit()
            log.info("tariff version created tenant=%s offer=%s from=%s staff=%s", g.tenant.id, found.code,
                     version.effective_from, current_user.user.id)
            flash(_("Prices from %(day)s: set this version's prices.", day=_day(version.effective_from)), "success")
            return redirect(url_for("admin.tariff_version", code=found.code, day=version.effective_from.isoformat()))
    return _offer_page(found, version_form=form, status=422)


# --- a version -----------------------------------------------------------------------------------------------------

def _names_form(form, names: dict) -> None:
    for locale in tariffs.LOCALES:
        getattr(form, f"name_{locale}").data = names.get(locale, "")


def _version_page(offer, version, *, settings=None, price_form=None, component_form=None, status=200,
                  message=None):
    locked = tariffs.is_locked(version)
    if settings is None:
        settings = VersionForm(formdata=None)
        settings.prices_include_tax.data = version.prices_include_tax
        settings.standing_charge_per_day.data = f"{version.standing_charge_per_day.normalize():f}"
        settings.standing_charge_tax.data = f"{(version.standing_charge_tax_rate * 100).normalize():f}"
        _names_form(settings, version.standing_charge_names or {})
    price_form = price_form or PriceForm(formdata=None)
    component_form = component_form or ComponentForm(formdata=None)
    for form in (settings, price_form, component_form):
        _choices(form)
    return render_template("backoffice/admin/tariff_version.html", offer=offer, version=version, locked=locked,
                           last_day=_last_day(version),
                           lines=tariffs.version_lines(version), settings=settings, price_form=price_form,
                           component_form=component_form, message=message, describe=_describe,
                           price_text=lambda line: price_text(offer, line), rate_text=rate_text,
                           locales=tariffs.LOCALES), status


def rate_text(ratio) -> str:
    """A tax or levy rate (a ratio) as the page's locale writes it, with its decimals: 5.5 %, 21.93 %."""
    return format_rate(ratio, format_locale())


def price_text(offer, line) -> str:
    """A line's price with its currency and unit, exactly as stored (the wording bills use)."""
    row = line.row
    unit = "m3" if offer.activity == "water" else "kWh"
    if line.kind == "standing_charge" and line.key == "standing_charge":
        amount, unit = row.standing_charge_per_day, "day"
    elif line.kind == "price":
        amount = row.price
        if row.component == "subscribed_power":
            unit = "kW·year" if offer.activity == "heating" else "kVA·year"
    elif line.kind == "standing_charge":
        amount, unit = row.amount, row.per
    elif line.kind == "percent_levy":
        amount, unit = row.amount, line_names.PERCENT_UNIT
    else:
        amount = row.amount
    return line_names.unit_price_text(amount.normalize(), currency=g.tenant.currency, unit=unit,
                                      locale=format_locale())


def _describe(line) -> str:
    """What a line of the version is, for the administrator."""
    row = line.row
    if line.kind == "standing_charge" and line.key == "standing_charge":
        return _("Standing charge per day")
    if line.kind == "price":
        text = component_label(row.component)
        if row.register_code:
            text += " · " + _("register %(code)s", code=row.register_code)
        if row.tier_from is not None or row.tier_to is not None:
            text += " · " + (_("from %(low)s to %(high)s a year", low=f"{row.tier_from.normalize():f}",
                                 high=f"{row.tier_to.normalize():f}") if row.tier_to is not None
                             else _("above %(low)s a year", low=f"{(row.tier_from or 0):f}"))
        return text
    if line.kind == "standing_charge":
        return {"day": _("Standing charge per day"), "month": _("Standing charge per month"),
                "year": _("Standing charge per year")}[row.per]
    if line.kind == "percent_levy":
        return _("Levy: a percentage of %(keys)s", keys=", ".join(row.base_keys))
    return _("Included in the price of %(component)s (of which)", component=component_label(row.base))


@bp.route("/offers/<code>/versions/<day>", methods=["GET", "POST"])
@staff_permission("admin.configure")
def tariff_version(code: str, day: str):
    found = _offer_or_404(code)
    version = _version_or_404(found, day)
    if request.method == "GET":
        return _version_page(found, version)
    form = VersionForm()
    if form.validate_on_submit():
        try:
            tariffs.update_version(version=version, prices_include_tax=form.prices_include_tax.data,
                                   standing_charge_per_day=form.standing_charge_per_day.data,
                                   standing_charge_tax_percent=form.standing_charge_tax.data,
                                   standing_charge_names=form.names())
        except tariffs.TariffRefused as exc:
            db.session.rollback()
            return _refused_on_version(found, version, exc, settings=form, fallback="standing_charge_per_day")
        db.session.commit()
        flash(_("The version is saved."), "success")
        return redirect(url_for("admin.tariff_version", code=found.code, day=day))
    return _version_page(found, version, settings=form, status=422)


def _refused_on_version(offer, version, exc, *, fallback, **forms):
    form = next(iter(forms.values()))
    _choices(form)
    if isinstance(exc, tariffs.VersionLocked) or exc.code in ("inconsistent", "missing", "in_base"):
        return _version_page(offer, version, status=422, message=refusal(exc), **forms)
    _field_error(form, exc, fallback)
    return _version_page(offer, version, status=422, **forms)


@bp.post("/offers/<code>/versions/<day>/prices")
@staff_permission("admin.configure")
def add_price(code: str, day: str):
    found = _offer_or_404(code)
    version = _version_or_404(found, day)
    form = PriceForm()
    _choices(form)
    if form.validate_on_submit():
        try:
            tariffs.add_unit_price(version=version, component=form.component.data, price=form.price.data,
                                   tax_percent=form.tax.data, register_code=form.register_code.data,
                                   tier_from=form.tier_from.data, tier_to=form.tier_to.data,
                                   description=form.description.data, names=form.names())
        except tariffs.TariffRefused as exc:
            db.session.rollback()
            return _refused_on_version(found, version, exc, price_form=form, fallback="price")
        db.session.commit()
        flash(_("The price is added."), "success")
        return redirect(url_for("admin.tariff_version", code=found.code, day=day))
    return _version_page(found, version, price_form=form, status=422)


@bp.post("/offers/<code>/versions/<day>/components")
@staff_permission("admin.configure")
def add_component(code: str, day: str):
    found = _offer_or_404(code)
    version = _version_or_404(found, day)
    form = ComponentForm()
    _choices(form)
    if form.validate_on_submit():
        try:
            tariffs.add_component(version=version, kind=form.kind.data, code=form.code.data,
                                  amount=form.amount.data, per=form.per.data or None, base=form.base.data,
                                  tax_percent=form.tax.data, names=form.names())
        except tariffs.TariffRefused as exc:
            db.session.rollback()
            return _refused_on_version(found, version, exc, component_form=form, fallback="amount")
        db.session.commit()
        flash(_("The component is added."), "success")
        return redirect(url_for("admin.tariff_version", code=found.code, day=day))
    return _version_page(found, version, component_form=form, status=422)


@bp.post("/offers/<code>/versions/<day>/lines/<key>/remove")
@staff_permission("admin.configure")
def remove_line(code: str, day: str, key: str):
    found = _offer_or_404(code)
    version = _version_or_404(found, day)
    if not FlaskForm().validate_on_submit():
        abort(400)
    try:
        tariffs.remove_line(version=version, key=key)
    except tariffs.TariffRefused as exc:
        db.session.rollback()
        return _version_page(found, version, status=422, message=refusal(exc))
    db.session.commit()
    flash(_("The line is removed."), "success")
    return redirect(url_for("admin.tariff_version", code=found.code, day=day))


@bp.get("/offers/<code>/versions/<day>/preview")
@staff_permission("admin.configure")
def preview_version(code: str, day: str):
    found = _offer_or_404(code)
    version = _version_or_404(found, day)
    form = PreviewForm(request.args)
    activity = found.activity
    consumption = tariffs.TYPICAL_ANNUAL_CONSUMPTION[activity]
    power = tariffs.TYPICAL_POWER[activity]
    errors = {}
    if request.args.get("consumption"):
        try:
            consumption = _big(request.args["consumption"])
        except ValueError:
            errors["consumption"] = _("Enter a consumption of 0 to 1,000,000, with at most three decimals.")
    if request.args.get("power"):
        try:
            power = tariffs.parse_amount(request.args["power"], "power", places=3)
        except tariffs.TariffRefused:
            errors["power"] = _("Enter a subscribed power of 0 to 999, with at most three decimals.")
            power = tariffs.TYPICAL_POWER[activity]
    form.consumption.data = f"{consumption.normalize():f}"
    form.power.data = f"{power.normalize():f}"
    for name, message in errors.items():
        getattr(form, name).errors = [message]
    try:
        result = tariffs.preview_bill(version=version, annual_consumption=consumption, subscribed_power=power)
    except tariffs.TariffRefused as exc:
        return _version_page(found, version, status=422, message=refusal(exc))
    locale = request.args.get("locale") if request.args.get("locale") in tariffs.LOCALES else \
        (g.tenant.default_locale or "en")[:2]
    names = tariffs.names_by_key(version, locale)
    catalogue = translations(locale)
    lines = []
    for index, line in enumerate(result.lines):
        included = [item for item in result.included if item.line_index == index]
        lines.append({
            "name": line_names.line_name(kind="periodic", component=line.component, description=line.description,
                                         register_code=line.register_code, unit=line.unit, locale=locale,
                                         _=catalogue.gettext, names=names),
            "line": line,
            "price": line_names.unit_price_text(line.unit_price, currency=g.tenant.currency, unit=line.unit,
                                                locale=locale),
            "included": [(names.get(item.code) or catalogue.gettext("taxes and levies"), item) for item in included],
        })
    return render_template("backoffice/admin/tariff_preview.html", offer=found, version=version, form=form,
                           result=result, lines=lines, locale=locale, locales=tariffs.LOCALES, rate_text=rate_text,
                           unit=tariffs.PREVIEW_UNIT[activity]), 422 if errors else 200


def _big(text: str) -> Decimal:
    """A consumption (up to a million, three decimals) as typed."""
    from decimal import InvalidOperation
    try:
        value = Decimal(str(text).strip().replace(",", ".").replace("\u00a0", "").replace(" ", ""))
    except InvalidOperation as exc:
        raise ValueError(text) from exc
    if not value.is_finite() or value < 0 or value > Decimal("1000000") or value != value.quantize(Decimal("0.001")):
        raise ValueError(text)
    return value
