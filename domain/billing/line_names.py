"""How a bill line reads to its customer: its name (tier bounds included), unit and unit price; pure, no I/O.

The engine and the ledger keep short keys ("water_tier1", "energy_peak", "instalment"); customers never see
them. Every line kind the engine and the down-payment plans produce has a name here, in the reader's language:
standing charge, consumption per component, per register, per tier (with the tier's annual bounds and the
bounds prorated to the line's days, as the engine applies them), subscribed power, levies, regularisation
credits, the back-billing limit, instalments and, on a true-up bill, the instalments deducted. A key this module
does not know reads as its component's name, never as the key.

Unit prices are printed exactly as stored (never rounded), so quantity x printed price rounded to the cent is the
printed amount; in the unit customers know: pence in Great Britain (GBP: 24.5p/kWh, 45p/day, but £/m³ for
water), the currency elsewhere (0.2516 €/kWh, 2.25 €/m³, 0.085 €/day).
"""
from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from babel.numbers import format_currency, format_decimal, format_percent

from domain.i18n import normalise_locale, translations, unit_symbol

DAYS_PER_YEAR = Decimal(365)
MILLI = Decimal("0.001")
# On a true-up bill, the instalments already billed are deducted at their gross amount; they are no taxable line.
DEDUCTION_COMPONENT = "instalment"
# Units priced in pence in Great Britain (energy and days); water stays in pounds per m³, as GB water bills print.
_PENCE_UNITS = ("kwh", "day", "days")
PERCENT_UNIT = "pct"  # a levy computed as a percentage: quantity = the amount it is on, unit price = the rate
_TIER = re.compile(r"^(?P<base>[a-z0-9_]+?)_tier(?P<number>\d+)$")
_KEY = re.compile(r"^[a-z0-9]+(_[a-z0-9]+)*$")


@dataclass(frozen=True)
class TierBounds:
    """The annual bounds of a tier block (`tier_to` None: open-ended) in the unit of the line."""

    tier_from: Decimal
    tier_to: Decimal | None


def is_deduction(*, kind: str, component: str) -> bool:
    """A line of a true-up bill deducting an instalment already billed (gross, outside VAT)."""
    return kind == "true_up" and component == DEDUCTION_COMPONENT


def component_name(component: str, _: Callable[[str], str]) -> str:
    names = {
        "energy": _("Energy consumption"),
        "water": _("Water supply"),
        "sewerage": _("Sewerage"),
        "levy": _("Levy"),
        "network": _("Network access"),
        "subscribed_power": _("Subscribed power"),
        "standing_charge": _("Standing charge"),
        "instalment": _("Instalment"),
        "back_billing_limit": _("Back-billing limit"),
    }
    return names.get((component or "").strip(), _("Other charge"))


def register_name(code: str | None, _: Callable[[str], str]) -> str:
    names = {"PEAK": _("Peak hours"), "OFFPEAK": _("Off-peak hours"), "TOTAL": ""}
    key = (code or "").upper()
    return names.get(key, code or "")


def tier_number(description: str) -> int | None:
    """2 for "water_tier2"; None for a line that is no tier block."""
    found = _TIER.match((description or "").strip())
    return int(found.group("number")) if found else None


def _quantity(value: Decimal, unit: str, locale: str) -> str:
    symbol = unit_symbol(unit)
    text = format_decimal(value, format="#,##0.###", locale=normalise_locale(locale))
    return f"{text}\u00a0{symbol}" if symbol else text


def prorated(bound: Decimal, days: int) -> Decimal:
    """An annual tier bound over `days`, as the engine applies it (bound x days / 365, three places half-up)."""
    return (bound * days / DAYS_PER_YEAR).quantize(MILLI, ROUND_HALF_UP)


def _with_register(component: str, register_code: str | None, _) -> str:
    """The component's name, for one register when the line prices one."""
    code = (register_code or "").upper()
    if component == "energy" and code == "PEAK":
        return _("Energy consumption, peak hours")
    if component == "energy" and code == "OFFPEAK":
        return _("Energy consumption, off-peak hours")
    name = component_name(component, _)
    register = register_name(register_code, _)
    return _("%(name)s, %(register)s") % {"name": name, "register": register} if register else name


def _tier_name(name: str, number: int, tier: TierBounds | None, unit: str, locale: str, _) -> str:
    if tier is None:
        return _("%(name)s, block %(number)s") % {"name": name, "number": number}
    low, high = tier.tier_from, tier.tier_to
    if high is None:
        return _("%(name)s, above %(quantity)s a year") % {"name": name, "quantity": _quantity(low, unit, locale)}
    if low == 0:
        return _("%(name)s, first %(quantity)s a year") % {"name": name, "quantity": _quantity(high, unit, locale)}
    return _("%(name)s, from %(low)s to %(high)s a year") % {
        "name": name, "low": _quantity(low, unit, locale), "high": _quantity(high, unit, locale)}


