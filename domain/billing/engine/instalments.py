"""Down-payment (budget billing) plans: instalments summing exactly to an annual amount, and the true-up."""
from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from decimal import Decimal

from .model import BillLine, BillResult, Instalment, TrueUp
from .money import ZERO_MONEY, floor_money
from .periods import add_months

# A deduction line of a true-up bill: an instalment already billed, at its gross amount. Instalments are payments
# on account, not supplies: the line bears no VAT and is outside the bill's tax-exclusive and tax totals.
DEDUCTION_COMPONENT = "instalment"
DEDUCTION_DESCRIPTION = "instalment_deducted"
_ONE = Decimal("1.000")
_NO_RATE = Decimal("0")

MIN_INSTALMENTS = 1
MAX_INSTALMENTS = 12
PLAN_MONTHS = (1, 2, 3, 6)  # months between two instalments: monthly, bimonthly, quarterly, half-yearly


def instalment_schedule(*, estimated_annual_amount: Decimal, count: int, first_due: date,
                        months: int = 1) -> tuple[Instalment, ...]:
    """`count` instalments `months` apart from `first_due` (monthly 10 to 12, or e.g. 4 quarterly), all within the
    plan's year (count x months <= 12): each the annual amount / count rounded down to the cent, the last one
    taking the remainder cents, so they sum exactly to the annual amount. Due dates keep the first one's day of
    month, clamped to shorter months (31 Jan, 28 Feb, 31 Mar...)."""
    if months not in PLAN_MONTHS:
        raise ValueError(f"instalments fall every {PLAN_MONTHS} months, not every {months}")
    if not MIN_INSTALMENTS <= count or count * months > MAX_INSTALMENTS:
        raise ValueError(f"{count} instalments every {months} months do not fit in a year")
    if estimated_annual_amount < 0:
        raise ValueError("the estimated annual amount of an instalment plan cannot be negative")
    regular = floor_money(estimated_annual_amount / count)
    last = estimated_annual_amount - regular * (count - 1)
    return tuple(
        Instalment(number, add_months(first_due, (number - 1) * months), regular if number < count else last)
        for number in range(1, count + 1)
    )


def true_up(*, annual_total_incl_tax: Decimal, instalments_paid: Iterable[Decimal],
            next_first_due: date | None = None, next_count: int = 12,
            next_estimated_annual_amount: Decimal | None = None, next_months: int = 1) -> TrueUp:
    """The year's balance: actual annual bill total (tax included) minus the instalments paid. Positive: the
    customer owes it; negative: a refund. With `next_first_due`, also the next year's schedule, on
    `next_estimated_annual_amount` or, by default, on this year's actual total (never below zero)."""
    paid = sum(instalments_paid, ZERO_MONEY)
    balance = annual_total_incl_tax - paid
    description = "balance_due" if balance > 0 else "balance_refund" if balance < 0 else "balance_nil"
    schedule: tuple[Instalment, ...] = ()
    if next_first_due is not None:
        amount = annual_total_incl_tax if next_estimated_annual_amount is None else next_estimated_annual_amount
        schedule = instalment_schedule(estimated_annual_amount=max(amount, ZERO_MONEY), count=next_count,
                                       first_due=next_first_due, months=next_months)
    return TrueUp(annual_total_incl_tax, paid, balance, description, schedule)


def true_up_bill(*, consumption: BillResult, instalments: Iterable[Instalment], months: int = 1) -> BillResult:
    """The true-up bill: the period's consumption priced as usual (its lines, its tax totals, its net, VAT and
    gross totals unchanged), then one deduction line per instalment billed at its gross amount.

    The result's `total_excl_tax` and `total_tax` are the consumption's; `total_incl_tax` is the amount left to
    pay (negative: to refund) = the consumption's gross total - the instalments. Deduction lines are no taxable
    supply: amount = amount_incl_tax = -instalment, quantity 1 item, never part of a tax total. So a bill's lines
    other than deductions still sum to `total_excl_tax`, and the ledger posts `total_incl_tax` as it does for
    any bill (the instalment bills were posted when issued).
    """
    if not consumption.ok:
        raise ValueError("a bill with problems cannot be trued up")
    deductions = tuple(
        BillLine(DEDUCTION_COMPONENT, DEDUCTION_DESCRIPTION, item.due_date, add_months(item.due_date, months), _ONE,
                 "item", item.amount, -item.amount, _NO_RATE, False, -item.amount, None)
        for item in sorted(instalments, key=lambda item: (item.due_date, item.number))
    )
    paid = sum((line.unit_price for line in deductions), ZERO_MONEY)
    return BillResult(
        "true_up", consumption.period_start, consumption.period_end, (*consumption.lines, *deductions),
        consumption.tax_totals, consumption.total_excl_tax, consumption.total_tax,
        consumption.total_incl_tax - paid, consumption.consumption, consumption.estimated,
        consumption.estimated_readings, consumption.regularised_from,
    )
