"""Problems a billing run records and goes past: reported in the result, never raised; bad calls raise."""
from datetime import date

import pytest

from domain.billing.engine import compute_bill

from .inputs import D, contract, meter, price, reading, tariff

MARCH, APRIL = date(2024, 3, 1), date(2024, 4, 1)
PRICED = tariff(price("energy", "0.25"))


def _codes(**kwargs):
    kwargs.setdefault("tariffs", (PRICED,))
    options = kwargs.pop("options", {})
    result = compute_bill(contract=contract(**kwargs), period_start=MARCH, period_end=APRIL, **options)
    assert result.ok == (not result.problems)
    if result.problems:
        assert result.lines == ()
    return [problem.code for problem in result.problems]


def test_an_index_going_down_by_more_than_half_the_dial_is_a_negative_consumption():
    assert _codes(readings=(reading(MARCH, "5000"), reading(APRIL, "4990"))) == ["negative_consumption"]


def test_a_lower_index_that_would_be_an_implausible_rollover_is_a_negative_consumption():
    # 99900 -> 100 on 5 digits is 200 kWh in March for a 1000 kWh/year contract: a plausible rollover.
    # 90000 -> 100 would be 10100 kWh, over 10x the expected 1000 x 32.55/364.75 = 89: an error, not a rollover.
    plausible = _codes(meters=(meter(digits=5),), readings=(reading(MARCH, "99900"), reading(APRIL, "100")), eac="1000")
    backwards = _codes(meters=(meter(digits=5),), readings=(reading(MARCH, "90000"), reading(APRIL, "100")), eac="1000")

    assert plausible == [] and backwards == ["negative_consumption"]


def test_a_consumption_over_ten_times_the_expected_is_implausible():
    # expected in March for 1200 kWh/year: about 1200 x 32.55/364.75 = 107 kWh; 1100 kWh is over 10x that
    readings = (reading(MARCH, "0"), reading(APRIL, "1100"))

    assert _codes(readings=readings, eac="1200") == ["implausible_consumption"]


def test_staff_can_confirm_an_implausible_consumption():
    readings = (reading(MARCH, "0"), reading(APRIL, "1100"))

    assert _codes(readings=readings, eac="1200", options={"plausibility_factor": None}) == []


def test_the_expected_consumption_comes_from_history_when_there_is_some():
    # about 100 kWh a month since January 2023; 2000 kWh in March is implausible even without an annual estimate
    history = tuple(reading(date(2023, month, 1), 100 * month) for month in range(1, 13))
    readings = (*history, reading(date(2024, 1, 1), "1300"), reading(MARCH, "1500"), reading(APRIL, "3500"))

    assert _codes(readings=readings) == ["implausible_consumption"]


def test_a_part_of_the_period_without_tariff_is_reported():
    early = tariff(price("energy", "0.25"), effective_to=date(2024, 3, 20))

    assert _codes(readings=(reading(MARCH, "0"), reading(APRIL, "1")), tariffs=(early,)) == ["no_tariff"]


def test_two_tariffs_in_force_on_the_same_days_are_reported():
    other = tariff(price("energy", "0.30"), effective_from=date(2024, 3, 10), name="other")

    assert _codes(readings=(reading(MARCH, "0"), reading(APRIL, "1")), tariffs=(PRICED, other)) == [
        "overlapping_tariffs"]


def test_days_without_a_meter_are_reported():
    late = meter(installed_on=date(2024, 3, 5))

    assert _codes(meters=(late,), readings=(reading(date(2024, 3, 5), "0"), reading(APRIL, "1"))) == [
        "missing_meter"]


def test_readings_that_cannot_be_estimated_are_reported():
    assert _codes(readings=()) == ["missing_readings"]
    assert _codes(readings=(reading(MARCH, "0"),)) == ["missing_readings"]  # no history, no annual estimate


def test_an_index_that_does_not_fit_the_dial_is_reported():
    assert _codes(meters=(meter(digits=4),), readings=(reading(MARCH, "0"), reading(APRIL, "12000"))) == [
        "invalid_reading"]


