"""Down-payment (budget billing) plans: monthly instalments summing exactly to an annual amount, and the true-up."""
from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from decimal import Decimal

from .model import Instalment, TrueUp
from .money import ZERO_MONEY, floor_money
from .periods import add_months

MIN_INSTALMENTS = 10
MAX_INSTALMENTS = 12


def instalment_schedule(*, estimated_annual_amount: Decimal, count: int, first_due: date) -> tuple[Instalment, ...]:
    """`count` (10 to 12) monthly instalments from `first_due`: each the annual amount / count rounded down to
    the cent, the last one taking the remainder cents, so they sum exactly to the annual amount. Due dates keep
    the first one's day of month, clamped to shorter months (31 Jan, 28 Feb, 31 Mar...)."""
    if not MIN_INSTALMENTS <= count <= MAX_INSTALMENTS:
        raise ValueError(f"an instalment plan has {MIN_INSTALMENTS} to {MAX_INSTALMENTS} instalments, not {count}")
    if estimated_annual_amount < 0:
        raise ValueError("the estimated annual amount of an instalment plan cannot be negative")
    regular = floor_money(estimated_annual_amount / count)
    last = estimated_annual_amount - regular * (count - 1)
    return tuple(
        Instalment(number, add_months(first_due, number - 1), regular if number < count else last)
        for number in range(1, count + 1)
    )


def true_up(*, annual_total_incl_tax: Decimal, instalments_paid: Iterable[Decimal],
            next_first_due: date | None = None, next_count: int = 12,
            next_estimated_annual_amount: Decimal | None = None) -> TrueUp:
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
                                       first_due=next_first_due)
    return TrueUp(annual_total_incl_tax, paid, balance, description, schedule)
