"""Taking a batch of readings from another system (the integration API): load, judge, write, in one transaction.

Set-based: whatever the batch's size, a handful of queries load the points, meters, registers, installations,
contracts and readings it needs, `domain.readings.bulk` judges every reading in memory with the portal's rules,
and the stored readings go in with multi-row INSERTs (domain/bulk.py; PostgreSQL refuses COPY under row-level
security). A rejected reading writes nothing; the others are written together or not at all (the caller's
transaction). Implausible readings are stored pending with a `reading_check` task for the metering team per
meter and day, as a customer's are.
"""
from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import or_, select

from domain.billing.engine.model import MeterIn, ReadingIn
from domain.bulk import among, insert_columns, insert_rows, is_postgresql
from domain.db import db
from domain.readings.bulk import (
    ACCEPTED,
    REJECTED,
    TO_CHECK,
    BatchWorld,
    ContractFacts,
    Installation,
    MeterFacts,
    Outcome,
    PointFacts,
    RawReading,
    RegisterHistory,
    StoredReading,
    history_summary,
    judge_batch,
    parse_reading,
    resolve,
)
from domain.readings.models import MeterReading
from domain.readings.services import TASK_KIND, _metering_group
from domain.readings.validation import DEFAULT_PLAUSIBILITY_FACTOR
from domain.sites.models import DeliveryPoint, Meter, MeterInstallation, Register
from domain.contracts.models import Contract
from domain.tasks import levels
from domain.tasks.services import create_task
from domain.webhooks.events import publish
from tenants.context import require_tenant_id
from tenants.guard import TENANT_FILTERED

log = logging.getLogger(__name__)

_FILTERED = {TENANT_FILTERED: True}


@dataclass
class BatchResult:
    outcomes: list[Outcome]  # in the caller's order

    def count(self, status: str) -> int:
        return sum(1 for o in self.outcomes if o.status == status)

    @property
    def totals(self) -> dict[str, int]:
        counts = {ACCEPTED: 0, TO_CHECK: 0, REJECTED: 0}
        for outcome in self.outcomes:
            counts[outcome.status] += 1
        return {"received": len(self.outcomes), **counts}


def _rows(stmt) -> list[tuple]:
    return db.session.execute(stmt.execution_options(**_FILTERED)).tuples().all()


# --- loading --------------------------------------------------------------------------------------------------------

def _load_places(outcomes: list[Outcome], tenant_id: int) -> BatchWorld:
    """Points by identifier and meters by serial (the tenant's only: another tenant's stay unknown), with every
    installation of their points, and the meters and registers of those."""
    world = BatchWorld()
    session = db.session
    dp, mi, m, r = (DeliveryPoint.__table__, MeterInstallation.__table__, Meter.__table__, Register.__table__)
    identifiers = sorted({o.point for o in outcomes if o.status != REJECTED and o.point is not None})
    serials = sorted({o.meter for o in outcomes if o.status != REJECTED and o.point is None})
    points: dict[int, PointFacts] = {}
    if identifiers:
        for point_id, identifier, activity in _rows(select(dp.c.id, dp.c.identifier, dp.c.activity).where(
                dp.c.tenant_id == tenant_id, among(dp.c.identifier, identifiers, session))):
            points[point_id] = world.points[identifier] = PointFacts(point_id, identifier, activity)
    meter_ids: set[int] = set()
    if serials:
        meter_ids = {row[0] for row in _rows(select(m.c.id).where(
            m.c.tenant_id == tenant_id, among(m.c.serial_number, serials, session)))}
    if not points and not meter_ids:
        return world
    where = []
    if points:
        where.append(among(mi.c.delivery_point_id, sorted(points), session))
    if meter_ids:
        where.append(mi.c.delivery_point_id.in_(select(mi.c.delivery_point_id).where(
            mi.c.tenant_id == tenant_id, among(mi.c.meter_id, sorted(meter_ids), session)).scalar_subquery()))
        where.append(among(mi.c.meter_id, sorted(meter_ids), session))
    installations = [Installation(*row) for row in _rows(
        select(mi.c.meter_id, mi.c.delivery_point_id, mi.c.installed_on, mi.c.removed_on)
        .where(mi.c.tenant_id == tenant_id, or_(*where)).order_by(mi.c.installed_on, mi.c.id))]
    missing = sorted({i.point_id for i in installations} - set(points))
    if missing:
        for point_id, identifier, activity in _rows(select(dp.c.id, dp.c.identifier, dp.c.activity).where(
                dp.c.tenant_id == tenant_id, among(dp.c.id, missing, session))):
            points[point_id] = PointFacts(point_id, identifier, activity)
    all_meters = sorted({i.meter_id for i in installations} | meter_ids)
    for meter_id, serial, digits, multiplier, unit, register_id, code in _rows(
            select(m.c.id, m.c.serial_number, m.c.digits, m.c.multiplier, m.c.unit, r.c.id, r.c.code)
            .join(r, (r.c.meter_id == m.c.id) & (r.c.tenant_id == m.c.tenant_id))
            .where(m.c.tenant_id == tenant_id, among(m.c.id, all_meters, session)).order_by(r.c.id)):
        meter = world.meters.get(meter_id)
        if meter is None:
            meter = world.meters[meter_id] = MeterFacts(meter_id, serial, digits, multiplier, unit, {})
        meter.registers[code] = register_id
    for inst in installations:
        if inst.point_id in points:
            points[inst.point_id].installations.append(inst)
        if inst.meter_id in world.meters:
            world.meters[inst.meter_id].installations.append(inst)
    serial_set = set(serials)
    world.meters_by_serial = {meter.serial: meter for meter in world.meters.values() if meter.serial in serial_set}
    world.points_by_id = points
    return world


