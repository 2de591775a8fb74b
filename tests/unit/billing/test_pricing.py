"""Unit prices: flat, annual tiers prorated to the period, per register, levies, water and sewerage,
subscribed power, and tariffs published tax-included."""
from datetime import date

import pytest

from domain.billing.engine import compute_bill, prepare_tariff

from .inputs import D, contract, lines_by_description, meter, price, reading, tariff

MARCH, APRIL = date(2024, 3, 1), date(2024, 4, 1)


def _bill(**kwargs):
    return compute_bill(contract=contract(**kwargs), period_start=MARCH, period_end=APRIL)


def _water_tariff():
    return tariff(
        price("water", "1.20", "0.055", tier_from=0, tier_to=30),
        price("water", "2.10", "0.055", tier_from=30),
        price("sewerage", "1.85", "0.10"),
        standing="0.12",
    )


def test_water_tiers_are_annual_blocks_prorated_to_the_period_and_filled_in_order():
    readings = (reading(MARCH, "812"), reading(APRIL, "822.5"))

    result = _bill(activity="water", meters=(meter(unit="m3"),), readings=readings, tariffs=(_water_tariff(),))

    lines = lines_by_description(result)
    # first block: 30 m3/year x 31/365 = 2.5479... -> 2.548 m3 x 1.20 = 3.0576 -> 3.06
    assert (lines["water_tier1"].quantity, lines["water_tier1"].unit, lines["water_tier1"].amount) == (
        D("2.548"), "m3", D("3.06"))
    # the rest: 10.5 - 2.548 = 7.952 m3 x 2.10 = 16.6992 -> 16.70
    assert (lines["water_tier2"].quantity, lines["water_tier2"].amount) == (D("7.952"), D("16.70"))
    # sewerage on the whole consumption: 10.5 x 1.85 = 19.425 -> 19.43 (half-up)
    assert (lines["sewerage"].component, lines["sewerage"].quantity, lines["sewerage"].amount) == (
        "sewerage", D("10.500"), D("19.43"))
    # standing 31 x 0.12 = 3.72
    assert lines["standing_charge"].amount == D("3.72")
    taxes = {total.tax_rate: total for total in result.tax_totals}
    # 5.5 %: (3.72 + 3.06 + 16.70) = 23.48 x 0.055 = 1.2914 -> 1.29; 10 %: 19.43 x 0.10 = 1.943 -> 1.94
    assert (taxes[D("0.055")].base, taxes[D("0.055")].tax) == (D("23.48"), D("1.29"))
    assert (taxes[D("0.10")].base, taxes[D("0.10")].tax) == (D("19.43"), D("1.94"))
    assert (result.total_excl_tax, result.total_tax, result.total_incl_tax) == (D("42.91"), D("3.23"), D("46.14"))


def test_consumption_within_the_first_tier_shows_only_that_tier():
    readings = (reading(MARCH, "812"), reading(APRIL, "814"))

    result = _bill(activity="water", meters=(meter(unit="m3"),), readings=readings, tariffs=(_water_tariff(),))

    lines = lines_by_description(result)
    # 2 m3 < 2.548: all at 1.20 = 2.40
    assert (lines["water_tier1"].quantity, lines["water_tier1"].amount) == (D("2.000"), D("2.40"))
    assert "water_tier2" not in lines


def test_peak_and_off_peak_registers_are_priced_separately():
    hphc = tariff(price("energy", "0.2700", register="PEAK"), price("energy", "0.2068", register="OFFPEAK"))
    readings = (reading(MARCH, "3000", "PEAK"), reading(MARCH, "5000", "OFFPEAK"),
                reading(APRIL, "3210", "PEAK"), reading(APRIL, "5180", "OFFPEAK"))

    result = _bill(meters=(meter(registers=("PEAK", "OFFPEAK")),), readings=readings, tariffs=(hphc,))

    lines = lines_by_description(result)
    # peak 210 x 0.2700 = 56.70; off-peak 180 x 0.2068 = 37.224 -> 37.22
    assert (lines["energy_peak"].quantity, lines["energy_peak"].amount, lines["energy_peak"].register_code) == (
        D("210.000"), D("56.70"), "PEAK")
    assert (lines["energy_offpeak"].quantity, lines["energy_offpeak"].amount) == (D("180.000"), D("37.22"))
    assert {item.register_code: item.quantity for item in result.consumption} == {
        "PEAK": D("210.000"), "OFFPEAK": D("180.000")}


