"""Every line kind the engine and the down-payment plans produce reads as a name in the customer's language."""
import re
from decimal import Decimal

import pytest

from domain.billing.line_names import TierBounds, line_name, tier_detail, unit_price_text
from domain.i18n import translator

LOCALES = ("en", "fr", "de", "es")
INTERNAL_CODE = re.compile(r"\b[a-z][a-z0-9]*(?:_[a-z0-9]+)+\b")
TIER_1 = TierBounds(Decimal("0"), Decimal("30"))
TIER_2 = TierBounds(Decimal("30"), Decimal("120"))
TIER_3 = TierBounds(Decimal("120"), None)

# (bill kind, component, description key, register, unit, tier): as stored on bill lines.
LINE_KINDS = [
    ("periodic", "standing_charge", "standing_charge", None, "day", None),
    ("periodic", "energy", "energy", None, "kWh", None),
    ("periodic", "energy", "energy_peak", "PEAK", "kWh", None),
    ("periodic", "energy", "energy_offpeak", "OFFPEAK", "kWh", None),
    ("periodic", "energy", "energy_offpeak", None, "kWh", None),
    ("periodic", "network", "network_peak", "PEAK", "kWh", None),
    ("periodic", "water", "water_tier1", None, "m3", TIER_1),
    ("periodic", "water", "water_tier2", None, "m3", TIER_2),
    ("periodic", "water", "water_tier3", None, "m3", TIER_3),
    ("periodic", "water", "water_tier2", None, "m3", None),  # tariff no longer found: still no code
    ("periodic", "energy", "energy_peak_tier1", "PEAK", "kWh", TIER_1),
    ("periodic", "sewerage", "sewerage", None, "m3", None),
    ("periodic", "levy", "levy", None, "kWh", None),
    ("periodic", "levy", "levy_cspe", None, "kWh", None),  # a tariff's own key for a second levy
    ("periodic", "network", "network", None, "kWh", None),
    ("periodic", "subscribed_power", "subscribed_power", None, "kVA·year", None),
    ("periodic", "water", "regularisation_credit", None, "m3", None),
    ("periodic", "energy", "regularisation_credit", "OFFPEAK", "kWh", None),
    ("periodic", "back_billing_limit", "back_billing_limit", None, "item", None),
    ("instalment", "instalment", "instalment", None, "month", None),
    ("true_up", "instalment", "instalment_deducted", None, "item", None),
    ("true_up", "instalment", "instalments_billed", None, "month", None),  # true-ups issued before the fix
    ("credit_note", "water", "water_tier1", None, "m3", TIER_1),
    ("corrective", "energy", "energy_offpeak", "OFFPEAK", "kWh", None),
]


def _name(locale, kind, component, description, register, unit, tier):
    return line_name(kind=kind, component=component, description=description, register_code=register, unit=unit,
                     locale=locale, _=translator(locale), tier=tier)


@pytest.mark.parametrize("case", LINE_KINDS, ids=lambda case: f"{case[0]}-{case[2]}")
def test_every_line_kind_has_a_readable_name_in_four_languages(case):
    names = {locale: _name(locale, *case) for locale in LOCALES}

    for locale, name in names.items():
        assert name and not INTERNAL_CODE.search(name), (locale, name)
    for locale in ("fr", "de", "es"):
        assert names[locale] != names["en"], (locale, names[locale])


def test_tier_names_give_their_annual_bounds():
    names = [_name("en", "periodic", "water", f"water_tier{n}", None, "m3", tier)
             for n, tier in ((1, TIER_1), (2, TIER_2), (3, TIER_3))]

    assert [name.replace("\u00a0", " ") for name in names] == [
        "Water supply, first 30 m³ a year", "Water supply, from 30 m³ to 120 m³ a year",
        "Water supply, above 120 m³ a year"]
    assert _name("fr", "periodic", "energy", "energy_peak_tier1", "PEAK", "kWh", TIER_1).replace("\u00a0", " ") == (
        "Consommation d'énergie, heures pleines, premiers 30 kWh par an")


def test_a_tier_detail_gives_the_bounds_the_engine_applied_over_the_lines_days():
    # 30 m3 x 31 / 365 = 2.5479... -> 2.548; 120 x 31 / 365 = 10.1917... -> 10.192
    detail = tier_detail(TIER_2, days=31, unit="m3", locale="en", _=translator("en"))

    assert detail.replace("\u00a0", " ") == "From 2.548 m³ to 10.192 m³ over these 31 days"


def test_a_name_written_for_customers_is_kept_as_written():
    name = _name("fr", "periodic", "levy", "Contribution tarifaire d'acheminement", None, "kWh", None)

    assert name == "Contribution tarifaire d'acheminement"


@pytest.mark.parametrize(("price", "currency", "unit", "locale", "expected"), [
    ("0.245000", "GBP", "kWh", "en", "24.50p/kWh"),
    ("0.253480", "GBP", "kWh", "en", "25.348p/kWh"),
    ("0.455000", "GBP", "day", "en", "45.50p/day"),
    ("1.450000", "GBP", "m3", "en", "£1.45/m³"),
    ("0.251600", "EUR", "kWh", "en", "€0.2516/kWh"),
    ("0.251600", "EUR", "kWh", "fr", "0,2516\u00a0€/kWh"),
    ("2.250000", "EUR", "m3", "de", "2,25\u00a0€/m³"),
    ("0.085000", "EUR", "day", "fr", "0,085\u00a0€/jour"),
    ("0.085000", "EUR", "day", "es", "0,085\u00a0€/día"),
    ("48.500000", "EUR", "kVA·year", "en", "€48.50/kVA·year"),
    ("72.920000", "EUR", "item", "en", "€72.92"),
])
def test_unit_prices_are_exact_and_in_the_unit_customers_know(price, currency, unit, locale, expected):
    text = unit_price_text(Decimal(price), currency=currency, unit=unit, locale=locale)

    assert text.replace("\u202f", "\u00a0") == expected