def _lock_meters(meter_ids: list[int], tenant_id: int) -> None:
    """Lock the meters read (in id order: two batches never wait on each other in a circle), as a customer's
    reading locks its meter: two readings of one meter are never judged against the same previous one."""
    if meter_ids and is_postgresql(db.session):
        m = Meter.__table__
        _rows(select(m.c.id).where(m.c.tenant_id == tenant_id, among(m.c.id, meter_ids, db.session))
              .order_by(m.c.id).with_for_update())


def _load_state(outcomes: list[Outcome], world: BatchWorld, tenant_id: int) -> None:
    """Per register read: its stored readings of the batch's days, its latest valid actual reading and the
    history plausibility weighs it on; the contracts of the points."""
    session = db.session
    standing = [o for o in outcomes if o.status != REJECTED]
    register_ids = {o.register_id for o in standing}
    days = {(o.register_id, o.read_on) for o in standing}
    repeated = set()
    counted: set[int] = set()
    for o in standing:
        if o.register_id in counted:
            repeated.add(o.register_id)
        counted.add(o.register_id)
    point_of_register = {o.register_id: o.point_id for o in standing}
    multi_meter = {point_id for point_id in set(point_of_register.values())
                   if len({i.meter_id for i in world.points_by_id[point_id].installations}) > 1}
    meter_of_register = {}
    for meter in world.meters.values():
        for code, register_id in meter.registers.items():
            meter_of_register[register_id] = (meter, code)
    # Every register of every meter of a point whose meter was exchanged: its history spans them.
    wanted = set(register_ids)
    for point_id in multi_meter:
        for inst in world.points_by_id[point_id].installations:
            wanted.update(world.meters[inst.meter_id].registers.values())

    mr = MeterReading.__table__
    actual: dict[int, list[tuple[date, object]]] = {}
    valid_rows: dict[int, list[tuple]] = {}
    for register_id, read_on, value, status, source in _rows(
            select(mr.c.register_id, mr.c.read_on, mr.c.value, mr.c.status, mr.c.source)
            .where(mr.c.tenant_id == tenant_id, among(mr.c.register_id, sorted(wanted), session),
                   mr.c.status != "rejected")
            .order_by(mr.c.register_id, mr.c.read_on, mr.c.id)):
        estimated = source == "estimated"
        if not estimated and (register_id, read_on) in days:
            world.same_day.setdefault((register_id, read_on), []).append(StoredReading(value, status, source))
        if status == "valid":
            if not estimated:
                actual.setdefault(register_id, []).append((read_on, value))
            if point_of_register.get(register_id) in multi_meter or register_id in repeated \
                    or register_id not in register_ids:
                valid_rows.setdefault(register_id, []).append((read_on, value, estimated))

    meters_in = {}

    def meter_in(meter: MeterFacts, inst: Installation) -> MeterIn:
        key = (meter.id, inst.installed_on)
        if key not in meters_in:
            meters_in[key] = MeterIn(meter.serial, meter.digits, meter.multiplier, meter.unit, inst.installed_on,
                                     inst.removed_on, tuple(meter.registers))
        return meters_in[key]

    point_history: dict[int, tuple[tuple[MeterIn, ...], list[ReadingIn]]] = {}
    needs_full: list[int] = []
    for register_id in register_ids:
        meter, code = meter_of_register[register_id]
        point_id = point_of_register[register_id]
        point = world.points_by_id[point_id]
        rows = actual.get(register_id, [])
        latest = rows[-1] if rows else None
        if point_id in multi_meter or register_id in repeated:
            needs_full.append(register_id)
            world.histories[register_id] = RegisterHistory(latest, [], (), True)
            continue
        inst = next(i for i in point.installations if i.meter_id == meter.id)
        mine = meter_in(meter, inst)
        latest, summary = history_summary(rows, register_code=code, meter=mine)
        if summary is None:  # the index went down in the span: the engine needs every reading
            needs_full.append(register_id)
            valid_rows[register_id] = [(read_on, value, False) for read_on, value in rows]
            world.histories[register_id] = RegisterHistory(latest, [], (), True)
            continue
        world.histories[register_id] = RegisterHistory(latest, summary, (mine,), False)
    for register_id in needs_full:
        point_id = point_of_register[register_id]
        if point_id not in point_history:
            insts = world.points_by_id[point_id].installations
            meters = tuple(meter_in(world.meters[i.meter_id], i) for i in insts)
            readings = []
            for inst in insts:
                found = world.meters[inst.meter_id]
                for code, rid in found.registers.items():
                    readings.extend(ReadingIn(code, read_on, value, estimated, found.serial)
                                    for read_on, value, estimated in valid_rows.get(rid, ()))
            readings.sort(key=lambda reading: reading.read_on)
            point_history[point_id] = (meters, readings)
        meters, readings = point_history[point_id]
        history = world.histories[register_id]
        history.meters, history.readings = meters, readings

    points = sorted({o.point_id for o in standing})
    if points:
        c = Contract.__table__
        for point_id, start_date, end_date, estimate in _rows(
                select(c.c.delivery_point_id, c.c.start_date, c.c.end_date, c.c.estimated_annual_consumption)
                .where(c.c.tenant_id == tenant_id, among(c.c.delivery_point_id, points, session))
                .order_by(c.c.start_date, c.c.id)):
            world.contracts.setdefault(point_id, []).append(ContractFacts(start_date, end_date, estimate))


