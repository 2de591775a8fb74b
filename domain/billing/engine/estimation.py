"""Estimation of consumption and of missing meter indexes: seasonal profiles, history averages, annual estimates.

A profile gives each month a relative daily intensity, normalised so that the 365 days of a common year weigh 365.
"Weighted days" over a period are the sum of its days' weights; consumption is estimated as a rate per weighted
day times the weighted days, so a winter month of a gas contract gets more than a summer month of the same length.
"""
from __future__ import annotations

import calendar
from datetime import date, timedelta
from decimal import Decimal

from .money import DAYS_PER_YEAR, round_quantity

# Relative daily consumption by month, January first. Heating and gas follow the heating season (hot water keeps
# summer above zero); electricity is mildly winter-weighted (lighting, some heating); water is flat.
_RAW_PROFILES = {
    "heating": ("2.0", "1.8", "1.4", "0.9", "0.4", "0.15", "0.1", "0.1", "0.3", "0.8", "1.4", "1.9"),
    "gas": ("1.8", "1.6", "1.3", "0.9", "0.6", "0.4", "0.35", "0.35", "0.5", "0.9", "1.3", "1.7"),
    "electricity": ("1.2", "1.15", "1.05", "0.95", "0.9", "0.85", "0.85", "0.85", "0.9", "1.0", "1.1", "1.2"),
    "water": ("1",) * 12,
}

# Enough history to average, recent enough to reflect current habits.
MIN_HISTORY_DAYS = 30
MAX_HISTORY_DAYS = 730


def _normalise(raw: tuple[str, ...]) -> tuple[Decimal, ...]:
    weights = [Decimal(weight) for weight in raw]
    if len(set(weights)) == 1:
        return (Decimal(1),) * 12  # keeps a flat profile's weighted days exact integers
    common_year = sum(weight * calendar.monthrange(2001, month)[1] for month, weight in enumerate(weights, start=1))
    return tuple(weight * DAYS_PER_YEAR / common_year for weight in weights)


PROFILES: dict[str, tuple[Decimal, ...]] = {activity: _normalise(raw) for activity, raw in _RAW_PROFILES.items()}

_weighted_cache: dict[tuple[str, date, date], Decimal] = {}
_WEIGHTED_CACHE_SIZE = 8192


def weighted_days(activity: str, start: date, end: date) -> Decimal:
    """Sum of the profile's daily weights over `[start, end)`. Memoised: a billing run asks for the same few
    periods for thousands of contracts."""
    key = (activity, start, end)
    found = _weighted_cache.get(key)
    if found is not None:
        return found
    weights = PROFILES[activity]
    total = Decimal(0)
    day = start
    while day < end:
        next_month = date(day.year + 1, 1, 1) if day.month == 12 else date(day.year, day.month + 1, 1)
        stop = next_month if next_month < end else end
        total += weights[day.month - 1] * (stop - day).days
        day = stop
    if len(_weighted_cache) >= _WEIGHTED_CACHE_SIZE:
        _weighted_cache.clear()
    _weighted_cache[key] = total
    return total


def wrap(value: Decimal, modulus: int) -> Decimal:
    """An index brought back on the meter's dial (Decimal's % keeps the dividend's sign, hence the fix-up)."""
    value = value % modulus
    return value + modulus if value < 0 else value


def history_rate(*, activity: str, history: list[tuple[object, object]], before: date) -> Decimal | None:
    """Average consumption per weighted day from ACTUAL readings read on or before `before`.

    `history` is `(meter, reading)` pairs of one register, sorted by date then meter order (so on an exchange day
    the removed meter's final reading comes before the new meter's initial one). Only consecutive readings of the
    same meter add consumption; the span runs from the earliest reading at most MAX_HISTORY_DAYS before the
    latest one. None when the span is shorter than MIN_HISTORY_DAYS: not usable.
    """
    usable = [(meter, reading) for meter, reading in history if not reading.estimated and reading.read_on <= before]
    if len(usable) < 2:
        return None
    latest_on = usable[-1][1].read_on
    horizon = latest_on - timedelta(days=MAX_HISTORY_DAYS)
    usable = [(meter, reading) for meter, reading in usable if reading.read_on >= horizon]
    first_on = usable[0][1].read_on
    if (latest_on - first_on).days < MIN_HISTORY_DAYS:
        return None
    total = Decimal(0)
    for (meter, reading), (next_meter, next_reading) in zip(usable, usable[1:], strict=False):
        if meter is next_meter:
            total += wrap(next_reading.value - reading.value, 10 ** meter.digits) * meter.multiplier
    return total / weighted_days(activity, first_on, latest_on)


def meter_history_rate(*, activity: str, meter, readings: list, before: date) -> Decimal | None:
    """`history_rate` of one meter's readings of one register (sorted by date), the usual case, made cheap.

    The plausibility check of every bill of a run asks for this average (a dozen readings each): with one meter,
    the consecutive differences telescope to latest - earliest when no index went down, so no pair list, no
    per-step wrap. Any lower index (a rollover, or a bad reading) goes through `history_rate` itself. The
    result has the same value as `history_rate`'s (exact Decimal sums); callers only compare it or round a
    product of it, so its exponent does not matter.
    """
    usable = [reading for reading in readings if not reading.estimated and reading.read_on <= before]
    if len(usable) < 2:
        return None
    latest_on = usable[-1].read_on
    horizon = latest_on - timedelta(days=MAX_HISTORY_DAYS)
    if usable[0].read_on < horizon:
        usable = [reading for reading in usable if reading.read_on >= horizon]
    first_on = usable[0].read_on
    if (latest_on - first_on).days < MIN_HISTORY_DAYS:
        return None
    previous = earliest = usable[0].value
    for reading in usable:
        value = reading.value
        if value < previous:
            return history_rate(activity=activity, history=[(meter, reading) for reading in readings], before=before)
        previous = value
    return (previous - earliest) * meter.multiplier / weighted_days(activity, first_on, latest_on)


def annual_rate(*, estimated_annual_consumption: Decimal | None, share: int) -> Decimal | None:
    """Rate per weighted day from an annual estimate split equally between `share` registers."""
    if estimated_annual_consumption is None:
        return None
    return estimated_annual_consumption / (DAYS_PER_YEAR * share)


def estimate_index(*, activity: str, meter, readings: list, day: date, rate: Decimal | None) -> Decimal | None:
    """The index of one register of `meter` on `day`, or None when nothing allows an estimate.

    Between two known readings of the meter, interpolate along the profile (consistent with both). Otherwise
    extend from the nearest reading with `rate` (consumption per weighted day, after the multiplier). The index
    difference is rounded to three places first, so estimated consumption = difference x multiplier exactly,
    and the index is wrapped on the dial.
    """
    previous = following = None
    for reading in readings:
        if reading.read_on < day:
            previous = reading
        elif reading.read_on > day:
            following = reading
            break
    modulus = 10 ** meter.digits
    if previous is not None and following is not None:
        span = weighted_days(activity, previous.read_on, following.read_on)
        moved = wrap(following.value - previous.value, modulus)
        step = round_quantity(moved * weighted_days(activity, previous.read_on, day) / span)
        return wrap(previous.value + step, modulus)
    if rate is None:
        return None
    if previous is not None:
        step = round_quantity(rate * weighted_days(activity, previous.read_on, day) / meter.multiplier)
        return wrap(previous.value + step, modulus)
    if following is not None:
        step = round_quantity(rate * weighted_days(activity, day, following.read_on) / meter.multiplier)
        return wrap(following.value - step, modulus)
    return None
