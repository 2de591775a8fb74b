"""Interval (half-hourly) data of smart meters: storing a batch of register-days (a day sent again replaces the
stored one) and the daily totals the portal's consumption page shows. The pure rules are in interval_checks.

A register is named by its point of delivery's identifier (the meter installed there on that day) or by its
meter's serial number, with the register's code. A batch is stored whole or not at all: every problem of every
day is listed first (IntervalDataRefused), nothing written; a point or meter this tenant does not have is
UnknownReference (an interface answers it as "not found", whether it is missing or another tenant's)."""
from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from domain.db import db
from domain.readings import interval_checks as checks
from domain.readings.models import INTERVAL_SOURCES, IntervalDay
from domain.sites.models import DeliveryPoint, Meter, MeterInstallation, Register
from domain.sites.services import normalise_reference

log = logging.getLogger(__name__)

MAX_DAYS_PER_BATCH = 1000
# The portal shows the latest days with interval data, up to this many, within this far back.
PORTAL_DAYS = 31
PORTAL_LOOKBACK_DAYS = 366


@dataclass(frozen=True)
class IntervalDayIn:
    """One register's day as sent: `point` (identifier) or `meter` (serial), the register's code, the local
    date and its values, oldest interval first."""

    register_code: str
    day: date
    values: tuple[Decimal, ...]
    point: str | None = None
    meter: str | None = None
    interval_minutes: int = checks.DEFAULT_INTERVAL_MINUTES


@dataclass(frozen=True)
class ItemProblem:
    index: int  # position of the day in the batch
    code: str
    details: dict


class IntervalDataRefused(ValueError):
    def __init__(self, problems: list[ItemProblem]):
        super().__init__(", ".join(f"{p.index}: {p.code}" for p in problems))
        self.problems = problems


class UnknownReference(LookupError):
    """Points of delivery or meters the tenant does not have: [(index, "point"|"meter", reference)]."""

    def __init__(self, unknown: list[tuple[int, str, str]]):
        super().__init__(", ".join(ref for _i, _kind, ref in unknown))
        self.unknown = unknown


@dataclass(frozen=True)
class StoredDay:
    index: int
    point: str | None
    meter: str
    register_code: str
    day: date
    interval_minutes: int
    interval_count: int
    total: Decimal
    replaced: bool


def _installation_on(installations, day: date) -> MeterInstallation | None:
    for inst in installations:
        if inst.installed_on <= day and (inst.removed_on is None or day < inst.removed_on):
            return inst
    return None


def _load_references(days: Sequence[IntervalDayIn]):
    identifiers = {normalise_reference(d.point) for d in days if d.point}
    serials = {normalise_reference(d.meter) for d in days if d.meter}
    points = {}
    if identifiers:
        points = {p.identifier.upper(): p for p in db.session.scalars(
            select(DeliveryPoint).where(func.upper(DeliveryPoint.identifier).in_(identifiers)).options(
                selectinload(DeliveryPoint.installations).selectinload(MeterInstallation.meter)
                .selectinload(Meter.registers)))}
    meters = {}
    if serials:
        meters = {m.serial_number.upper(): m for m in db.session.scalars(
            select(Meter).where(func.upper(Meter.serial_number).in_(serials)).options(selectinload(Meter.registers)))}
    installations: dict[int, list[MeterInstallation]] = {}
    if meters:
        for inst in db.session.scalars(select(MeterInstallation).where(
                MeterInstallation.meter_id.in_([m.id for m in meters.values()]))
                .options(selectinload(MeterInstallation.delivery_point))
                .order_by(MeterInstallation.installed_on)):
            installations.setdefault(inst.meter_id, []).append(inst)
    return points, meters, installations


def _register_of(item: IntervalDayIn, index: int, points, meters, installations, problems, unknown):
    """(register, meter, point identifier) of one day, or None with the problem noted."""
    if item.point:
        point = points.get(normalise_reference(item.point))
        if point is None:
            unknown.append((index, "point", item.point))
            return None
        inst = _installation_on(point.installations, item.day)
        if inst is None:
            problems.append(ItemProblem(index, "no_meter_on_day", {}))
            return None
        meter, identifier = inst.meter, point.identifier
    else:
        meter = meters.get(normalise_reference(item.meter))
        if meter is None:
            unknown.append((index, "meter", item.meter or ""))
            return None
        inst = _installation_on(installations.get(meter.id, []), item.day)
        if inst is None:
            problems.append(ItemProblem(index, "not_installed_on_day", {}))
            return None
        identifier = inst.delivery_point.identifier
    code = (item.register_code or "").strip().upper()
    register = next((r for r in meter.registers if r.code.upper() == code), None)
    if register is None:
        problems.append(ItemProblem(index, "unknown_register", {"registers": [r.code for r in meter.registers]}))
        return None
    return register, meter, identifier