# --- writing --------------------------------------------------------------------------------------------------------

def _write(outcomes: list[Outcome], tenant_id: int, now: datetime) -> None:
    readings = MeterReading.__table__
    new = [o for o in outcomes if o.to_write]
    valid = [o for o in new if o.status == ACCEPTED]
    pending = [o for o in new if o.status == TO_CHECK]
    constants = {"tenant_id": tenant_id, "received_at": now, "imported": False, "implausible_confirmed": False}
    if valid:
        columns = {"register_id": [o.register_id for o in valid], "read_on": [o.read_on for o in valid],
                   "value": [o.value for o in valid], "source": [o.source for o in valid],
                   "rollover_confirmed": [o.rolled_over for o in valid]}
        if is_postgresql(db.session):
            insert_columns(db.session, readings, columns, constants={**constants, "status": "valid"})
        else:
            insert_rows(db.session, readings, [
                {**constants, "status": "valid", **{name: values[i] for name, values in columns.items()}}
                for i in range(len(valid))])
    if pending:
        ids = insert_rows(db.session, readings, [
            {**constants, "status": "pending", "register_id": o.register_id, "read_on": o.read_on, "value": o.value,
             "source": o.source, "rollover_confirmed": o.rolled_over} for o in pending], return_ids=True)
        _open_checks(pending, ids, now)


