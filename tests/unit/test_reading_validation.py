"""The rules on a customer's reading, without a database: format, dial, rollover, plausibility, window."""
from __future__ import annotations

from datetime import date
from decimal import Decimal
from types import SimpleNamespace

import pytest

from domain.billing.engine.model import MeterIn, ReadingIn
from domain.readings.photos import PhotoRefused, check_photo, photo_token, sniff_image
from domain.readings.validation import ReadingProblem, check_index, expected_consumption, parse_index, plausibility
from domain.readings.window import reading_window, window_is_open

D = Decimal


@pytest.mark.parametrize("typed, value", [
    ("12345", D("12345")), ("12 345", D("12345")), ("12\u202f345,6", D("12345.6")), ("00120", D("120")),
    ("99850.125", D("99850.125")),
])
def test_parses_an_index_as_people_type_it(typed, value):
    assert parse_index(typed) == value


@pytest.mark.parametrize("typed", ["", "abc", "-5", "1.2345", "1,2.3", "1e5"])
def test_refuses_what_is_not_an_index(typed):
    with pytest.raises(ReadingProblem) as problem:
        parse_index(typed)
    assert problem.value.reason == "not_a_number"


def test_consumption_since_the_previous_reading_uses_the_multiplier():
    check = check_index(value=D("1250"), previous=D("1200"), digits=6, multiplier=D("2"), rollover_confirmed=False)

    assert (check.consumption, check.rolled_over) == (D("100.000"), False)


def test_rejects_reading_lower_than_previous():
    with pytest.raises(ReadingProblem) as problem:
        check_index(value=D("120"), previous=D("99850"), digits=5, multiplier=D(1), rollover_confirmed=False)

    assert problem.value.reason == "lower_than_previous" and problem.value.details["previous"] == D("99850")


def test_rollover_on_five_digits_counts_the_turn_of_the_dial():
    check = check_index(value=D("120"), previous=D("99850"), digits=5, multiplier=D(1), rollover_confirmed=True)

    assert (check.consumption, check.rolled_over) == (D("270.000"), True)


def test_rollover_needing_more_than_half_a_turn_is_refused():
    with pytest.raises(ReadingProblem) as problem:
        check_index(value=D("40"), previous=D("50"), digits=5, multiplier=D(1), rollover_confirmed=True)

    assert problem.value.reason == "rollover_not_possible" and problem.value.details["digits"] == 5


def test_rollover_is_accepted_up_to_just_under_half_a_turn():
    below = check_index(value=D("49998"), previous=D("99999"), digits=5, multiplier=D(1), rollover_confirmed=True)
    with pytest.raises(ReadingProblem):
        check_index(value=D("49999"), previous=D("99999"), digits=5, multiplier=D(1), rollover_confirmed=True)

    assert below.consumption == D("49999.000")


def test_index_must_fit_the_dial():
    with pytest.raises(ReadingProblem) as problem:
        check_index(value=D("100000"), previous=D("99850"), digits=5, multiplier=D(1), rollover_confirmed=False)

    assert problem.value.reason == "too_many_digits"


def test_first_reading_has_nothing_to_compare_with():
    check = check_index(value=D("42"), previous=None, digits=5, multiplier=D(1), rollover_confirmed=False)

    assert check.consumption is None


@pytest.mark.parametrize("consumption, plausible", [
    (D("100.000"), True), (D("99.999"), False), (D("900.000"), True), (D("900.001"), False), (D("300"), True),
])
def test_plausibility_bounds_are_a_third_and_three_times_expected(consumption, plausible):
    verdict = plausibility(consumption=consumption, expected=D("300"), factor=D(3))

    assert (verdict.plausible, verdict.low, verdict.high) == (plausible, D("100.000"), D("900.000"))


def test_plausibility_factor_is_configurable():
    assert plausibility(consumption=D("500"), expected=D("100"), factor=D(5)).plausible
    assert not plausibility(consumption=D("500"), expected=D("100"), factor=D(4)).plausible


def test_without_an_expectation_every_consumption_is_plausible():
    assert plausibility(consumption=D("5000"), expected=None).plausible
    assert plausibility(consumption=D("5000"), expected=D("0")).plausible


WATER_METER = MeterIn("W1", 6, D(1), "m3", date(2024, 1, 1))
GAS_METER = MeterIn("G1", 6, D(1), "m3", date(2024, 1, 1))


def test_expected_consumption_follows_the_history():
    readings = (ReadingIn("TOTAL", date(2025, 11, 1), D("100")), ReadingIn("TOTAL", date(2026, 11, 1), D("465")))

    expected = expected_consumption(activity="water", meters=(WATER_METER,), readings=readings,
                                    register_code="TOTAL", share=1, since=date(2026, 11, 1), day=date(2026, 11, 21),
                                    estimated_annual_consumption=None)

    assert expected == D("20.000")


def test_expected_consumption_follows_the_season():
    readings = (ReadingIn("TOTAL", date(2025, 11, 1), D("0")), ReadingIn("TOTAL", date(2026, 11, 1), D("3650")))
    kwargs = dict(activity="gas", meters=(GAS_METER,), readings=readings, register_code="TOTAL", share=1,
                  since=date(2026, 11, 1), estimated_annual_consumption=None)

    january = expected_consumption(**{**kwargs, "since": date(2027, 1, 1)}, day=date(2027, 1, 31))
    july = expected_consumption(**{**kwargs, "since": date(2027, 7, 1)}, day=date(2027, 7, 31))

    assert january > 4 * july  # 1.8 against 0.35 on the gas profile


