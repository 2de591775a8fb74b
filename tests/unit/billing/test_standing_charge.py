"""Standing charge: per day x days in the period, per tariff version, at month ends and in leap years."""
from datetime import date

from domain.billing.engine import compute_bill

from .inputs import D, contract, lines_by_description, reading, tariff

MARCH, APRIL = date(2024, 3, 1), date(2024, 4, 1)


def _bill(start, end, *tariffs):
    readings = (reading(start, 1000), reading(end, 1000))
    return compute_bill(contract=contract(readings=readings, tariffs=tariffs), period_start=start, period_end=end)


def test_standing_charge_is_price_per_day_times_days_rounded_half_up():
    result = _bill(MARCH, APRIL, tariff(standing="0.4512"))

    line = lines_by_description(result)["standing_charge"]
    # 31 days x 0.4512 = 13.9872 -> 13.99
    assert (line.quantity, line.unit, line.unit_price, line.amount) == (D("31.000"), "day", D("0.4512"), D("13.99"))
    # tax 13.99 x 0.055 = 0.76945 -> 0.77
    assert (result.total_excl_tax, result.total_tax, result.total_incl_tax) == (D("13.99"), D("0.77"), D("14.76"))


def test_standing_charge_is_split_by_days_at_a_tariff_change():
    old = tariff(standing="0.50", effective_to=date(2024, 3, 16), name="2023")
    new = tariff(standing="0.52", effective_from=date(2024, 3, 16), name="2024")

    result = _bill(MARCH, APRIL, old, new)

    first, second = result.lines
    # 1-15 March: 15 days x 0.50 = 7.50; 16-31 March: 16 days x 0.52 = 8.32
    assert (first.period_start, first.period_end, first.quantity, first.amount) == (
        MARCH, date(2024, 3, 16), D("15.000"), D("7.50"))
    assert (second.period_start, second.period_end, second.quantity, second.amount) == (
        date(2024, 3, 16), APRIL, D("16.000"), D("8.32"))
    assert result.total_excl_tax == D("15.82")


def test_february_of_a_leap_year_has_29_days():
    result = _bill(date(2024, 2, 1), MARCH, tariff(standing="0.4512"))

    # 29 x 0.4512 = 13.0848 -> 13.08
    assert lines_by_description(result)["standing_charge"].amount == D("13.08")


def test_february_of_a_common_year_has_28_days():
    result = _bill(date(2023, 2, 1), date(2023, 3, 1), tariff(standing="0.4512"))

    # 28 x 0.4512 = 12.6336 -> 12.63
    assert lines_by_description(result)["standing_charge"].amount == D("12.63")


def test_a_period_from_month_end_to_month_end_counts_days_half_open():
    # [31 Jan, 29 Feb): 31 Jan + 1..28 Feb = 29 days in 2024
    result = _bill(date(2024, 1, 31), date(2024, 2, 29), tariff(standing="1.00"))

    line = lines_by_description(result)["standing_charge"]
    assert (line.quantity, line.amount) == (D("29.000"), D("29.00"))


def test_a_year_across_new_year_counts_each_day_once():
    # [1 Dec 2023, 1 Dec 2024) holds 29 Feb 2024: 366 days x 0.10 = 36.60
    result = _bill(date(2023, 12, 1), date(2024, 12, 1), tariff(standing="0.10"))

    assert lines_by_description(result)["standing_charge"].quantity == D("366.000")
    assert result.total_excl_tax == D("36.60")


def test_a_zero_standing_charge_adds_no_line():
    result = _bill(MARCH, APRIL, tariff(standing="0"))

    assert result.ok and result.lines == ()
