"""Tariff components beyond one per-day standing charge: several standing charges per day, month or year
(prorated by calendar day), levies as a percentage of other lines, and taxes contained in gross prices."""
from dataclasses import replace
from datetime import date

import pytest

from domain.billing.engine import (
    IncludedPartIn,
    PercentLevyIn,
    StandingChargeIn,
    compute_bill,
    prepare_tariff,
    price_keys,
)

from .inputs import D, contract, lines_by_description, price, reading, tariff


def _bill(start, end, *tariffs, used="0", power=None):
    readings = (reading(start, 1000), reading(end, D(1000) + D(used)))
    return compute_bill(contract=contract(readings=readings, tariffs=tariffs, power=power), period_start=start,
                        period_end=end)


def charge(code, amount, per, tax="0.20"):
    return StandingChargeIn(code, D(amount), per, D(tax))


def test_a_version_has_several_standing_charges_each_with_its_own_period_tax_and_line():
    version = replace(tariff(), standing_charges=(
        charge("supply", "0.3000", "day", tax="0.055"), charge("metering", "12.00", "month")))

    result = _bill(date(2024, 3, 1), date(2024, 4, 1), version)

    lines = lines_by_description(result)
    # supply: 31 days x 0.30 = 9.30 at 5.5 %; metering: one whole month = 12.00 at 20 %
    assert (lines["supply"].quantity, lines["supply"].unit, lines["supply"].amount) == (D("31.000"), "day", D("9.30"))
    assert (lines["metering"].quantity, lines["metering"].unit, lines["metering"].amount) == (
        D("1.000"), "month", D("12.00"))
    assert {line.component for line in result.lines if line.description in ("supply", "metering")} == {
        "standing_charge"}
    # tax: 9.30 x 0.055 = 0.5115 -> 0.51; 12.00 x 0.20 = 2.40
    assert [(t.tax_rate, t.base, t.tax) for t in result.tax_totals] == [
        (D("0.055"), D("9.30"), D("0.51")), (D("0.20"), D("12.00"), D("2.40"))]
    assert result.total_incl_tax == D("24.21")


def test_a_monthly_charge_is_prorated_by_the_days_of_each_calendar_month():
    version = replace(tariff(), standing_charges=(charge("metering", "12.00", "month"),))

    # 20 Feb - 10 Mar 2024: 10 of February's 29 days + 9 of March's 31 days
    result = _bill(date(2024, 2, 20), date(2024, 3, 10), version)

    line = lines_by_description(result)["metering"]
    # 10/29 + 9/31 = 0.344827... + 0.290322... = 0.635150... months -> quantity 0.635;
    # 12.00 x 0.635150... = 7.6218... -> 7.62
    assert (line.quantity, line.unit_price, line.amount) == (D("0.635"), D("12.00"), D("7.62"))


def test_a_yearly_charge_is_prorated_by_the_days_of_each_calendar_year_leap_years_included():
    version = replace(tariff(), standing_charges=(charge("network", "120.00", "year"),))

    # 1 Dec 2023 - 1 Feb 2024: 31 of 2023's 365 days + 31 of 2024's 366 days
    result = _bill(date(2023, 12, 1), date(2024, 2, 1), version)

    line = lines_by_description(result)["network"]
    # 120 x (31/365 + 31/366) = 10.1918 + 10.1639 = 20.3557 -> 20.36
    assert (line.quantity, line.unit, line.amount) == (D("0.170"), "year", D("20.36"))


def test_a_whole_year_costs_exactly_the_yearly_amount_even_in_a_leap_year():
    version = replace(tariff(), standing_charges=(charge("network", "120.00", "year"),))

    result = _bill(date(2024, 1, 1), date(2025, 1, 1), version)

    assert lines_by_description(result)["network"].amount == D("120.00")


def test_standing_charges_follow_a_tariff_change_from_its_date():
    old = replace(tariff(effective_to=date(2024, 3, 16), name="old"),
                  standing_charges=(charge("metering", "31.00", "month"),))
    new = replace(tariff(effective_from=date(2024, 3, 16), name="new"),
                  standing_charges=(charge("metering", "62.00", "month"),))

    result = _bill(date(2024, 3, 1), date(2024, 4, 1), old, new)

    first, second = result.lines
    # 15/31 x 31.00 = 15.00; 16/31 x 62.00 = 32.00
    assert (first.period_end, first.amount, second.period_start, second.amount) == (
        date(2024, 3, 16), D("15.00"), date(2024, 3, 16), D("32.00"))