def test_expected_consumption_falls_back_on_the_annual_estimate():
    expected = expected_consumption(activity="water", meters=(WATER_METER,),
                                    readings=(ReadingIn("TOTAL", date(2026, 11, 1), D("465")),),
                                    register_code="TOTAL", share=1, since=date(2026, 11, 1),
                                    day=date(2026, 12, 1), estimated_annual_consumption=D("730"))

    assert expected == D("60.000")


def test_nothing_expected_without_history_or_estimate():
    assert expected_consumption(activity="water", meters=(WATER_METER,), readings=(), register_code="TOTAL",
                                share=1, since=date(2026, 11, 1), day=date(2026, 12, 1),
                                estimated_annual_consumption=None) is None


@pytest.mark.parametrize("data, kind", [
    (b"\xff\xd8\xff\xe0rest", "image/jpeg"), (b"\x89PNG\r\n\x1a\nrest", "image/png"),
    (b"RIFF\x00\x00\x00\x00WEBPVP8 ", "image/webp"), (b"GIF89a", None), (b"%PDF-1.7", None), (b"<svg", None),
])
def test_image_type_comes_from_the_content(data, kind):
    assert sniff_image(data) == kind


def test_photo_size_and_type_are_checked():
    with pytest.raises(PhotoRefused) as too_big:
        check_photo(b"\xff\xd8\xff" + b"\x00" * (5 * 1024 * 1024))
    with pytest.raises(PhotoRefused) as empty:
        check_photo(b"")

    assert too_big.value.reason == "size" and empty.value.reason == "empty"
    assert check_photo(b"\xff\xd8\xff" + b"\x00" * (5 * 1024 * 1024 - 3)) == "image/jpeg"


def test_photo_token_is_the_random_part_of_the_key():
    key = "tenants/3/readings/0123456789abcdef0123456789abcdef-meter.jpg"

    assert photo_token(key) == "0123456789abcdef0123456789abcdef"
    assert photo_token("tenants/3/readings/evil-meter.jpg") is None and photo_token(None) is None


def _contract(**kwargs):
    values = dict(start_date=date(2024, 1, 1), end_date=None, billed_until=date(2026, 11, 1),
                  billing_frequency="monthly")
    return SimpleNamespace(**{**values, **kwargs})


TENANT = SimpleNamespace(reading_window_days=7)


def test_window_is_the_last_days_of_the_next_billing_period():
    window = reading_window(_contract(), TENANT, date(2026, 11, 10))

    assert window == (date(2026, 11, 24), date(2026, 11, 30))
    assert not window_is_open(window, date(2026, 11, 23)) and window_is_open(window, date(2026, 11, 24))
    assert window_is_open(window, date(2026, 11, 30)) and not window_is_open(window, date(2026, 12, 1))


def test_window_follows_the_billing_frequency_and_moves_on_when_billing_is_late():
    quarterly = reading_window(_contract(billing_frequency="quarterly", billed_until=date(2026, 10, 1)), TENANT,
                               date(2026, 11, 10))
    late = reading_window(_contract(billed_until=date(2026, 10, 1)), TENANT, date(2026, 11, 10))

    assert quarterly == (date(2026, 12, 25), date(2026, 12, 31))
    assert late == (date(2026, 11, 24), date(2026, 11, 30))


def test_window_before_a_contracts_end_and_none_once_ended():
    ending = _contract(end_date=date(2026, 11, 15))

    assert reading_window(ending, TENANT, date(2026, 11, 3)) == (date(2026, 11, 8), date(2026, 11, 14))
    assert reading_window(ending, TENANT, date(2026, 11, 15)) is None
    assert reading_window(_contract(end_date=date(2026, 11, 1)), TENANT, date(2026, 10, 20)) is None


def test_window_never_starts_before_the_period():
    window = reading_window(_contract(), SimpleNamespace(reading_window_days=60), date(2026, 11, 10))

    assert window == (date(2026, 11, 1), date(2026, 11, 30))


def test_window_under_a_budget_plan_follows_the_frequency_up_to_the_true_up():
    # A plan bills the contract until its true-up (billed_until == true_up_on), a year ahead; its meter is still
    # read monthly within the plan's year, the last window ending the day before the true-up.
    planned = _contract(billed_until=date(2027, 12, 1))
    plan = (date(2026, 11, 1), date(2027, 12, 1))

    assert reading_window(planned, TENANT, date(2026, 11, 28), plan=plan) == (date(2026, 11, 24), date(2026, 11, 30))
    assert reading_window(planned, TENANT, date(2027, 11, 2), plan=plan) == (date(2027, 11, 24), date(2027, 11, 30))
    # Without the plan, the window would be after the true-up, over a year ahead.
    assert reading_window(planned, TENANT, date(2026, 11, 28)) == (date(2027, 12, 25), date(2027, 12, 31))
    # The true-up date passed (billed that night): none under this plan.
    assert reading_window(planned, TENANT, date(2027, 12, 1), plan=plan) is None
    # A move-out inside the plan cuts its period.
    moving = _contract(billed_until=date(2027, 12, 1), end_date=date(2027, 3, 10))
    assert reading_window(moving, TENANT, date(2027, 3, 2), plan=plan) == (date(2027, 3, 3), date(2027, 3, 9))
