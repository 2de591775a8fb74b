"""Monthly index series for demo meters: seasonal use, wrap-around at the meter's digits, mixed sources.

Pure functions (no database): indexes are computed in whole thousandths of the meter's
unit so that every value is an exact `Decimal` with three decimals.
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

# Relative monthly use, January first; normalised below so a year sums to twelve months.
_RAW_WEIGHTS = {
    "water": (0.90, 0.85, 0.90, 0.95, 1.05, 1.15, 1.30, 1.25, 1.05, 0.95, 0.85, 0.90),
    "electricity": (1.30, 1.20, 1.05, 0.95, 0.85, 0.78, 0.75, 0.75, 0.85, 0.97, 1.20, 1.35),
    "gas": (1.95, 1.70, 1.40, 0.95, 0.55, 0.30, 0.25, 0.25, 0.45, 0.95, 1.45, 1.80),
    "heating": (1.80, 1.60, 1.35, 0.95, 0.60, 0.40, 0.35, 0.35, 0.55, 0.95, 1.40, 1.70),
}
SEASONAL_WEIGHTS = {k: tuple(w * 12 / sum(ws) for w in ws) for k, ws in _RAW_WEIGHTS.items()}

MILLI = 1000  # thousandths per unit


@dataclass(frozen=True)
class MeterSeries:
    """What to generate for one meter; consumption is in the meter's unit (m3 or kWh)."""

    activity: str
    register_shares: tuple[tuple[str, float], ...]  # (register code, share of the use)
    annual_consumption: Decimal
    digits: int
    whole_units: bool  # electricity and heat meters show whole kWh
    is_smart: bool
    rollover: bool = False  # start near the maximum so the index wraps during the history
    pending_latest: bool = False  # the latest reading is a customer's, waiting for validation
    spike_latest: bool = False  # ... and implausibly high, for the validation queue


def month_start(day: date) -> date:
    return day.replace(day=1)


def add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def history_dates(*, today: date, months: int) -> list[date]:
    """First days of month from `months` months before the latest month start up to it (months + 1 dates)."""
    latest = month_start(today)
    return [add_months(latest, k - months) for k in range(months + 1)]


def meter_readings(series: MeterSeries, *, dates: list[date], now: datetime, rng: random.Random) -> list[dict]:
    """One row per register and date, oldest first per register, ready for a bulk insert once ids are added."""
    events = _read_events(series, dates=dates, now=now, rng=rng)
    rows = []
    for code, share in series.register_shares:
        values = _index_series(series, share=share, dates=dates, rng=rng)
        previous = None
        for (read_on, source, status, received_at), value in zip(events, values, strict=True):
            rows.append({
                "register_code": code,
                "read_on": read_on,
                "value": Decimal(value).scaleb(-3),
                "source": source,
                "status": status,
                "received_at": received_at,
                # A lower index than the previous one is the meter wrapping past its last digit.
                "rollover_confirmed": previous is not None and value < previous,
            })
            previous = value
    return rows


def _index_series(series: MeterSeries, *, share: float, dates: list[date], rng: random.Random) -> list[int]:
    modulus = 10 ** series.digits * MILLI
    annual = int(series.annual_consumption * MILLI * Decimal(str(share)))
    value = _start_index(series, annual=annual, months=len(dates) - 1, modulus=modulus, rng=rng)
    values = [value]
    for k in range(1, len(dates)):
        used = _monthly_use(series, annual=annual, month=dates[k - 1].month, rng=rng)
        if series.spike_latest and k == len(dates) - 1:
            used *= 3
        value = (value + used) % modulus
        values.append(value)
    return values


def _start_index(series: MeterSeries, *, annual: int, months: int, modulus: int, rng: random.Random) -> int:
    history_use = annual * months // 12
    if series.rollover:
        # Close enough to the maximum that the index wraps a third to two thirds through the history.
        start = modulus - max(MILLI, int(history_use * rng.uniform(0.3, 0.6)))
    else:
        # A meter that has run a few years, far enough below the maximum never to wrap here.
        room = modulus - 3 * history_use - MILLI
        start = int(annual * rng.uniform(0.5, 8.0)) % room if room > 0 else 0
    if series.whole_units:
        start -= start % MILLI
    return max(0, start)


def _monthly_use(series: MeterSeries, *, annual: int, month: int, rng: random.Random) -> int:
    weight = SEASONAL_WEIGHTS[series.activity][month - 1]
    used = annual / 12 * weight * rng.uniform(0.85, 1.15)
    if series.whole_units:
        return round(used / MILLI) * MILLI
    return max(0, round(used))


def _read_events(series: MeterSeries, *, dates: list[date], now: datetime,
                 rng: random.Random) -> list[tuple[date, str, str, datetime]]:
    """(read_on, source, status, received_at) per date; every register of a meter is read together."""
    agent_month = rng.randrange(6)  # an agent reads non-smart meters twice a year
    events = []
    for k, read_on in enumerate(dates):
        status = "valid"
        if k == len(dates) - 1 and series.pending_latest:
            source, status = "customer", "pending"
        elif series.is_smart:
            source = "estimated" if rng.random() < 0.03 else "smart_meter"
        elif k % 6 == agent_month:
            source = "agent"
        else:
            source = "customer" if rng.random() < 0.55 else "estimated"
        events.append((read_on, source, status, min(_received_at(source, read_on, rng), now)))
    return events


def _received_at(source: str, read_on: date, rng: random.Random) -> datetime:
    if source == "smart_meter":
        return datetime.combine(read_on, time(1, rng.randrange(60)), UTC)
    if source == "estimated":
        return datetime.combine(read_on + timedelta(days=1), time(3, 0), UTC)
    first_hour, last_hour = (8, 16) if source == "agent" else (7, 21)
    return datetime.combine(read_on, time(rng.randint(first_hour, last_hour), rng.randrange(60)), UTC)
