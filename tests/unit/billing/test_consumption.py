"""Consumption from meter indexes: difference, rollover, multiplier, meter exchange, gas conversion to kWh."""
from datetime import date

from domain.billing.engine import compute_bill

from .inputs import D, contract, lines_by_description, meter, price, reading, tariff

MARCH, APRIL = date(2024, 3, 1), date(2024, 4, 1)
EXCHANGE = date(2024, 3, 15)


def _bill(**kwargs):
    kwargs.setdefault("tariffs", (tariff(price("energy", "0.2516")),))
    return compute_bill(contract=contract(**kwargs), period_start=MARCH, period_end=APRIL)


def test_consumption_is_end_index_minus_start_index():
    result = _bill(readings=(reading(MARCH, "12034"), reading(APRIL, "12398")))

    energy = lines_by_description(result)["energy"]
    # 12398 - 12034 = 364 kWh x 0.2516 = 91.5824 -> 91.58
    assert (energy.quantity, energy.unit, energy.unit_price, energy.amount) == (
        D("364.000"), "kWh", D("0.2516"), D("91.58"))
    assert result.consumption[0].quantity == D("364.000") and not result.estimated


def test_a_lower_end_index_means_the_dial_went_round():
    readings = (reading(MARCH, "99950"), reading(APRIL, "30"))

    result = _bill(meters=(meter(digits=5),), readings=readings)

    # 100000 - 99950 + 30 = 80 kWh x 0.2516 = 20.128 -> 20.13
    energy = lines_by_description(result)["energy"]
    assert (energy.quantity, energy.amount) == (D("80.000"), D("20.13"))


def test_the_multiplier_scales_the_index_difference():
    readings = (reading(MARCH, "1200"), reading(APRIL, "1250.5"))

    result = _bill(meters=(meter(multiplier="10"),), readings=readings)

    # (1250.5 - 1200) x 10 = 505 kWh x 0.2516 = 127.058 -> 127.06
    energy = lines_by_description(result)["energy"]
    assert (energy.quantity, energy.amount) == (D("505.000"), D("127.06"))


def test_a_meter_exchanged_in_the_period_adds_old_and_new_meter_consumption():
    old = meter("OLD", removed_on=EXCHANGE)
    new = meter("NEW", installed_on=EXCHANGE)
    readings = (
        reading(MARCH, "5000"),  # no serial: the meter in service that day (OLD)
        reading(EXCHANGE, "5120", serial="OLD"),  # final reading of the removed meter
        reading(EXCHANGE, "10"),  # no serial on the exchange day: the new meter's initial reading
        reading(APRIL, "95"),
    )

    result = _bill(meters=(old, new), readings=readings)

    # (5120 - 5000) + (95 - 10) = 120 + 85 = 205 kWh x 0.2516 = 51.578 -> 51.58
    energy = lines_by_description(result)["energy"]
    assert (energy.quantity, energy.amount) == (D("205.000"), D("51.58"))
    assert result.consumption[0].quantity == D("205.000")


def test_a_meter_exchange_with_different_multipliers_applies_each_meters_own():
    old = meter("OLD", removed_on=EXCHANGE)
    new = meter("NEW", installed_on=EXCHANGE, multiplier="20")
    readings = (reading(MARCH, "5000"), reading(EXCHANGE, "5120", serial="OLD"), reading(EXCHANGE, "0"),
                reading(APRIL, "4.25"))

    result = _bill(meters=(old, new), readings=readings)

    # 120 x 1 + 4.25 x 20 = 120 + 85 = 205
    assert result.consumption[0].quantity == D("205.000")


def test_gas_volume_is_converted_to_kwh_with_correction_factor_and_calorific_value():
    gas = tariff(price("energy", "0.10120"), price("levy", "0.01637", description="levy_ticgn"))
    readings = (reading(MARCH, "4521"), reading(APRIL, "4640"))

    result = _bill(activity="gas", meters=(meter(unit="m3", digits=5),), readings=readings, tariffs=(gas,),
                   correction="1.02264", calorific="39.24")

    # 119 m3 x 1.02264 x 39.24 MJ/m3 / 3.6 = 1326.466344 -> 1326.466 kWh
    consumption = result.consumption[0]
    assert (consumption.quantity, consumption.unit) == (D("119.000"), "m3")
    assert (consumption.billed_quantity, consumption.billed_unit) == (D("1326.466"), "kWh")
    lines = lines_by_description(result)
    # 1326.466 x 0.10120 = 134.2383592 -> 134.24; levy 1326.466 x 0.01637 = 21.71424842 -> 21.71
    assert (lines["energy"].quantity, lines["energy"].unit, lines["energy"].amount) == (
        D("1326.466"), "kWh", D("134.24"))
    assert (lines["levy_ticgn"].component, lines["levy_ticgn"].amount) == ("levy", D("21.71"))


def test_gas_without_correction_factor_uses_one():
    readings = (reading(MARCH, "0"), reading(APRIL, "36"))

    result = _bill(activity="gas", meters=(meter(unit="m3"),), readings=readings, calorific="40")

    # 36 x 1 x 40 / 3.6 = 400 kWh
    assert result.consumption[0].billed_quantity == D("400.000")


def test_indexes_with_decimals_keep_three_places():
    readings = (reading(MARCH, "100.1234"), reading(APRIL, "200.0001"))

    result = _bill(readings=readings)

    # 99.8767 -> 99.877 (half-up)
    assert result.consumption[0].quantity == D("99.877")