def test_a_price_for_all_registers_applies_to_their_total():
    levy = tariff(price("energy", "0.27", register="PEAK"), price("energy", "0.20", register="OFFPEAK"),
                  price("levy", "0.0225", "0.20"))
    readings = (reading(MARCH, "3000", "PEAK"), reading(MARCH, "5000", "OFFPEAK"),
                reading(APRIL, "3210", "PEAK"), reading(APRIL, "5180", "OFFPEAK"))

    result = _bill(meters=(meter(registers=("PEAK", "OFFPEAK")),), readings=readings, tariffs=(levy,))

    # levy on 210 + 180 = 390 kWh x 0.0225 = 8.775 -> 8.78
    levy_line = lines_by_description(result)["levy"]
    assert (levy_line.quantity, levy_line.amount, levy_line.register_code) == (D("390.000"), D("8.78"), None)


def test_per_unit_levies_add_lines_on_the_same_consumption():
    priced = tariff(price("energy", "0.2516"), price("levy", "0.0120", description="levy_cspe"),
                    price("network", "0.0450"))
    readings = (reading(MARCH, "0"), reading(APRIL, "500"))

    result = _bill(readings=readings, tariffs=(priced,))

    lines = lines_by_description(result)
    # 500 x 0.2516 = 125.80; 500 x 0.0120 = 6.00; 500 x 0.0450 = 22.50
    assert [(line.description, line.quantity, line.amount) for line in result.lines] == [
        ("energy", D("500.000"), D("125.80")), ("levy_cspe", D("500.000"), D("6.00")),
        ("network", D("500.000"), D("22.50"))]
    assert lines["levy_cspe"].component == "levy"
    # one rate: (125.80 + 6.00 + 22.50) = 154.30 x 0.20 = 30.86
    assert result.total_tax == D("30.86")


def test_heating_subscribed_power_is_charged_per_year_prorated_by_days():
    heat = tariff(price("energy", "0.0712", "0.055"), price("subscribed_power", "48.30", "0.055"))
    readings = (reading(MARCH, "88000"), reading(APRIL, "89900"))

    result = _bill(activity="heating", readings=readings, tariffs=(heat,), power="12")

    line = lines_by_description(result)["subscribed_power"]
    # 12 kW x 48.30 /year x 31/365 = 49.2263... -> 49.23; quantity shown 12 x 31/365 = 1.0191... -> 1.019 kW·year
    assert (line.quantity, line.unit, line.unit_price, line.amount) == (D("1.019"), "kW·year", D("48.30"), D("49.23"))
    # energy 1900 x 0.0712 = 135.28
    assert lines_by_description(result)["energy"].amount == D("135.28")


def test_electricity_subscribed_power_is_in_kva_years():
    priced = tariff(price("energy", "0.20"), price("subscribed_power", "10.00"))
    readings = (reading(MARCH, "0"), reading(APRIL, "0"))

    result = _bill(readings=readings, tariffs=(priced,), power="6")

    line = lines_by_description(result)["subscribed_power"]
    # 6 x 10.00 x 31/365 = 5.0958... -> 5.10
    assert (line.unit, line.amount) == ("kVA·year", D("5.10"))


def test_tax_included_prices_make_the_total_the_published_price_times_quantity():
    published = tariff(price("energy", "0.3019", "0.20"), standing="0.5414", standing_tax="0.055", include_tax=True)
    readings = (reading(MARCH, "12034"), reading(APRIL, "12398"))

    result = _bill(readings=readings, tariffs=(published,))

    lines = lines_by_description(result)
    energy, standing = lines["energy"], lines["standing_charge"]
    # energy incl. tax 364 x 0.3019 = 109.8916 -> 109.89; tax 109.89 x 0.20/1.20 = 18.315 -> 18.32;
    # excl. 109.89 - 18.32 = 91.57 (109.89 / 1.20 = 91.575 would round to 91.58: the cent goes to the line)
    assert (energy.unit_price, energy.unit_price_includes_tax, energy.amount_incl_tax, energy.amount) == (
        D("0.3019"), True, D("109.89"), D("91.57"))
    # standing incl. 31 x 0.5414 = 16.7834 -> 16.78; tax 16.78 x 0.055/1.055 = 0.8747... -> 0.87; excl. 15.91
    assert (standing.amount_incl_tax, standing.amount) == (D("16.78"), D("15.91"))
    taxes = {total.tax_rate: total.tax for total in result.tax_totals}
    assert taxes == {D("0.20"): D("18.32"), D("0.055"): D("0.87")}
    # 109.89 + 16.78 = 126.67 = 91.57 + 15.91 + 18.32 + 0.87
    assert (result.total_excl_tax, result.total_tax, result.total_incl_tax) == (D("107.48"), D("19.19"), D("126.67"))


