"""Dunning and payment-arrangement arithmetic, pure: levels and their dates, the next step of an open item, checks of
a tenant's levels, instalment schedules and how payments cover them. No database, no Flask."""
from __future__ import annotations

import calendar
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")
LEVEL_POSITIONS = (1, 2, 3)  # 1 reminder, 2 second reminder, 3 formal notice
MAX_FEE = Decimal("1000.00")


@dataclass(frozen=True)
class Level:
    position: int
    delay_days: int  # after the bill's due date
    fee: Decimal
    channel: str  # "letter" or "email"


@dataclass(frozen=True)
class Limits:
    """What a customer may agree alone in the portal; `grace_days` applies to every arrangement."""

    portal_arrangements: bool
    max_instalments: int
    max_days: int
    min_instalment: Decimal
    grace_days: int


DEFAULT_LEVELS = (
    Level(1, 10, Decimal("0.00"), "email"),
    Level(2, 25, Decimal("5.00"), "email"),
    Level(3, 40, Decimal("15.00"), "letter"),
)
DEFAULT_LIMITS = Limits(portal_arrangements=True, max_instalments=6, max_days=180, min_instalment=Decimal("20.00"),
                        grace_days=5)


class LevelsRefused(ValueError):
    """`problems`: (position, field, code) for each value that cannot be used."""

    def __init__(self, problems: list[tuple[int, str, str]]):
        super().__init__(f"dunning levels refused: {problems}")
        self.problems = problems


def check_levels(levels: Sequence[Level]) -> None:
    """Three levels, delays from 1 to 365 days rising strictly, fees from 0 to 1,000.00 in cents, a known channel."""
    problems: list[tuple[int, str, str]] = []
    if sorted(level.position for level in levels) != list(LEVEL_POSITIONS):
        raise LevelsRefused([(0, "levels", "count")])
    previous = 0
    for level in sorted(levels, key=lambda lv: lv.position):
        if not 1 <= level.delay_days <= 365:
            problems.append((level.position, "delay_days", "range"))
        elif level.delay_days <= previous:
            problems.append((level.position, "delay_days", "order"))
        previous = max(previous, level.delay_days)
        if level.fee < 0 or level.fee > MAX_FEE or level.fee != level.fee.quantize(CENT):
            problems.append((level.position, "fee", "range"))
        if level.channel not in ("letter", "email"):
            problems.append((level.position, "channel", "unknown"))
    if problems:
        raise LevelsRefused(problems)


@dataclass(frozen=True)
class NextStep:
    level: Level
    on: date  # the day it is (or was) due

    def due(self, today: date) -> bool:
        return self.on <= today


def next_step(*, due_date: date, levels: Sequence[Level], done: Mapping[int, date]) -> NextStep | None:
    """The next level an open item reaches and the day it does, or None once the last level is done.

    A level is due `delay_days` after the bill's due date, and never sooner after the previous step than the gap
    between the two levels' delays: an item whose dunning starts late (after a broken arrangement, a dispute
    rejected) goes through every level with the same spacing instead of getting them all on one day.
    """
    ordered = sorted(levels, key=lambda lv: lv.position)
    previous: Level | None = None
    for level in ordered:
        if level.position in done:
            previous = level
            continue
        on = due_date + timedelta(days=level.delay_days)
        if previous is not None:
            on = max(on, done[previous.position] + timedelta(days=level.delay_days - previous.delay_days))
        return NextStep(level, on)
    return None


# --- payment arrangements ---------------------------------------------------------------------------------------

def add_months(day: date, months: int) -> date:
    """The same day `months` later, the month's last day when it has fewer (31 January + 1 month: 28/29 February)."""
    month0 = day.month - 1 + months
    year, month = day.year + month0 // 12, month0 % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def split_evenly(total: Decimal, count: int) -> list[Decimal]:
    """`count` amounts in cents summing exactly to `total`: equal ones rounded down, the last takes the rest."""
    if count < 1 or total <= 0:
        raise ValueError("a positive total in at least one instalment")
    share = (total / count).quantize(CENT, rounding="ROUND_DOWN")
    if share <= 0:
        raise ValueError("fewer cents than instalments")
    return [share] * (count - 1) + [(total - share * (count - 1)).quantize(CENT, rounding=ROUND_HALF_UP)]


def monthly_schedule(*, total: Decimal, count: int, first: date) -> list[tuple[date, Decimal]]:
    """Instalments a month apart from `first`, amounts from `split_evenly`."""
    return [(add_months(first, k), amount) for k, amount in enumerate(split_evenly(total, count))]


class ScheduleRefused(ValueError):
    def __init__(self, code: str, **details):
        super().__init__(code)
        self.code = code
        self.details = details


STAFF_MAX_INSTALMENTS = 36
STAFF_MAX_DAYS = 3 * 365


def check_schedule(*, total: Decimal, instalments: Sequence[tuple[date, Decimal]], today: date,
                   limits: Limits, by_customer: bool) -> None:
    """Instalments in date order from today on, amounts in cents above zero summing exactly to `total`; for a
    customer alone, within the tenant's limits (staff agree longer ones, up to three years)."""
    if not instalments:
        raise ScheduleRefused("empty")
    most = limits.max_instalments if by_customer else STAFF_MAX_INSTALMENTS
    longest = limits.max_days if by_customer else STAFF_MAX_DAYS
    if len(instalments) > most:
        raise ScheduleRefused("too_many", most=most)
    previous = None
    for day, amount in instalments:
        if amount <= 0 or amount != amount.quantize(CENT):
            raise ScheduleRefused("amount")
        if day < today:
            raise ScheduleRefused("past")
        if previous is not None and day <= previous:
            raise ScheduleRefused("order")
        if (day - today).days > longest:
            raise ScheduleRefused("too_long", days=longest)
        previous = day
    if sum((amount for _day, amount in instalments), Decimal("0")) != total:
        raise ScheduleRefused("sum", total=total)
    if by_customer and len(instalments) > 1 and min(a for _d, a in instalments) < limits.min_instalment:
        raise ScheduleRefused("too_small", least=limits.min_instalment)


@dataclass(frozen=True)
class InstalmentState:
    position: int
    due_date: date
    amount: Decimal
    paid: Decimal  # of this instalment, from the payments counted in order
    status: str  # "paid", "partly_paid", "due", "missed"


def instalment_states(*, instalments: Sequence[tuple[date, Decimal]], paid: Decimal, today: date,
                      grace_days: int) -> list[InstalmentState]:
    """Payments count towards the instalments in order; one not fully paid `grace_days` after its date is missed."""
    left = max(paid, Decimal("0"))
    out = []
    for position, (day, amount) in enumerate(instalments, start=1):
        covered = min(left, amount)
        left -= covered
        if covered == amount:
            status = "paid"
        elif today > day + timedelta(days=grace_days):
            status = "missed"
        elif covered > 0:
            status = "partly_paid"
        else:
            status = "due"
        out.append(InstalmentState(position, day, amount, covered.quantize(CENT), status))
    return out


def arrangement_outcome(states: Sequence[InstalmentState]) -> str:
    """"completed" when every instalment is paid, "broken" when one is missed, else "active"."""
    if all(s.status == "paid" for s in states):
        return "completed"
    if any(s.status == "missed" for s in states):
        return "broken"
    return "active"
