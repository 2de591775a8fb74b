"""Estimation of missing indexes: history average or annual estimate, seasonal profile, consistent readings."""
from datetime import date

from domain.billing.engine import ReadingIn, compute_bill

from .inputs import D, contract, meter, price, reading, tariff

MARCH, APRIL, MAY = date(2024, 3, 1), date(2024, 4, 1), date(2024, 5, 1)
WATER = tariff(price("water", "2.00", "0.055"))


def _water_bill(readings, *, eac=None, start=MARCH, end=APRIL, digits=6):
    subject = contract(activity="water", meters=(meter(unit="m3", digits=digits),), readings=readings,
                       tariffs=(WATER,), eac=eac)
    return compute_bill(contract=subject, period_start=start, period_end=end)


def test_missing_end_reading_is_estimated_from_the_annual_estimate_when_there_is_no_history():
    result = _water_bill((reading(MARCH, "100"),), eac="73")

    # 73 m3/year = 0.2 m3 a day (water profile is flat) x 31 days = 6.2 m3 x 2.00 = 12.40
    assert result.ok and result.estimated
    assert result.consumption[0].quantity == D("6.200") and result.consumption[0].estimated
    assert result.lines[0].amount == D("12.40")
    assert result.estimated_readings == (ReadingIn("TOTAL", APRIL, D("106.200"), True, "M1"),)


def test_history_is_preferred_to_the_annual_estimate():
    history = (reading(date(2023, 3, 1), "100"), reading(MARCH, "173"))

    result = _water_bill(history, eac="365")

    # 73 m3 over 366 days (29 Feb 2024 included); 73 x 31/366 = 6.18306 -> 6.183
    assert result.consumption[0].quantity == D("6.183")
    assert result.estimated_readings[0].value == D("179.183")


def test_an_estimated_end_index_wraps_on_the_dial_like_a_real_one():
    result = _water_bill((reading(MARCH, "9998"),), eac="73", digits=4)

    # 9998 + 6.2 = 10004.2 on a 4-digit dial: 4.2; consumption stays 6.2
    assert result.estimated_readings[0].value == D("4.200")
    assert result.consumption[0].quantity == D("6.200")


def test_a_missing_start_index_is_interpolated_between_the_readings_around_it():
    readings = (reading(date(2024, 1, 1), "100"), reading(APRIL, "191"))

    result = _water_bill(readings)

    # 91 m3 over 91 days (Jan 31 + Feb 29 + Mar 31), flat: 1 March is 60 days in -> 160; March = 191 - 160 = 31
    assert result.estimated_readings == (ReadingIn("TOTAL", MARCH, D("160.000"), True, "M1"),)
    assert result.consumption[0].quantity == D("31.000")


def test_gas_estimates_follow_a_winter_weighted_profile():
    gas = tariff(price("energy", "0.10"))

    def estimate(start, end):
        subject = contract(activity="gas", meters=(meter(unit="m3"),), readings=(reading(start, "0"),),
                           tariffs=(gas,), eac="1200", calorific="36")
        return compute_bill(contract=subject, period_start=start, period_end=end).consumption[0].quantity

    january = estimate(date(2024, 1, 1), date(2024, 2, 1))
    july = estimate(date(2024, 7, 1), date(2024, 8, 1))

    # Gas weights per day: January 1.8, July 0.35; a common year weighs 354.8 (sum of weight x days), so
    # January = 1200 x (1.8 x 31) / 354.8 = 188.7260... -> 188.726 and July = 1200 x 10.85 / 354.8 -> 36.697
    assert (january, july) == (D("188.726"), D("36.697"))


def test_water_estimates_are_flat_across_the_year():
    def estimate(start, end):
        return _water_bill((reading(start, "0"),), eac="365", start=start, end=end).consumption[0].quantity

    assert estimate(date(2024, 1, 1), date(2024, 2, 1)) == estimate(date(2024, 7, 1), date(2024, 8, 1)) == D("31.000")


def test_a_bill_after_an_estimated_bill_chains_from_the_stored_estimate():
    readings = (reading(MARCH, "100"), reading(APRIL, "106.2", estimated=True))

    result = _water_bill(readings, eac="73", start=APRIL, end=MAY)

    # still no actual reading: 30 days x 0.2 = 6 m3 from the stored 106.2; nothing to regularise yet
    assert result.estimated and result.regularised_from is None
    assert result.estimated_readings[0].value == D("112.200")
    assert result.consumption[0].quantity == D("6.000")


def test_an_estimated_bill_for_electricity_uses_its_registers_share_of_the_annual_estimate():
    hphc = tariff(price("energy", "0.27", register="PEAK"), price("energy", "0.20", register="OFFPEAK"))
    subject = contract(meters=(meter(registers=("PEAK", "OFFPEAK")),), tariffs=(hphc,), eac="7300",
                       readings=(reading(MARCH, "0", "PEAK"), reading(MARCH, "0", "OFFPEAK")))

    result = compute_bill(contract=subject, period_start=MARCH, period_end=APRIL)

    # each register 3650 kWh/year; March weighs 1.05 x 31 of a 364.75 common year: 3650 x 32.55/364.75 -> 325.723
    assert [item.quantity for item in result.consumption] == [D("325.723"), D("325.723")]
    assert len(result.estimated_readings) == 2