def store_interval_days(*, days: Sequence[IntervalDayIn], source: str, zone, today: date,
                        now: datetime) -> list[StoredDay]:
    """Store each register's day of interval values (a day already stored for that register is replaced: its
    values, total, source and time received). `zone` is the tenant's time zone (the day's length), `today` the
    date there. All or nothing: IntervalDataRefused lists every problem, UnknownReference the points and meters
    not found; nothing is written then."""
    if source not in INTERVAL_SOURCES:
        raise ValueError(f"unknown source {source!r}")
    if not days:
        raise IntervalDataRefused([ItemProblem(0, "empty", {})])
    if len(days) > MAX_DAYS_PER_BATCH:
        raise IntervalDataRefused([ItemProblem(0, "too_many_days", {"maximum": MAX_DAYS_PER_BATCH})])
    points, meters, installations = _load_references(days)
    problems: list[ItemProblem] = []
    unknown: list[tuple[int, str, str]] = []
    resolved = []
    seen: dict[tuple[int, date], int] = {}
    for index, item in enumerate(days):
        found = _register_of(item, index, points, meters, installations, problems, unknown)
        for problem in checks.check_day(day=item.day, values=item.values, zone=zone, today=today,
                                        minutes=item.interval_minutes):
            problems.append(ItemProblem(index, problem.code, problem.details))
        if found is None:
            continue
        register, meter, identifier = found
        key = (register.id, item.day)
        if key in seen:
            problems.append(ItemProblem(index, "duplicate", {"first": seen[key]}))
            continue
        seen[key] = index
        resolved.append((index, item, register, meter, identifier))
    if unknown:
        raise UnknownReference(unknown)
    if problems:
        raise IntervalDataRefused(sorted(problems, key=lambda p: p.index))

    register_ids = sorted({register.id for _i, _item, register, _m, _p in resolved})
    stored_days = [item.day for _i, item, _r, _m, _p in resolved]
    existing = {(row.register_id, row.day): row for row in db.session.scalars(select(IntervalDay).where(
        IntervalDay.register_id.in_(register_ids), IntervalDay.day >= min(stored_days),
        IntervalDay.day <= max(stored_days)))}
    result = []
    for index, item, register, meter, identifier in resolved:
        total = checks.day_total(item.values)
        row = existing.get((register.id, item.day))
        replaced = row is not None
        if row is None:
            row = IntervalDay(register_id=register.id, day=item.day)
            db.session.add(row)
        row.interval_minutes = item.interval_minutes
        row.interval_count = len(item.values)
        row.packed_values = checks.pack(item.values)
        row.total = total
        row.source = source
        row.received_at = now
        result.append(StoredDay(index, identifier, meter.serial_number, register.code, item.day, item.interval_minutes,
                                len(item.values), total, replaced))
    db.session.flush()
    log.info("interval data stored days=%s replaced=%s registers=%s", len(result),
             sum(1 for r in result if r.replaced), len(register_ids))
    return result


def day_values(*, register_id: int, day: date) -> tuple[Decimal, ...] | None:
    """The values stored for one register's day, oldest interval first (None when there is no such day)."""
    row = db.session.scalar(select(IntervalDay).where(IntervalDay.register_id == register_id, IntervalDay.day == day))
    return checks.unpack(row.packed_values) if row is not None else None


def point_daily_totals(*, point: DeliveryPoint, periods: list[tuple[date, date | None]], today: date,
                       days: int = PORTAL_DAYS) -> list[checks.DayTotal]:
    """Daily totals of a point's interval data over the latest `days` days up to the latest day it has (before
    today, within the customer's `periods` on the point, end day included), from its first day when the data
    starts later; oldest first; empty when the point has none."""
    by_register: dict[int, tuple[MeterInstallation, Register]] = {}
    for inst in point.installations:
        for register in inst.meter.registers:
            by_register[register.id] = (inst, register)
    if not by_register:
        return []
    since = today - timedelta(days=PORTAL_LOOKBACK_DAYS)
    rows = db.session.execute(
        select(IntervalDay.register_id, IntervalDay.day, IntervalDay.total)
        .where(IntervalDay.register_id.in_(list(by_register)), IntervalDay.day >= since, IntervalDay.day < today)
    ).all()
    kept = []
    for register_id, day, total in rows:
        inst, register = by_register[register_id]
        in_service = inst.installed_on <= day and (inst.removed_on is None or day < inst.removed_on)
        visible = any(start <= day and (end is None or day <= end) for start, end in periods)
        if in_service and visible:
            kept.append((register.code, day, total))
    if not kept:
        return []
    latest = max(day for _code, day, _total in kept)
    first = max(latest - timedelta(days=days - 1), min(day for _code, day, _total in kept))
    return checks.daily_totals(kept, first, latest)
