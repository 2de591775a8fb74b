"""Interval data, the pure rules: intervals per local day (daylight-saving days too), value checks, exact totals,
the packed storage form and daily totals."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from domain.readings.interval_checks import (
    DayTotal,
    check_day,
    daily_totals,
    day_total,
    intervals_in_day,
    pack,
    unpack,
)

PARIS = "Europe/Paris"
TODAY = date(2026, 11, 28)


def codes(problems):
    return {p.code: p.details for p in problems}


@pytest.mark.parametrize(("day", "zone", "minutes", "expected"), [
    (date(2026, 11, 2), PARIS, 30, 48),
    (date(2026, 3, 29), PARIS, 30, 46),   # clocks go forward at 02:00
    (date(2026, 10, 25), PARIS, 30, 50),  # clocks go back at 03:00
    (date(2026, 10, 25), "Europe/London", 30, 50),
    (date(2026, 10, 25), "Europe/Paris", 15, 100),
    (date(2026, 3, 29), "Europe/Paris", 60, 23),
    (date(2026, 10, 25), "UTC", 30, 48),
    (date(2026, 11, 1), "America/New_York", 30, 50),  # not Europe's day
])
def test_a_local_day_has_as_many_intervals_as_its_hours_allow(day, zone, minutes, expected):
    assert intervals_in_day(day, zone, minutes) == expected


def test_a_normal_day_of_48_valid_half_hours_has_no_problem():
    values = [Decimal("0.125")] * 48

    assert check_day(day=date(2026, 11, 2), values=values, zone=PARIS, today=TODAY) == []


def test_a_dst_day_needs_its_own_count():
    short, long_ = [Decimal("1")] * 46, [Decimal("1")] * 50

    assert check_day(day=date(2026, 3, 29), values=short, zone=PARIS, today=TODAY) == []
    assert check_day(day=date(2026, 10, 25), values=long_, zone=PARIS, today=TODAY) == []
    assert codes(check_day(day=date(2026, 10, 25), values=[Decimal(1)] * 48, zone=PARIS, today=TODAY)) == {
        "interval_count": {"expected": 50, "given": 48}}


def test_negative_too_precise_and_huge_values_are_named_by_position():
    values = [Decimal("0.1")] * 48
    values[0], values[4], values[9] = Decimal("-0.001"), Decimal("0.0001"), Decimal("1e12")

    problems = codes(check_day(day=date(2026, 11, 2), values=values, zone=PARIS, today=TODAY))

    assert problems == {"negative": {"intervals": [1]}, "too_many_decimals": {"intervals": [5]},
                        "too_large": {"intervals": [10]}}


def test_a_day_not_over_yet_or_from_another_age_is_refused():
    not_over = codes(check_day(day=TODAY, values=[Decimal(0)] * 48, zone=PARIS, today=TODAY))
    far_future = codes(check_day(day=date(9999, 12, 31), values=[Decimal(0)] * 48, zone=PARIS, today=TODAY))
    year_one = codes(check_day(day=date(1, 1, 1), values=[Decimal(0)] * 48, zone=PARIS, today=TODAY))

    assert not_over == far_future == {"day_not_over": {"today": "2026-11-28"}}
    assert year_one == {"day_too_old": {"earliest": "2000-01-01"}}


def test_the_day_total_is_the_exact_sum():
    values = [Decimal("0.1")] * 30 + [Decimal("0.333")] * 18

    assert day_total(values) == Decimal("8.994")
    assert day_total([Decimal("0.001")] * 50) == Decimal("0.050")


@pytest.mark.parametrize("values", [
    [Decimal("0.125"), Decimal("0"), Decimal("4294967.295")],  # fits 4 bytes each
    [Decimal("4294967.296"), Decimal("0.001"), Decimal("999999999.999")],  # needs 8
])
def test_packed_values_come_back_exactly(values):
    data = pack(values)

    assert unpack(data) == tuple(values)
    assert len(data) == 1 + len(values) * (4 if values[-1] < Decimal("4294967.296") else 8)


def test_forty_eight_half_hours_pack_into_193_bytes():
    assert len(pack([Decimal("0.5")] * 48)) == 193


def test_daily_totals_need_every_register_that_has_data():
    rows = [("PEAK", date(2026, 11, 1), Decimal("3.5")), ("OFFPEAK", date(2026, 11, 1), Decimal("1.25")),
            ("PEAK", date(2026, 11, 2), Decimal("2"))]

    totals = daily_totals(rows, date(2026, 11, 1), date(2026, 11, 3))

    assert totals == [DayTotal(date(2026, 11, 1), Decimal("4.75")), DayTotal(date(2026, 11, 2), None),
                      DayTotal(date(2026, 11, 3), None)]
