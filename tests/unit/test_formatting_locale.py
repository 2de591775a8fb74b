"""The locale numbers and dates are written in: the page's language as written in the utility's country."""
from __future__ import annotations

from datetime import date
from decimal import Decimal
from types import SimpleNamespace

import pytest

from domain.i18n import format_date, format_money, formatting_locale, tenant_formatting_locale, zone_country


@pytest.mark.parametrize(("language", "country", "expected"), [
    ("en", "GB", "en_GB"), ("en", "IE", "en_IE"), ("fr", "BE", "fr_BE"), ("de", "AT", "de_AT"),
    ("fr", "FR", "fr_FR"), ("de", "CH", "de_CH"),
    ("en", "FR", "en_IE"), ("en", "DE", "en_IE"),  # English is not written the French way ("60,00 €")
    ("en", "US", "en_US"), ("en", "JP", "en_001"),
    ("es", "FR", "es"), ("de", "FR", "de"), ("fr", None, "fr"), ("en", None, "en"),
])
def test_language_with_the_utilitys_country_when_they_go_together(language, country, expected):
    assert formatting_locale(language, country) == expected


def test_english_for_a_french_utility_writes_euros_and_dates_the_european_way():
    locale = tenant_formatting_locale("en", SimpleNamespace(timezone="Europe/Paris"))

    assert format_money(Decimal("60"), "EUR", locale) == "€60.00"
    assert format_date(date(2026, 11, 1), locale, "medium") == "1 Nov 2026"


def test_the_country_comes_from_the_time_zone_unless_the_tenant_names_one():
    assert zone_country("Europe/Dublin") == "IE" and zone_country("UTC") is None
    assert tenant_formatting_locale("en", SimpleNamespace(timezone="Europe/Paris", country="GB")) == "en_GB"
