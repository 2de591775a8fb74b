"""What follows from a utility's country (tenants/countries.py): currency, main time zone, the language its people
read among the platform's four."""
from __future__ import annotations

from datetime import date

import pytest

from tenants.countries import country_choices, country_defaults, is_country

ON = date(2026, 12, 1)


@pytest.mark.parametrize(("country", "currency", "timezone", "locale"), [
    ("FR", "EUR", "Europe/Paris", "fr"),
    ("DE", "EUR", "Europe/Berlin", "de"),
    ("ES", "EUR", "Europe/Madrid", "es"),       # not Africa/Ceuta, first in CLDR's list
    ("GB", "GBP", "Europe/London", "en"),
    ("IE", "EUR", "Europe/Dublin", "en"),
    ("CH", "CHF", "Europe/Zurich", "de"),
    ("BE", "EUR", "Europe/Brussels", "fr"),      # Dutch is not a platform language: French, official there
    ("PT", "EUR", "Europe/Lisbon", "en"),        # no platform language is Portugal's: English
    ("US", "USD", "America/New_York", "en"),
])
def test_defaults_of_a_country(country, currency, timezone, locale):
    defaults = country_defaults(country, on=ON)

    assert (defaults.currency, defaults.timezone, defaults.locale) == (currency, timezone, locale)
    assert defaults.timezones[0] == timezone


def test_the_other_zones_of_a_country_are_offered_after_the_main_one():
    assert country_defaults("ES", on=ON).timezones == ("Europe/Madrid", "Africa/Ceuta", "Atlantic/Canary")


def test_currency_is_the_one_in_use_on_the_day():
    assert country_defaults("HR", on=date(2022, 6, 1)).currency == "HRK"
    assert country_defaults("HR", on=date(2023, 6, 1)).currency == "EUR"


def test_only_countries_are_countries():
    assert is_country("FR") and not is_country("fr") and not is_country("EU") and not is_country("001")
    with pytest.raises(ValueError):
        country_defaults("QQ", on=ON)


def test_choices_are_named_and_sorted_in_the_operators_language():
    choices = dict(country_choices("de"))
    names = [name for _code, name in country_choices("de")]

    assert choices["DE"] == "Deutschland" and choices["CH"] == "Schweiz"
    assert names == sorted(names, key=str.casefold)
