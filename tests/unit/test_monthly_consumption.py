"""Monthly consumption from readings, prorated over calendar months by days (pure)."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

from domain.readings.consumption import (
    IndexReading,
    MonthConsumption,
    RegisterReadings,
    compare_with_year_before,
    last_months,
    monthly_consumption,
)

D = Decimal


def _register(*readings, digits=6, multiplier="1", code="TOTAL"):
    return RegisterReadings(digits, D(multiplier), tuple(IndexReading(day, D(value), estimated)
                                                         for day, value, estimated in readings), code)


def test_an_interval_is_spread_over_its_months_by_days():
    register = _register((date(2026, 1, 1), "100", False), (date(2026, 1, 15), "240", False),
                         (date(2026, 3, 15), "830", False), (date(2026, 4, 1), "900", False))

    months = monthly_consumption([register])

    # Jan 1-15: 140; Jan 15 -> Mar 15 is 59 days for 590: 17 in January, 28 in February, 14 in March.
    assert months[date(2026, 1, 1)].quantity == D("310.000")
    assert months[date(2026, 2, 1)].quantity == D("280.000")
    assert months[date(2026, 3, 1)].quantity == D("210.000")  # 140 + 70 (17 days of the last interval)


def test_months_not_wholly_covered_have_no_figure():
    register = _register((date(2026, 1, 10), "0", False), (date(2026, 3, 1), "50", False))

    months = monthly_consumption([register])

    assert months[date(2026, 1, 1)].quantity is None and months[date(2026, 2, 1)].quantity == D("28.000")


def test_estimated_readings_flag_their_months_and_superseded_estimates_are_left_out():
    register = _register((date(2026, 1, 1), "0", False), (date(2026, 2, 1), "999", True),
                         (date(2026, 3, 1), "590", False), (date(2026, 4, 1), "900", True))

    months = monthly_consumption([register])

    assert months[date(2026, 1, 1)] == MonthConsumption(date(2026, 1, 1), D("310.000"), False)
    assert months[date(2026, 2, 1)] == MonthConsumption(date(2026, 2, 1), D("280.000"), False)
    assert months[date(2026, 3, 1)] == MonthConsumption(date(2026, 3, 1), D("310.000"), True)


def test_rollover_multiplier_and_registers_add_up():
    peak = _register((date(2026, 1, 1), "99990", False), (date(2026, 2, 1), "21", False), digits=5,
                     multiplier="10", code="PEAK")
    offpeak = _register((date(2026, 1, 1), "5", False), (date(2026, 2, 1), "36", False), code="OFFPEAK")

    months = monthly_consumption([peak, offpeak])

    assert months[date(2026, 1, 1)].quantity == D("341.000")  # 31 x 10 + 31


def test_a_register_missing_a_month_leaves_it_without_figure():
    peak = _register((date(2026, 1, 1), "0", False), (date(2026, 3, 1), "59", False), code="PEAK")
    offpeak = _register((date(2026, 2, 1), "0", False), (date(2026, 3, 1), "28", False), code="OFFPEAK")

    months = monthly_consumption([peak, offpeak])

    assert months[date(2026, 1, 1)].quantity is None and months[date(2026, 2, 1)].quantity == D("56.000")


def test_a_meter_exchange_joins_the_old_and_new_meters():
    old = _register((date(2026, 1, 1), "5000", False), (date(2026, 1, 11), "5100", False))
    new = _register((date(2026, 1, 11), "0", False), (date(2026, 2, 1), "42", False))

    months = monthly_consumption([old, new])

    assert months[date(2026, 1, 1)].quantity == D("142.000")


def test_rounding_happens_once_per_month():
    register = _register((date(2026, 1, 1), "0", False), (date(2026, 4, 1), "100", False))

    months = monthly_consumption([register])

    # 100 over 90 days: 31, 28 and 31 days -> 34.444..., 31.111..., 34.444...
    assert [months[date(2026, m, 1)].quantity for m in (1, 2, 3)] == [D("34.444"), D("31.111"), D("34.444")]


def test_last_months_are_the_complete_months_before_today():
    months = last_months(date(2026, 11, 28), 24)

    assert months[0] == date(2024, 11, 1) and months[-1] == date(2026, 10, 1) and len(months) == 24


def test_each_month_is_compared_with_the_same_month_a_year_earlier():
    monthly = {date(2026, 1, 1): MonthConsumption(date(2026, 1, 1), D("150")),
               date(2025, 1, 1): MonthConsumption(date(2025, 1, 1), D("120"))}

    [january, february] = compare_with_year_before(monthly, [date(2026, 1, 1), date(2026, 2, 1)])

    assert january.year_before.quantity == D("120") and january.change == D("0.250")
    assert february.current.quantity is None and february.change is None


def test_estimates_before_the_first_actual_reading_give_their_months_a_figure():
    # The demo's water customer: the history starts on two estimated indexes (December 2024 and January 2025
    # were billed on estimates), then actual readings. Those months are covered by readings, so they have figures.
    register = _register((date(2024, 12, 1), "61.415", True), (date(2025, 1, 1), "67.332", True),
                         (date(2025, 2, 1), "73.213", False), (date(2025, 3, 1), "78.771", False),
                         (date(2025, 4, 1), "90.000", True), (date(2025, 5, 1), "84.900", False))

    months = monthly_consumption([register])

    assert months[date(2024, 12, 1)] == MonthConsumption(date(2024, 12, 1), D("5.917"), True)
    assert months[date(2025, 1, 1)] == MonthConsumption(date(2025, 1, 1), D("5.881"), True)
    assert months[date(2025, 2, 1)] == MonthConsumption(date(2025, 2, 1), D("5.558"), False)
    # The April estimate lies between two actual readings: superseded, March and April share 6.129 by days.
    assert months[date(2025, 3, 1)] == MonthConsumption(date(2025, 3, 1), D("3.115"), False)
    assert months[date(2025, 4, 1)] == MonthConsumption(date(2025, 4, 1), D("3.014"), False)


def test_a_year_of_months_starting_on_estimates_adds_up_to_the_index_difference():
    readings = [(date(2024, 12, 1), "100", True), (date(2025, 1, 1), "130", True)]
    readings += [(date(2025, m, 1), str(130 + 30 * (m - 1)), False) for m in range(2, 13)]
    readings += [(date(2025, 12, 1), "460", False)]
    register = _register(*readings)

    months = monthly_consumption([register])
    [december] = compare_with_year_before(months, [date(2025, 12, 1)])

    figures = [months[date(2024, 12, 1)]] + [months[date(2025, m, 1)] for m in range(1, 12)]
    assert all(f.quantity is not None for f in figures)
    assert sum(f.quantity for f in figures) == D("360.000")  # 460 - 100, the twelve months December to November
    assert december.year_before == MonthConsumption(date(2024, 12, 1), D("30.000"), True)