def tier_detail(tier: TierBounds | None, *, days: int, unit: str, locale: str, _) -> str:
    """The tier's bounds over the line's days, the ones its quantity was measured against."""
    if tier is None or days <= 0:
        return ""
    low = prorated(tier.tier_from, days)
    if tier.tier_to is None:
        return _("Beyond %(quantity)s over these %(days)s days") % {
            "quantity": _quantity(low, unit, locale), "days": days}
    high = prorated(tier.tier_to, days)
    if low == 0:
        return _("Up to %(quantity)s over these %(days)s days") % {
            "quantity": _quantity(high, unit, locale), "days": days}
    return _("From %(low)s to %(high)s over these %(days)s days") % {
        "low": _quantity(low, unit, locale), "high": _quantity(high, unit, locale), "days": days}


def line_name(*, kind: str, component: str, description: str, register_code: str | None, unit: str,
              locale: str, _: Callable[[str], str], tier: TierBounds | None = None,
              names: Mapping[str, str] | None = None) -> str:
    """The line's name in the reader's language; never an internal key. `names`: the names the utility gave its
    tariff's lines in the reader's language, by line key (a tier's name still tells its bounds)."""
    key = (description or "").strip()
    if is_deduction(kind=kind, component=component):
        return _("Instalment already billed")
    if names and names.get(key):
        number = tier_number(key)
        if number is not None and tier is not None:
            return _tier_name(names[key], number, tier, unit, locale, _)
        return names[key]
    if key == "standing_charge" or component == "standing_charge":
        return _("Standing charge")
    if key == "back_billing_limit" or component == "back_billing_limit":
        return _("Consumption older than the back-billing limit, not charged")
    if component == "instalment" or key in ("instalment", "instalments_billed"):
        return _("Instalment")
    base = _with_register(component, register_code, _)
    if key == "regularisation_credit":
        return _("Estimate billed earlier, deducted: %(name)s") % {"name": base}
    number = tier_number(key)
    if number is not None:
        return _tier_name(base, number, tier, unit, locale, _)
    if key and not _KEY.match(key):
        return key  # a name the utility wrote for its customers (a levy's legal name): shown as written
    if key in ("energy_peak", "energy_offpeak") and register_code is None:  # lines stored without their register
        return _with_register("energy", key.split("_")[1], _)
    return base


def unit_label(unit: str, locale: str) -> str:
    """The unit a price is per ("kWh", "m³", "day" in the reader's language); empty for a unit-less item."""
    catalogue = translations(locale)
    key = (unit or "").strip().lower()
    if key in ("day", "days"):
        return catalogue.ngettext("day", "days", 1)
    if key in ("month", "months"):
        return catalogue.ngettext("month", "months", 1)
    if key in ("year", "years"):
        return catalogue.ngettext("year", "years", 1)
    labels = {"kw·year": catalogue.gettext("kW·year"), "kva·year": catalogue.gettext("kVA·year"), "item": ""}
    if key in labels:
        return labels[key]
    return unit_symbol(unit)


def unit_price_text(price: Decimal, *, currency: str, unit: str, locale: str) -> str:
    """The unit price exactly as stored, per the unit customers know for the currency's country."""
    locale = normalise_locale(locale)
    if (unit or "").strip().lower() == PERCENT_UNIT:  # a levy's rate of the amount it is computed on
        return format_percent(Decimal(price), format="#,##0.#### %", locale=locale)
    per = unit_label(unit, locale)
    if currency == "GBP" and (unit or "").strip().lower() in _PENCE_UNITS:
        pence = format_decimal(Decimal(price) * 100, format="#,##0.00####", locale=locale)
        return f"{pence}p/{per}"
    money = format_currency(Decimal(price), currency, locale=locale, decimal_quantization=False)
    return f"{money}/{per}" if per else money


def vat_basis(lines, kind: str = "periodic") -> str:
    """"incl" when every priced line's price and amount include VAT, "excl" when none does, else "mixed";
    "none" for an instalment notice: a payment on account bears no VAT (the true-up bill charges it)."""
    if kind == "instalment":
        return "none"
    flags = {bool(line.unit_price_includes_tax) for line in lines}
    if flags == {True}:
        return "incl"
    if flags == {True, False}:
        return "mixed"
    return "excl"


def vat_statement(basis: str, _: Callable[[str], str]) -> str:
    if basis == "none":
        return _("An instalment is a payment on account of your consumption: it bears no VAT of its own; VAT is "
                 "charged on the consumption in your annual true-up bill.")
    if basis == "incl":
        return _("Unit prices and amounts on this bill include VAT; the VAT they contain is shown per rate below.")
    if basis == "mixed":
        return _("Some unit prices include VAT and some do not: each amount is on the same basis as its unit "
                 "price, as marked; the totals below show both.")
    return _("Unit prices and amounts on this bill exclude VAT; VAT is added per rate below.")
