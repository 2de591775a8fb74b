"""Down-payment plans: instalments summing exactly to the annual amount, and the annual true-up."""
from datetime import date

import pytest

from domain.billing.engine import instalment_schedule, true_up

from .inputs import D


def test_twelve_instalments_put_the_remainder_cents_on_the_last():
    schedule = instalment_schedule(estimated_annual_amount=D("1000.00"), count=12, first_due=date(2024, 1, 5))

    # 1000.00 / 12 = 83.333... -> 83.33 eleven times = 916.63; the last 1000.00 - 916.63 = 83.37
    assert [item.amount for item in schedule] == [D("83.33")] * 11 + [D("83.37")]
    assert sum(item.amount for item in schedule) == D("1000.00")
    assert [item.number for item in schedule] == list(range(1, 13))


def test_ten_instalments_sum_exactly_to_the_annual_amount():
    schedule = instalment_schedule(estimated_annual_amount=D("1234.56"), count=10, first_due=date(2024, 1, 5))

    # 123.456 -> 123.45 nine times = 1111.05; last 123.51
    assert [item.amount for item in schedule] == [D("123.45")] * 9 + [D("123.51")]


def test_instalments_fall_monthly_on_the_same_day_clamped_to_short_months():
    schedule = instalment_schedule(estimated_annual_amount=D("120.00"), count=12, first_due=date(2024, 1, 31))

    assert [item.due_date for item in schedule[:4]] == [
        date(2024, 1, 31), date(2024, 2, 29), date(2024, 3, 31), date(2024, 4, 30)]
    assert schedule[-1].due_date == date(2024, 12, 31)


@pytest.mark.parametrize(("count", "months"), [(0, 1), (13, 1), (5, 3), (7, 2), (3, 6)])
def test_a_plan_s_instalments_fit_in_its_year(count, months):
    with pytest.raises(ValueError, match="do not fit in a year"):
        instalment_schedule(estimated_annual_amount=D("100"), count=count, first_due=date(2024, 1, 1), months=months)


def test_instalments_fall_only_monthly_or_every_two_three_or_six_months():
    with pytest.raises(ValueError, match="not every 4"):
        instalment_schedule(estimated_annual_amount=D("100"), count=3, first_due=date(2024, 1, 1), months=4)


def test_quarterly_instalments_sum_exactly_and_keep_the_day_of_month():
    schedule = instalment_schedule(estimated_annual_amount=D("1000.01"), count=4, first_due=date(2024, 1, 31),
                                   months=3)

    assert [(i.number, i.due_date, i.amount) for i in schedule] == [
        (1, date(2024, 1, 31), D("250.00")), (2, date(2024, 4, 30), D("250.00")),
        (3, date(2024, 7, 31), D("250.00")), (4, date(2024, 10, 31), D("250.01"))]


def test_half_yearly_and_bimonthly_schedules():
    half = instalment_schedule(estimated_annual_amount=D("999.99"), count=2, first_due=date(2025, 3, 1), months=6)
    bimonthly = instalment_schedule(estimated_annual_amount=D("100.00"), count=6, first_due=date(2025, 1, 15),
                                    months=2)

    assert [(i.due_date, i.amount) for i in half] == [(date(2025, 3, 1), D("499.99")), (date(2025, 9, 1), D("500.00"))]
    assert [i.due_date for i in bimonthly] == [date(2025, 1, 15), date(2025, 3, 15), date(2025, 5, 15),
                                               date(2025, 7, 15), date(2025, 9, 15), date(2025, 11, 15)]
    assert [i.amount for i in bimonthly] == [D("16.66")] * 5 + [D("16.70")]


def test_true_up_bills_what_the_instalments_did_not_cover_and_plans_the_next_year():
    paid = [D("83.33")] * 11 + [D("83.37")]

    result = true_up(annual_total_incl_tax=D("1100.00"), instalments_paid=paid, next_first_due=date(2025, 1, 5))

    # 1100.00 - 1000.00 = 100.00 due; next year on 1100.00: 91.66 x 11 = 1008.26, last 91.74
    assert (result.instalments_paid, result.balance, result.description) == (D("1000.00"), D("100.00"), "balance_due")
    assert [item.amount for item in result.next_schedule] == [D("91.66")] * 11 + [D("91.74")]
    assert result.next_schedule[0].due_date == date(2025, 1, 5)


def test_true_up_refunds_instalments_paid_beyond_the_actual_bill():
    result = true_up(annual_total_incl_tax=D("950.00"), instalments_paid=[D("100.00")] * 10)

    assert (result.balance, result.description, result.next_schedule) == (D("-50.00"), "balance_refund", ())


def test_the_next_plan_can_use_another_estimate():
    result = true_up(annual_total_incl_tax=D("1000.00"), instalments_paid=[D("100.00")] * 10,
                     next_first_due=date(2025, 1, 1), next_count=10, next_estimated_annual_amount=D("900.00"))

    assert result.description == "balance_nil"
    assert [item.amount for item in result.next_schedule] == [D("90.00")] * 10