def test_tax_is_computed_per_rate_on_the_sum_of_the_lines_not_per_line():
    priced = tariff(price("energy", "0.1003"), price("network", "0.1003"))
    readings = (reading(MARCH, "0"), reading(APRIL, "100"))

    result = _bill(readings=readings, tariffs=(priced,))

    # two lines of 100 x 0.1003 = 10.03; tax (10.03 + 10.03) x 0.20 = 4.012 -> 4.01 (per line: 2.006 -> 2.01 twice)
    assert [line.amount for line in result.lines] == [D("10.03"), D("10.03")]
    assert result.total_tax == D("4.01")


def test_line_amounts_round_half_up_to_the_cent_and_unit_rates_keep_their_precision():
    priced = tariff(price("energy", "0.125", "0"))
    readings = (reading(MARCH, "0"), reading(APRIL, "1"))

    result = _bill(readings=readings, tariffs=(priced,))

    # 1 x 0.125 = 0.125 -> 0.13 half-up (banker's rounding would give 0.12)
    assert (result.lines[0].unit_price, result.lines[0].amount) == (D("0.125"), D("0.13"))


@pytest.mark.parametrize("prices, message", [
    ((price("gas_levy"),), "unknown component"),
    ((price("energy", tier_from=0, tier_to=30), price("energy", tier_from=40)), "follow each other"),
    ((price("energy", tier_from=0), price("energy", tier_from=30)), "open-ended"),
    ((price("energy"), price("energy", register="PEAK")), "both for all registers and per register"),
    ((price("energy", tier_from=0, tier_to=30), price("energy")), "mixes tiered and flat"),
    ((price("subscribed_power", register="PEAK"),), "neither tiers nor registers"),
])
def test_a_tariff_that_cannot_be_priced_consistently_is_refused_when_prepared(prices, message):
    with pytest.raises(ValueError, match=message):
        prepare_tariff(tariff(*prices))


def test_a_prepared_tariff_gives_the_same_bill_as_the_raw_one():
    raw = tariff(price("energy", "0.2516"), standing="0.4512")
    readings = (reading(MARCH, "12034"), reading(APRIL, "12398"))

    from_raw = _bill(readings=readings, tariffs=(raw,))
    from_prepared = _bill(readings=readings, tariffs=(prepare_tariff(raw),))

    assert from_raw == from_prepared


def test_subscribed_power_in_a_leap_february_counts_its_29_days_over_365():
    heat = tariff(price("energy", "0.0712", "0.055"), price("subscribed_power", "48.30", "0.055"))
    february, march = date(2024, 2, 1), date(2024, 3, 1)
    readings = (reading(february, "0"), reading(march, "0"))

    result = compute_bill(contract=contract(activity="heating", readings=readings, tariffs=(heat,), power="12"),
                          period_start=february, period_end=march)

    line = lines_by_description(result)["subscribed_power"]
    # 12 x 48.30 x 29/365 = 46.0504... -> 46.05; 12 x 29/365 = 0.9534... -> 0.953 kW·year
    assert (line.quantity, line.amount) == (D("0.953"), D("46.05"))


def test_a_whole_leap_year_of_subscribed_power_is_366_days_over_365():
    heat = tariff(price("energy", "0.0712", "0.055"), price("subscribed_power", "48.30", "0.055"))
    start, end = date(2024, 1, 1), date(2025, 1, 1)
    readings = (reading(start, "0"), reading(end, "0"))

    result = compute_bill(contract=contract(activity="heating", readings=readings, tariffs=(heat,), power="12"),
                          period_start=start, period_end=end)

    # the price is per year of 365 days: 12 x 48.30 x 366/365 = 581.1879... -> 581.19
    assert lines_by_description(result)["subscribed_power"].amount == D("581.19")


def test_bills_of_the_same_period_share_the_prepared_tariffs_standing_charge_line():
    prepared = prepare_tariff(tariff(price("energy", "0.2516"), standing="0.4512"))
    first = _bill(readings=(reading(MARCH, "0"), reading(APRIL, "10")), tariffs=(prepared,))
    second = _bill(readings=(reading(MARCH, "500"), reading(APRIL, "900")), tariffs=(prepared,))

    assert first.lines[0] is second.lines[0]  # one object for a whole billing run, not one per bill
