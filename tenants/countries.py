"""Countries a utility may operate in, and what follows from one: currency, time zone, language (pure, from CLDR)."""
from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import date

from babel import Locale
from babel.core import get_global
from babel.numbers import get_territory_currencies

PLATFORM_LOCALES = ("en", "fr", "de", "es")  # the languages the platform's pages speak (app/i18n.py LOCALES)

# Where a country spans several zones, the one most of its people live in (CLDR lists them alphabetically).
_MAIN_ZONES = {
    "US": "America/New_York", "CA": "America/Toronto", "AU": "Australia/Sydney", "BR": "America/Sao_Paulo",
    "MX": "America/Mexico_City", "RU": "Europe/Moscow", "AR": "America/Argentina/Buenos_Aires",
    "CL": "America/Santiago", "ID": "Asia/Jakarta", "KZ": "Asia/Almaty", "CN": "Asia/Shanghai",
    "NZ": "Pacific/Auckland", "PT": "Europe/Lisbon", "ES": "Europe/Madrid", "DE": "Europe/Berlin",
    "EC": "America/Guayaquil", "UA": "Europe/Kyiv",
}


@dataclass(frozen=True)
class CountryDefaults:
    currency: str | None
    timezone: str | None
    locale: str
    timezones: tuple[str, ...]  # every zone of the country, the main one first


@functools.cache
def _countries() -> frozenset[str]:
    zones = get_global("territory_zones")
    return frozenset(code for code in Locale("en").territories
                     if len(code) == 2 and code.isalpha() and code.isupper() and zones.get(code))


def is_country(code: str | None) -> bool:
    """An ISO 3166 alpha-2 code of a country with a time zone (not a region like 001 or EU)."""
    return (code or "") in _countries()


def country_choices(locale: str) -> list[tuple[str, str]]:
    """(code, name in `locale`) of every country, by name."""
    names = Locale.parse(locale).territories
    return sorted(((code, names.get(code, code)) for code in _countries()), key=lambda item: item[1].casefold())


def _main_language(country: str) -> str:
    """The platform language the country's people most likely read: its likely language, else its official one
    with the most speakers, else English."""
    likely = get_global("likely_subtags").get(f"und_{country}", "")
    language = likely.split("_")[0]
    if language in PLATFORM_LOCALES:
        return language
    spoken = get_global("territory_languages").get(country, {})
    official = [(info.get("population_percent") or 0, lang) for lang, info in spoken.items()
                if lang in PLATFORM_LOCALES and info.get("official_status")]
    return max(official)[1] if official else "en"


def country_defaults(country: str, *, on: date) -> CountryDefaults:
    """The currency in use in `country` on `on`, its main time zone and the platform language its people read."""
    country = (country or "").upper()
    if not is_country(country):
        raise ValueError(f"unknown country {country!r}")
    zones = list(get_global("territory_zones").get(country, ()))
    main = _MAIN_ZONES.get(country)
    if main not in zones:
        main = next((zone for zone in zones if zone.startswith("Europe/")), zones[0] if zones else None)
    ordered = tuple([main] + sorted(zone for zone in zones if zone != main)) if main else ()
    currencies = get_territory_currencies(country, start_date=on, tender=True)
    return CountryDefaults(currency=currencies[0] if currencies else None, timezone=main,
                           locale=_main_language(country), timezones=ordered)
