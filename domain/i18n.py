"""Translations and locale formatting for code that runs outside a request (jobs, documents); no Flask."""
from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from gettext import NullTranslations
from pathlib import Path

from babel import Locale, UnknownLocaleError
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
