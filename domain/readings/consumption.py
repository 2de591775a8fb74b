"""Monthly consumption from meter readings (pure, no I/O): each interval between two readings of a register is
spread over the calendar months it covers, in proportion to days.

Only consecutive readings of the same meter and register make an interval (a meter exchange starts afresh).
Estimated readings between two actual readings of the register are left out (the actual readings superseded
them), so those months follow the real consumption. Estimates before the register's first actual reading, or
after its latest one, are the only account of their months: they stay, and flag the months they touch (a
history that starts on an estimated index, as after a takeover or a first estimated bill, still has figures
for its first months). A month is reported only when intervals cover every one of its days.
"""
from __future__ import annotations

import calendar
from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from domain.billing.engine.estimation import wrap
from domain.billing.engine.money import round_quantity
from domain.billing.engine.periods import add_months


@dataclass(frozen=True, slots=True)
class IndexReading:
    read_on: date
    value: Decimal
    estimated: bool = False


@dataclass(frozen=True, slots=True)
class RegisterReadings:
    """The readings of one register of one meter, with what turns index differences into consumption.
    `code` names the register across meters (TOTAL, PEAK...): a month is complete when each code covers it."""

    digits: int
    multiplier: Decimal
    readings: tuple[IndexReading, ...]
    code: str = "TOTAL"


@dataclass(frozen=True, slots=True)
class MonthConsumption:
    month: date  # first day of the month
    quantity: Decimal | None  # None: readings do not cover the whole month
    estimated: bool = False


@dataclass(frozen=True, slots=True)
class MonthComparison:
    month: date
    current: MonthConsumption
    year_before: MonthConsumption

    @property
    def change(self) -> Decimal | None:
        """Relative change against the same month a year earlier (0.25 = +25 %), None when not comparable."""
        now, then = self.current.quantity, self.year_before.quantity
        if now is None or then is None or then == 0:
            return None
        return ((now - then) / then).quantize(Decimal("0.001"))


def month_start(day: date) -> date:
    return day.replace(day=1)


def _kept(readings: tuple[IndexReading, ...]) -> list[IndexReading]:
    ordered = sorted(readings, key=lambda r: (r.read_on, r.estimated))
    actual_days = [r.read_on for r in ordered if not r.estimated]
    first_actual, latest_actual = (actual_days[0], actual_days[-1]) if actual_days else (None, None)
    kept: list[IndexReading] = []
    for reading in ordered:
        if reading.estimated and first_actual is not None and first_actual <= reading.read_on <= latest_actual:
            continue  # superseded: the actual readings on either side give the real consumption
        if kept and kept[-1].read_on == reading.read_on:
            continue  # one index per day: the actual one sorts first
        kept.append(reading)
    return kept


def _interval_quantity(register: RegisterReadings, low: IndexReading, high: IndexReading) -> Decimal:
    modulus = 10 ** register.digits
    moved = high.value - low.value
    if moved < 0:
        wrapped = wrap(moved, modulus)
        # As the billing engine reads a dial: less than half a turn is a rollover, more is a correction.
        moved = wrapped if wrapped * 2 < modulus else moved
    return moved * register.multiplier


def monthly_consumption(registers: list[RegisterReadings] | tuple[RegisterReadings, ...],
                        ) -> dict[date, MonthConsumption]:
    """Consumption per calendar month (summed over registers and meters), for the months the readings cover
    entirely, keyed by the month's first day; quantities rounded half-up to three places once per month."""
    totals: dict[date, Decimal] = defaultdict(Decimal)
    estimated: dict[date, bool] = defaultdict(bool)
    days_by_code: dict[str, dict[date, int]] = {}
    for register in registers:
        kept = _kept(register.readings)
        if len(kept) < 2:
            continue
        days_here = days_by_code.setdefault(register.code, defaultdict(int))
        for low, high in zip(kept, kept[1:], strict=False):
            quantity = _interval_quantity(register, low, high)
            span = (high.read_on - low.read_on).days
            day = low.read_on
            while day < high.read_on:
                next_month = add_months(month_start(day), 1)
                stop = min(next_month, high.read_on)
                days = (stop - day).days
                month = month_start(day)
                totals[month] += quantity * days / span
                days_here[month] += days
                estimated[month] = estimated[month] or low.estimated or high.estimated
                day = stop
    result = {}
    for month in totals:
        length = calendar.monthrange(month.year, month.month)[1]
        complete = all(days.get(month, 0) >= length for days in days_by_code.values())
        result[month] = MonthConsumption(month, round_quantity(totals[month]) if complete else None,
                                         estimated[month])
    return result


def last_months(today: date, count: int = 24) -> list[date]:
    """The `count` complete calendar months before today's month, oldest first."""
    first = add_months(month_start(today), -count)
    return [add_months(first, n) for n in range(count)]


def compare_with_year_before(monthly: dict[date, MonthConsumption], months: list[date]) -> list[MonthComparison]:
    """Each month beside the same month a year earlier (missing months have no quantity)."""
    def get(month: date) -> MonthConsumption:
        return monthly.get(month) or MonthConsumption(month, None)

    return [MonthComparison(month, get(month), get(add_months(month, -12))) for month in months]
