"""Interval (half-hourly) data of smart meters, the pure part: how many intervals a day has in the tenant's time
zone, the checks on a day's values, their compact storage form and daily totals. No database, no Flask.

A day is a date in the tenant's time zone: its intervals run from local midnight to the next local midnight, so a
day has 48 half-hours, 46 on the day clocks go forward and 50 on the day they go back (Europe). The length comes
from the two midnights converted to UTC, never from wall-clock arithmetic (which would always give 24 hours).

Storage: one row per register and day holding the values as thousandths (every value has at most three decimals,
so the integers are exact) packed big-endian in a binary column, 4 bytes each when every value fits, else 8; the
first byte says which. 48 values take 193 bytes, the same on PostgreSQL (bytea) and SQLite (BLOB), one code path;
the day's total sits beside them in a NUMERIC column for the reads that only need totals (the portal's page).
"""
from __future__ import annotations

import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

INTERVAL_MINUTES = (15, 30, 60)
DEFAULT_INTERVAL_MINUTES = 30
# One interval's quantity stays below this (far above any meter's half-hour), so the total fits NUMERIC(16, 3).
MAX_INTERVAL_VALUE = Decimal("1000000000")
THOUSANDTH = Decimal("0.001")
# No smart meter sent data before this; it also keeps the local midnights within what datetime can convert.
EARLIEST_DAY = date(2000, 1, 1)
_NARROW, _WIDE = 4, 8


def intervals_in_day(day: date, zone: ZoneInfo | str, minutes: int = DEFAULT_INTERVAL_MINUTES) -> int:
    """How many intervals of `minutes` the local day has in `zone` (48 half-hours, 46 or 50 when clocks change)."""
    if isinstance(zone, str):
        zone = ZoneInfo(zone)
    start = datetime.combine(day, time(0), zone).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=1), time(0), zone).astimezone(UTC)
    return int((end - start).total_seconds()) // (minutes * 60)


@dataclass(frozen=True, slots=True)
class DayProblem:
    """Why one day's data is refused: `code` is worded by the interface; `details` the figures it quotes."""

    code: str
    details: dict = field(default_factory=dict)


def check_day(*, day: date, values: Sequence[Decimal], zone: ZoneInfo | str, today: date,
              minutes: int = DEFAULT_INTERVAL_MINUTES) -> list[DayProblem]:
    """Every problem of one register's day of interval values (empty when it can be stored).

    The day must be over (before today in the tenant's zone): a day's values are complete only then; a day not
    over or before EARLIEST_DAY is refused for that alone (its length is not worth counting)."""
    problems = []
    if minutes not in INTERVAL_MINUTES:
        return [DayProblem("interval_minutes", {"allowed": list(INTERVAL_MINUTES)})]
    if day >= today:
        return [DayProblem("day_not_over", {"today": today.isoformat()})]
    if day < EARLIEST_DAY:
        return [DayProblem("day_too_old", {"earliest": EARLIEST_DAY.isoformat()})]
    expected = intervals_in_day(day, zone, minutes)
    if len(values) != expected:
        problems.append(DayProblem("interval_count", {"expected": expected, "given": len(values)}))
    negative, too_precise, too_large, not_number = [], [], [], []
    for position, value in enumerate(values, start=1):
        if not value.is_finite():
            not_number.append(position)
        elif value < 0:
            negative.append(position)
        elif value >= MAX_INTERVAL_VALUE:
            too_large.append(position)
        elif value != value.quantize(THOUSANDTH):
            too_precise.append(position)
    for code, positions in (("not_a_number", not_number), ("negative", negative), ("too_large", too_large),
                            ("too_many_decimals", too_precise)):
        if positions:
            problems.append(DayProblem(code, {"intervals": positions}))
    return problems


def day_total(values: Iterable[Decimal]) -> Decimal:
    """The day's quantity: the exact sum of its intervals (each has at most three decimals)."""
    return sum(values, Decimal(0)).quantize(THOUSANDTH)


def pack(values: Sequence[Decimal]) -> bytes:
    """Checked values (non-negative, three decimals at most) as packed thousandths (see the module's note)."""
    thousandths = [int(value.scaleb(3)) for value in values]
    width = _NARROW if all(n < 2 ** 32 for n in thousandths) else _WIDE
    code = "I" if width == _NARROW else "Q"
    return bytes([width]) + struct.pack(f">{len(thousandths)}{code}", *thousandths)


def unpack(data: bytes) -> tuple[Decimal, ...]:
    width = data[0]
    if width not in (_NARROW, _WIDE) or (len(data) - 1) % width:
        raise ValueError("not packed interval values")
    code = "I" if width == _NARROW else "Q"
    numbers = struct.unpack(f">{(len(data) - 1) // width}{code}", data[1:])
    return tuple(Decimal(n).scaleb(-3) for n in numbers)


@dataclass(frozen=True, slots=True)
class DayTotal:
    day: date
    quantity: Decimal | None  # None: some register with interval data in the period has nothing that day


def daily_totals(rows: Iterable[tuple[str, date, Decimal]], first_day: date, last_day: date) -> list[DayTotal]:
    """Each day of [first_day, last_day], oldest first, with the sum of its registers' totals (`rows` are
    (register code, day, total)). Registers are named by code across meters, as the monthly figures are: a day
    counts only when every code that has interval data in the period has that day (peak without off-peak would
    show half a day)."""
    by_day: dict[date, dict[str, Decimal]] = {}
    codes: set[str] = set()
    for code, day, total in rows:
        if first_day <= day <= last_day:
            by_day.setdefault(day, {})[code] = by_day.get(day, {}).get(code, Decimal(0)) + total
            codes.add(code)
    result = []
    day = first_day
    while day <= last_day:
        found = by_day.get(day, {})
        complete = bool(codes) and codes <= set(found)
        result.append(DayTotal(day, sum(found.values(), Decimal(0)) if complete else None))
        day += timedelta(days=1)
    return result
