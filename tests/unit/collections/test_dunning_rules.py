"""The dunning and arrangement arithmetic alone: levels' dates and spacing, a tenant's levels checked, instalments
split to the cent, schedules checked against the limits, payments counted towards instalments in order."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from domain.collections.rules import (DEFAULT_LEVELS, DEFAULT_LIMITS, Level, LevelsRefused, ScheduleRefused,
                                      add_months, arrangement_outcome, check_levels, check_schedule,
                                      instalment_states, monthly_schedule, next_step, split_evenly)

DUE = date(2026, 1, 31)
D = Decimal


def test_first_step_is_the_reminder_ten_days_after_the_due_date():
    step = next_step(due_date=DUE, levels=DEFAULT_LEVELS, done={})

    assert (step.level.position, step.on, step.level.fee, step.level.channel) == (1, date(2026, 2, 10), D("0.00"),
                                                                                  "email")
    assert not step.due(date(2026, 2, 9)) and step.due(date(2026, 2, 10))


def test_later_levels_keep_their_spacing_after_a_late_previous_step():
    on_time = next_step(due_date=DUE, levels=DEFAULT_LEVELS, done={1: date(2026, 2, 10)})
    late = next_step(due_date=DUE, levels=DEFAULT_LEVELS, done={1: date(2026, 3, 20)})

    assert (on_time.level.position, on_time.on, on_time.level.fee) == (2, date(2026, 2, 25), D("5.00"))
    assert (late.level.position, late.on) == (2, date(2026, 4, 4))  # 15 days after the late reminder


def test_nothing_follows_the_formal_notice():
    done = {1: date(2026, 2, 10), 2: date(2026, 2, 25), 3: date(2026, 3, 12)}

    assert next_step(due_date=DUE, levels=DEFAULT_LEVELS, done=done) is None


def test_levels_must_rise_and_fees_be_cents_within_bounds():
    with pytest.raises(LevelsRefused) as refused:
        check_levels([Level(1, 10, D("0"), "email"), Level(2, 10, D("5.001"), "email"), Level(3, 400, D("-1"), "fax")])

    assert refused.value.problems == [(2, "delay_days", "order"), (2, "fee", "range"), (3, "delay_days", "range"),
                                      (3, "fee", "range"), (3, "channel", "unknown")]


def test_split_evenly_gives_the_cents_left_to_the_last_instalment():
    assert split_evenly(D("100.00"), 3) == [D("33.33"), D("33.33"), D("33.34")]
    assert sum(split_evenly(D("0.05"), 5)) == D("0.05")
    with pytest.raises(ValueError):
        split_evenly(D("0.02"), 3)


def test_monthly_schedule_keeps_month_ends():
    assert add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert monthly_schedule(total=D("90.00"), count=3, first=date(2026, 12, 31)) == [
        (date(2026, 12, 31), D("30.00")), (date(2027, 1, 31), D("30.00")), (date(2027, 2, 28), D("30.00"))]


@pytest.mark.parametrize(("instalments", "by_customer", "code"), [
    ([], False, "empty"),
    ([(date(2026, 12, 1), D("50.00")), (date(2026, 12, 1), D("50.00"))], False, "order"),
    ([(date(2026, 11, 1), D("100.00"))], False, "past"),
    ([(date(2026, 12, 1), D("50.00")), (date(2027, 1, 1), D("49.99"))], False, "sum"),
    ([(date(2026, 12, 1), D("50.005")), (date(2027, 1, 1), D("49.995"))], False, "amount"),
    ([(date(2026, 12, 1), D("90.00")), (date(2027, 1, 1), D("10.00"))], True, "too_small"),
    ([(date(2026, 12, 1), D("50.00")), (date(2027, 8, 1), D("50.00"))], True, "too_long"),
    ([(date(2026, 12, k), D("12.50")) for k in range(1, 9)], True, "too_many"),
])
def test_schedules_refused_with_their_reason(instalments, by_customer, code):
    with pytest.raises(ScheduleRefused) as refused:
        check_schedule(total=D("100.00"), instalments=instalments, today=date(2026, 11, 28), limits=DEFAULT_LIMITS,
                       by_customer=by_customer)

    assert refused.value.code == code


def test_staff_may_agree_beyond_the_customers_limits():
    long = [(date(2026, 12, 1), D("50.00")), (date(2027, 8, 1), D("50.00"))]

    check_schedule(total=D("100.00"), instalments=long, today=date(2026, 11, 28), limits=DEFAULT_LIMITS,
                   by_customer=False)


def test_payments_cover_instalments_in_order_and_a_late_one_breaks_the_arrangement():
    plan = [(date(2026, 12, 1), D("40.00")), (date(2027, 1, 1), D("40.00")), (date(2027, 2, 1), D("20.00"))]

    within_grace = instalment_states(instalments=plan, paid=D("55.00"), today=date(2027, 1, 6), grace_days=5)
    past_grace = instalment_states(instalments=plan, paid=D("55.00"), today=date(2027, 1, 7), grace_days=5)
    all_paid = instalment_states(instalments=plan, paid=D("100.00"), today=date(2027, 3, 1), grace_days=5)

    assert [(s.paid, s.status) for s in within_grace] == [(D("40.00"), "paid"), (D("15.00"), "partly_paid"),
                                                          (D("0.00"), "due")]
    assert arrangement_outcome(within_grace) == "active"
    assert [s.status for s in past_grace] == ["paid", "missed", "due"] and arrangement_outcome(past_grace) == "broken"
    assert arrangement_outcome(all_paid) == "completed"