def _open_checks(pending: list[Outcome], ids: list[int], now: datetime) -> None:
    """One `reading_check` task per meter, day and source with readings to check (what the review closes once
    none of them is left pending), its subject the first of them, as for a customer's submission."""
    groups: dict[tuple, list[tuple[Outcome, int]]] = {}
    for outcome, reading_id in zip(pending, ids, strict=True):
        groups.setdefault((outcome.meter_id, outcome.read_on, outcome.source), []).append((outcome, reading_id))
    group_id = _metering_group().id
    level = levels.task_level(TASK_KIND)
    for (_meter_id, day, source), found in groups.items():
        first = found[0][0]
        lines = [f"Reading sent through the API ({source}) for point of delivery {first.point}, "
                 f"meter {first.meter}, dated {day.isoformat()}."]
        for outcome, _reading_id in found:
            since = (f" since {outcome.previous_on.isoformat()} (index {outcome.previous_value})"
                     if outcome.previous_on else "")
            lines.append(f"{outcome.register}: given index {outcome.value}, consumption {outcome.consumption}"
                         f"{since}; expected {outcome.expected} (accepted between {outcome.low} and {outcome.high}):"
                         f" out of bounds." + (" Rollover confirmed by the sender." if outcome.rolled_over else ""))
        create_task(group_id=group_id, kind=TASK_KIND,
                    title=f"Check reading of meter {first.meter} ({day.isoformat()})",
                    params={"meter": first.meter, "day": day.isoformat()}, details="\n".join(lines),
                    subject_type="meter_reading", subject_id=min(reading_id for _o, reading_id in found), now=now,
                    level=level)


# --- events ---------------------------------------------------------------------------------------------------------

def reading_object(outcome: Outcome) -> dict:
    """A reading as the API answers it (the `reading.accepted` / `reading.rejected` event's object)."""
    found = {
        "position": outcome.position,
        "external_id": outcome.raw.external_id,
        "status": outcome.status,
        "point": outcome.point,
        "meter": outcome.meter,
        "register": outcome.register if outcome.register_id is not None or outcome.raw.register else None,
        "read_on": outcome.read_on.isoformat() if outcome.read_on else None,
        "value": str(outcome.value) if outcome.value is not None else None,
        "source": outcome.source,
    }
    if outcome.status == REJECTED:
        found["reason"] = outcome.reason
    return found


# --- the service ----------------------------------------------------------------------------------------------------

def ingest_batch(*, readings: Sequence[RawReading], today: date, now: datetime,
                 plausibility_factor=DEFAULT_PLAUSIBILITY_FACTOR) -> BatchResult:
    """Judge and store a batch of readings in the current tenant (see `domain.readings.bulk` for the rules).

    Returns every reading's outcome in the caller's order. Writes the accepted (valid) and to-check (pending)
    readings, opens the checks, and publishes `reading.accepted` and `reading.rejected` once each; the caller
    commits (or rolls everything back)."""
    tenant_id = require_tenant_id()
    outcomes = [parse_reading(position, raw, today=today) for position, raw in enumerate(readings)]
    world = _load_places(outcomes, tenant_id)
    for outcome in outcomes:
        if outcome.status != REJECTED:
            resolve(outcome, world)
    if any(o.status != REJECTED for o in outcomes):
        _lock_meters(sorted({o.meter_id for o in outcomes if o.status != REJECTED}), tenant_id)
        _load_state(outcomes, world, tenant_id)
        judge_batch(outcomes, world, plausibility_factor=plausibility_factor)
    _write(outcomes, tenant_id, now)
    result = BatchResult(outcomes)
    accepted = [reading_object(o) for o in outcomes if o.status == ACCEPTED and not o.already_stored]
    rejected = [reading_object(o) for o in outcomes if o.status == REJECTED]
    if accepted:
        publish("reading.accepted", accepted, occurred_at=now)
    if rejected:
        publish("reading.rejected", rejected, occurred_at=now)
    totals = result.totals
    log.info("reading batch tenant=%s received=%s accepted=%s to_check=%s rejected=%s", tenant_id,
             totals["received"], totals[ACCEPTED], totals[TO_CHECK], totals[REJECTED])
    return result