def test_registers_the_tariff_does_not_price_are_reported():
    hphc = tariff(price("energy", "0.27", register="PEAK"), price("energy", "0.20", register="OFFPEAK"))

    assert _codes(tariffs=(hphc,), readings=(reading(MARCH, "0"), reading(APRIL, "1"))) == ["unpriced_register"]


def test_a_subscribed_power_price_without_subscribed_power_is_reported():
    powered = tariff(price("energy", "0.07"), price("subscribed_power", "48"))

    assert _codes(activity="heating", tariffs=(powered,), readings=(reading(MARCH, "0"), reading(APRIL, "1"))) == [
        "missing_subscribed_power"]


def test_gas_without_calorific_value_is_reported():
    assert _codes(activity="gas", meters=(meter(unit="m3"),), readings=(reading(MARCH, "0"), reading(APRIL, "1"))) == [
        "missing_conversion_factor"]


def test_a_period_outside_the_contract_is_reported():
    assert _codes(start=date(2024, 3, 10), readings=(reading(MARCH, "0"), reading(APRIL, "1"))) == [
        "period_outside_contract"]


def test_a_result_with_problems_has_no_lines_and_zero_totals():
    result = compute_bill(contract=contract(tariffs=(), readings=(reading(MARCH, "0"), reading(APRIL, "1"))),
                          period_start=MARCH, period_end=APRIL)

    assert not result.ok and result.exceptions == result.problems
    assert (result.lines, result.total_incl_tax) == ((), D("0.00"))
    assert "2024-03-01" in result.problems[0].message


@pytest.mark.parametrize("start, end", [(APRIL, MARCH), (MARCH, MARCH)])
def test_a_period_ending_before_it_starts_is_a_programming_error(start, end):
    with pytest.raises(ValueError, match="must end after it starts"):
        compute_bill(contract=contract(tariffs=(PRICED,)), period_start=start, period_end=end)


def test_a_back_billing_limit_needs_the_bill_date():
    with pytest.raises(ValueError, match="bill date"):
        compute_bill(contract=contract(tariffs=(PRICED,)), period_start=MARCH, period_end=APRIL,
                     back_billing_limit_months=12)


def test_two_meters_in_service_on_the_same_days_are_reported():
    meters = (meter("A"), meter("B", installed_on=date(2024, 3, 10)))

    assert _codes(meters=meters, readings=(reading(MARCH, "0", serial="A"), reading(APRIL, "1", serial="A"))) == [
        "overlapping_meters"]


def _params(**kwargs):
    kwargs.setdefault("tariffs", (PRICED,))
    result = compute_bill(contract=contract(**kwargs), period_start=MARCH, period_end=APRIL)
    return [problem.params for problem in result.problems]


def test_a_problem_keeps_the_values_its_message_is_made_of_for_staff_in_other_languages():
    early = tariff(price("energy", "0.25"), effective_to=date(2024, 3, 20))
    late = meter(installed_on=date(2024, 3, 5))

    no_tariff = _params(readings=(reading(MARCH, "0"), reading(APRIL, "1")), tariffs=(early,))
    no_meter = _params(meters=(late,), readings=(reading(date(2024, 3, 5), "0"), reading(APRIL, "1")))
    implausible = _params(readings=(reading(MARCH, "0"), reading(APRIL, "1100")), eac="1200")
    went_down = _params(readings=(reading(MARCH, "5000"), reading(APRIL, "4990")))

    assert no_tariff == [{"detail": "no_tariff", "start": date(2024, 3, 20), "end": APRIL}]
    assert no_meter == [{"detail": "no_meter", "start": MARCH, "end": date(2024, 3, 5)}]
    assert implausible[0]["detail"] == "implausible" and implausible[0]["quantity"] == D("1100")
    assert went_down[0] == {**went_down[0], "detail": "index_went_down", "low": D("5000"), "high": D("4990")}