def test_a_levy_is_a_percentage_of_the_network_part_of_the_standing_charge():
    # France's CTA: 21.93 % of the network (transport) part of the fixed charge, at 5.5 % VAT like it.
    version = replace(
        tariff(price("energy", "0.2516", "0.20")),
        standing_charges=(charge("supply", "0.1500", "day", tax="0.055"),
                          charge("network", "0.2000", "day", tax="0.055")),
        percent_levies=(PercentLevyIn("cta", D("0.2193"), ("network",), D("0.055")),),
    )

    result = _bill(date(2024, 3, 1), date(2024, 4, 1), version, used="100")

    lines = lines_by_description(result)
    # network 31 x 0.20 = 6.20; CTA 6.20 x 0.2193 = 1.35966 -> 1.36 (supply and energy are not in its base)
    cta = lines["cta"]
    assert (cta.component, cta.quantity, cta.unit, cta.unit_price, cta.amount, cta.tax_rate) == (
        "levy", D("6.20"), "pct", D("0.2193"), D("1.36"), D("0.055"))
    # 4.65 + 6.20 + 1.36 = 12.21 at 5.5 % -> 0.67155 -> 0.67; energy 25.16 at 20 % -> 5.03
    assert (result.total_excl_tax, result.total_tax, result.total_incl_tax) == (D("37.37"), D("5.70"), D("43.07"))


def test_a_percentage_levy_is_computed_per_tariff_segment():
    levy = (PercentLevyIn("cta", D("0.10"), ("standing_charge",), D("0.055")),)
    old = replace(tariff(standing="1.00", effective_to=date(2024, 3, 16), name="old"), percent_levies=levy)
    new = replace(tariff(standing="2.00", effective_from=date(2024, 3, 16), name="new"), percent_levies=levy)

    result = _bill(date(2024, 3, 1), date(2024, 4, 1), old, new)

    levies = [(line.period_start, line.quantity, line.amount) for line in result.lines if line.description == "cta"]
    # 15 x 1.00 = 15.00 -> 1.50; 16 x 2.00 = 32.00 -> 3.20
    assert levies == [(date(2024, 3, 1), D("15.00"), D("1.50")), (date(2024, 3, 16), D("32.00"), D("3.20"))]


def test_a_levy_on_unknown_lines_is_refused_when_the_tariff_is_prepared():
    version = replace(tariff(), percent_levies=(PercentLevyIn("cta", D("0.2193"), ("network",), D("0.055")),))

    with pytest.raises(ValueError, match="unknown lines"):
        prepare_tariff(version)


def test_gross_prices_show_the_taxes_they_contain_without_changing_any_total():
    # Germany: a gross energy price containing electricity tax 2.05 ct/kWh and concession fee 1.32 ct/kWh.
    plain = tariff(price("energy", "0.3570", "0.19"), standing="0.4000", standing_tax="0.19", include_tax=True)
    broken_down = replace(plain, included_parts=(IncludedPartIn("electricity_tax", "energy", D("0.0205")),
                                                 IncludedPartIn("concession_fee", "energy", D("0.0132"))))

    before = _bill(date(2024, 3, 1), date(2024, 4, 1), plain, used="250")
    result = _bill(date(2024, 3, 1), date(2024, 4, 1), broken_down, used="250")

    energy_index = [line.description for line in result.lines].index("energy")
    # 250 kWh x 0.0205 = 5.125 -> 5.13; 250 x 0.0132 = 3.30
    assert [(item.line_index, item.code, item.amount) for item in result.included] == [
        (energy_index, "electricity_tax", D("5.13")), (energy_index, "concession_fee", D("3.30"))]
    assert result.lines == before.lines and result.total_incl_tax == before.total_incl_tax == D("101.65")
    assert before.included == ()


def test_line_keys_name_tiers_in_the_order_of_their_bounds():
    prices = (price("water", "2.25", tier_from="30"), price("water", "1.45", tier_from="0", tier_to="30"),
              price("sewerage", "1.85"), price("levy", "0.10", description="levy_pollution"))

    assert price_keys(prices) == ["water_tier2", "water_tier1", "sewerage", "levy_pollution"]
