"""When customers are invited to read their meter: the last days of a contract's next billing period."""
from __future__ import annotations

from datetime import date, timedelta

from domain.billing.engine.periods import add_months

# Months per billing frequency, as billing runs cut periods (domain/billing/chunk_inputs.py).
FREQUENCY_MONTHS = {"monthly": 1, "bimonthly": 2, "quarterly": 3, "biannual": 6, "annual": 12}
_MAX_PERIODS = 1200  # a contract never billed for a century still ends the search


def next_period(*, start_date: date, end_date: date | None, billed_until: date | None, frequency: str,
                today: date) -> tuple[date, date] | None:
    """`[start, end)` of the first billing period still to bill whose last day is today or later.

    Periods follow one another from `billed_until` (the contract's start when never billed), each the
    frequency's months long, as billing runs cut them; the contract's end date cuts the final one. None when
    the contract is fully billed or its final period ended before today.
    """
    months = FREQUENCY_MONTHS.get(frequency, 1)
    start = billed_until or start_date
    for _ in range(_MAX_PERIODS):
        if end_date is not None and start >= end_date:
            return None
        end = add_months(start, months)
        if end_date is not None and end > end_date:
            end = end_date
        if end - timedelta(days=1) >= today:
            return start, end
        start = end
    return None


def reading_window(contract, tenant, today: date, *, plan: tuple[date, date] | None = None
                   ) -> tuple[date, date] | None:
    """The days, both included, when the customer is asked to read the meter of `contract`:
    `tenant.reading_window_days` days up to the last day of the contract's next billing period.

    The period `[start, end)` ends before `end`, so the window is `(end - days, end - 1 day)`, never starting
    before the period does. It may lie ahead of `today` (the page says when to read) or contain it.
    None for a contract that has ended or is fully billed.

    Under an active budget plan (`plan`: its `(start_on, true_up_on)`) the contract is billed until the true-up
    (domain/billing/down_payments.py), yet its meter is still read on the contract's billing frequency within
    the plan's year (the readings keep the true-up actual), the last window ending the day before the
    true-up, whose bill uses that reading; not a period after it, a year or more ahead.
    """
    if plan is not None:
        start_on, true_up_on = plan
        end_date = true_up_on if contract.end_date is None else min(contract.end_date, true_up_on)
        period = next_period(start_date=contract.start_date, end_date=end_date, billed_until=start_on,
                             frequency=contract.billing_frequency, today=today)
    else:
        period = next_period(start_date=contract.start_date, end_date=contract.end_date,
                             billed_until=contract.billed_until, frequency=contract.billing_frequency, today=today)
    if period is None:
        return None
    start, end = period
    days = max(int(tenant.reading_window_days or 0), 1)
    return max(end - timedelta(days=days), start), end - timedelta(days=1)


def window_is_open(window: tuple[date, date] | None, today: date) -> bool:
    """Whether `today` falls within `window` (as returned by `reading_window`)."""
    return window is not None and window[0] <= today <= window[1]
