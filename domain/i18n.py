"""Translations and locale formatting for code that runs outside a request (jobs, documents); no Flask."""
from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from gettext import NullTranslations
from pathlib import Path

from babel import Locale, UnknownLocaleError, localedata
from babel.core import get_global
from babel.dates import format_date as _babel_format_date
from babel.numbers import format_currency, format_decimal, format_percent
from babel.support import Translations

TRANSLATIONS_DIR = Path(__file__).resolve().parent.parent / "translations"
DEFAULT_LOCALE = "en"

# Units as stored on lines and meters -> how a reader expects to see them.
_UNIT_SYMBOLS = {"m3": "m³", "kwh": "kWh", "mwh": "MWh", "kva": "kVA", "kw": "kW"}


def normalise_locale(locale: str | None) -> str:
    """`fr-FR`, `fr_fr` -> `fr_FR`; an unknown or empty locale -> the default (English)."""
    if not locale:
        return DEFAULT_LOCALE
    try:
        return str(Locale.parse(locale.replace("-", "_")))
    except (UnknownLocaleError, ValueError):
        return DEFAULT_LOCALE


def zone_country(timezone: str | None) -> str | None:
    """The country of a time zone (`Europe/Paris` -> `FR`, CLDR's own mapping); None for `UTC` and the like."""
    return get_global("zone_territories").get(timezone or "")


def _official_in(language: str, country: str) -> bool:
    status = get_global("territory_languages").get(country, {}).get(language, {})
    return bool(status.get("official_status"))


def _in_europe(country: str) -> bool:
    return any(zone.startswith("Europe/") for zone in get_global("territory_zones").get(country, ()))


@functools.cache
def formatting_locale(language: str | None, country: str | None) -> str:
    """The locale numbers, dates and money are written in: the page's language as it is written in the utility's
    country when the two go together (en_GB, en_IE, fr_BE, de_AT, fr_FR), else the language alone.

    A language that is not official in the country keeps its own conventions rather than the country's: CLDR's
    en_FR writes "60,00 €" and en_DE "60,00 €", which an English page must not. English there is the English of
    Europe's euro area (en_IE: "€60.00", "1 Nov 2026", 24-hour clock) for a European utility, and international
    English (en_001) elsewhere, never the United States' "Nov 1, 2026" unless the utility is in the United States.
    """
    language = normalise_locale(language).split("_")[0]
    if not country:
        return language
    country = country.upper()
    combined = f"{language}_{country}"
    if localedata.exists(combined) and _official_in(language, country):
        return combined
    if language == "en":
        return "en_IE" if _in_europe(country) else "en_001"
    return language


def tenant_formatting_locale(language: str | None, tenant) -> str:
    """`formatting_locale` for a tenant: its `country` when it has one, else the country of its time zone."""
    country = getattr(tenant, "country", None) or zone_country(getattr(tenant, "timezone", None))
    return formatting_locale(language, country)


@functools.cache
def translations(locale: str) -> NullTranslations:
    """The compiled catalogue for a locale (`gettext` and `ngettext`), loaded once per process.

    A locale without a catalogue (English, the source language) gets a pass-through.
    """
    return Translations.load(str(TRANSLATIONS_DIR), [normalise_locale(locale)], domain="messages")


def translator(locale: str) -> Callable[[str], str]:
    """`_ = translator(customer_locale)` then `_("Amount due")`."""
    return translations(locale).gettext


def format_money(amount: Decimal, currency: str, locale: str) -> str:
    return format_currency(amount, currency, locale=normalise_locale(locale))


def format_unit_price(price: Decimal, currency: str, locale: str) -> str:
    """A unit rate keeps its precision (0.2516 €), never fewer decimals than the currency has."""
    return format_currency(price, currency, locale=normalise_locale(locale), decimal_quantization=False)


def format_date(d: date, locale: str, format: str = "long") -> str:
    return _babel_format_date(d, format=format, locale=normalise_locale(locale))


def format_number(value: Decimal, locale: str) -> str:
    """A quantity or meter index: grouping, up to three decimals, no trailing zeros."""
    return format_decimal(value, format="#,##0.###", locale=normalise_locale(locale))


def unit_symbol(unit: str) -> str:
    return _UNIT_SYMBOLS.get((unit or "").lower(), unit or "")


def format_quantity(q: Decimal, unit: str, locale: str) -> str:
    text = format_number(q, locale)
    symbol = unit_symbol(unit)
    return f"{text}\u00a0{symbol}" if symbol else text


def format_rate(rate: Decimal, locale: str) -> str:
    """A tax rate given as a ratio (0.055 -> 5.5 %, 5,5 % in French)."""
    return format_percent(rate, locale=normalise_locale(locale), decimal_quantization=False)


def country_name(code: str, locale: str) -> str:
    return Locale.parse(normalise_locale(locale)).territories.get(code.upper(), code)
