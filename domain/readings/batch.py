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
from itertools import repeat
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import select

from domain.billing.engine.model import MeterIn, ReadingIn
from domain.billing.engine.estimation import MAX_HISTORY_DAYS
from domain.bulk import (
    among,
    array_literal,
    execute,
    fetch,
    id_array,
    insert_columns,
    insert_rows,
    is_postgresql,
    probing,
)
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
    needs_annual_estimate,
    span_summary,
    parse_reading,
    resolve,
)
from domain.readings.events import reading_event
from domain.readings.models import MeterReading
from domain.readings.services import TASK_KIND, _metering_group
from domain.readings.validation import DEFAULT_PLAUSIBILITY_FACTOR
from domain.sites.models import DeliveryPoint, Meter, MeterInstallation, Register
from domain.contracts.models import Contract
from domain.tasks.services import add_tasks
from domain.webhooks.events import listening, publish
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
    return [tuple(row) for row in db.session.execute(stmt.execution_options(**_FILTERED))]


# --- loading --------------------------------------------------------------------------------------------------------

def _probe(table, column, keys, *columns, where=()) -> list[tuple]:
    """The tenant's rows of `table` whose `column` is one of `keys`, each key looked up through its index (a
    plain `= ANY(array)` lets PostgreSQL compare every row of the tenant with the whole array)."""
    if not keys:
        return []
    return _rows(probing(db.session, column, sorted(keys), *columns,
                         where=[table.c.tenant_id == require_tenant_id(), *where]))


def _load_places(outcomes: list[Outcome]) -> BatchWorld:
    """Points by identifier and meters by serial (the tenant's only: another tenant's stay unknown), with every
    installation of their points, the meters and registers of those, and the points' contracts."""
    # A NUL character matches nothing stored (and PostgreSQL refuses it in a text): such a key stays unknown.
    identifiers = {o.point for o in outcomes if o.status != REJECTED and o.point is not None and "\x00" not in o.point}
    serials = {o.meter for o in outcomes if o.status != REJECTED and o.point is None and "\x00" not in o.meter}
    if not is_postgresql(db.session):
        return _load_places_anywhere(identifiers, serials)
    world = BatchWorld()
    tenant_id = require_tenant_id()
    points: dict[int, PointFacts] = {}
    if identifiers:
        _add_point_rows(world, points, fetch(db.session, _POINTS_SQL.format(key="identifier", type="text"),
                                             (array_literal(sorted(identifiers)), tenant_id)))
    if serials:
        exchanged = set()
        for row in fetch(db.session, _METERS_SQL, (array_literal(sorted(serials)), tenant_id)):
            (meter_id, serial, digits, multiplier, unit, register_id, code, point_id, installed_on, removed_on,
             identifier, activity, installs) = row
            meter = world.meters.get(meter_id)
            if meter is None:
                meter = world.meters[meter_id] = MeterFacts(meter_id, serial, digits, multiplier, unit, {})
            world.meters_by_serial[serial] = meter
            meter.registers[code] = register_id
            if point_id is None or point_id in points:
                continue
            if installs > 1:  # its point had other meters: load the point whole, below
                exchanged.add(point_id)
                continue
            inst = Installation(meter_id, point_id, installed_on, removed_on)
            points[point_id] = PointFacts(point_id, identifier, activity, [inst])
            meter.installations.append(inst)
        for meter in world.meters.values():  # a meter seen once per register: its installation once
            seen = set()
            meter.installations = [i for i in meter.installations if not (i in seen or seen.add(i))]
        if exchanged - set(points):
            _add_point_rows(world, points, fetch(db.session, _POINTS_SQL.format(key="id", type="bigint"),
                                                 (id_array(sorted(exchanged - set(points))), tenant_id)))
    world.points_by_id = points
    return world


def _add_point_rows(world: BatchWorld, points: dict[int, PointFacts], rows) -> None:
    for (point_id, identifier, activity, meter_id, installed_on, removed_on, serial, digits, multiplier, unit,
         register_id, code) in rows:
        point = points.get(point_id)
        if point is None:
            point = points[point_id] = world.points[identifier] = PointFacts(point_id, identifier, activity)
        if meter_id is None:
            continue
        meter = world.meters.get(meter_id)
        if meter is None:
            meter = world.meters[meter_id] = MeterFacts(meter_id, serial, digits, multiplier, unit, {})
        meter.registers[code] = register_id
        inst = Installation(meter_id, point_id, installed_on, removed_on)
        if inst not in point.installations:
            point.installations.append(inst)
            point.installations.sort(key=lambda i: (i.installed_on, i.meter_id))
        if inst not in meter.installations:
            meter.installations.append(inst)


# Points (by identifier or id) with each installation's meter and registers; meters by serial with their
# registers, installations and the point of each. Each key probes its index (a plain `= ANY(array)` lets
# PostgreSQL compare every row of the tenant with the whole array). The points' contracts come later, for the few
# readings that may need an annual estimate (`_load_contracts`).
_POINTS_SQL = """
SELECT dp.id, dp.identifier, dp.activity, x.meter_id, x.installed_on, x.removed_on, x.serial_number, x.digits,
       x.multiplier, x.unit, x.register_id, x.code
FROM unnest(CAST(%s AS {type}[])) AS k(key)
JOIN LATERAL (SELECT id, identifier, activity, tenant_id FROM delivery_points
              WHERE tenant_id = %s AND {key} = k.key OFFSET 0) dp ON true
LEFT JOIN LATERAL (
    SELECT i.meter_id, i.installed_on, i.removed_on, m.serial_number, m.digits, m.multiplier, m.unit,
           r.id AS register_id, r.code
    FROM meter_installations i
    JOIN meters m ON m.tenant_id = i.tenant_id AND m.id = i.meter_id
    JOIN registers r ON r.tenant_id = m.tenant_id AND r.meter_id = m.id
    WHERE i.tenant_id = dp.tenant_id AND i.delivery_point_id = dp.id OFFSET 0) x ON true"""
_METERS_SQL = """
SELECT m.id, m.serial_number, m.digits, m.multiplier, m.unit, r.id, r.code, dp.id, i.installed_on, i.removed_on,
       dp.identifier, dp.activity,
       (SELECT count(*) FROM meter_installations o WHERE o.tenant_id = dp.tenant_id AND o.delivery_point_id = dp.id)
FROM unnest(CAST(%s AS text[])) AS k(key)
JOIN LATERAL (SELECT id, serial_number, digits, multiplier, unit, tenant_id FROM meters
              WHERE tenant_id = %s AND serial_number = k.key OFFSET 0) m ON true
JOIN registers r ON r.tenant_id = m.tenant_id AND r.meter_id = m.id
LEFT JOIN meter_installations i ON i.tenant_id = m.tenant_id AND i.meter_id = m.id
LEFT JOIN delivery_points dp ON dp.tenant_id = i.tenant_id AND dp.id = i.delivery_point_id"""


def _load_places_anywhere(identifiers: set[str], serials: set[str]) -> BatchWorld:
    """Points by identifier and meters by serial (the tenant's only: another tenant's stay unknown), with every
    installation of their points, and the meters and registers of those."""
    world = BatchWorld()
    dp, mi, m, r = (DeliveryPoint.__table__, MeterInstallation.__table__, Meter.__table__, Register.__table__)
    points: dict[int, PointFacts] = {}
    for point_id, identifier, activity in _probe(dp, dp.c.identifier, identifiers, dp.c.id, dp.c.identifier,
                                                 dp.c.activity):
        points[point_id] = world.points[identifier] = PointFacts(point_id, identifier, activity)
    meter_ids = {row[0] for row in _probe(m, m.c.serial_number, serials, m.c.id)}
    if not points and not meter_ids:
        return world
    columns = (mi.c.id, mi.c.meter_id, mi.c.delivery_point_id, mi.c.installed_on, mi.c.removed_on)
    installations = {row[0]: row for row in _probe(mi, mi.c.delivery_point_id, set(points), *columns)}
    by_meter = _probe(mi, mi.c.meter_id, meter_ids, *columns)
    installations.update({row[0]: row for row in by_meter})
    others = {row[2] for row in by_meter} - set(points)  # every meter ever at the points of those meters
    installations.update({row[0]: row for row in _probe(mi, mi.c.delivery_point_id, others, *columns)})
    found = sorted((Installation(*row[1:]) for row in installations.values()),
                   key=lambda i: (i.installed_on, i.meter_id))
    for point_id, identifier, activity in _probe(dp, dp.c.id, {i.point_id for i in found} - set(points),
                                                 dp.c.id, dp.c.identifier, dp.c.activity):
        points[point_id] = PointFacts(point_id, identifier, activity)
    all_meters = {i.meter_id for i in found} | meter_ids
    for meter_id, serial, digits, multiplier, unit in _probe(m, m.c.id, all_meters, m.c.id, m.c.serial_number,
                                                            m.c.digits, m.c.multiplier, m.c.unit):
        world.meters[meter_id] = MeterFacts(meter_id, serial, digits, multiplier, unit, {})
    for register_id, meter_id, code in sorted(_probe(r, r.c.meter_id, all_meters, r.c.id, r.c.meter_id, r.c.code)):
        world.meters[meter_id].registers[code] = register_id
    for inst in found:
        if inst.point_id in points:
            points[inst.point_id].installations.append(inst)
        if inst.meter_id in world.meters:
            world.meters[inst.meter_id].installations.append(inst)
    world.meters_by_serial = {meter.serial: meter for meter in world.meters.values() if meter.serial in serials}
    world.points_by_id = points
    return world


def _load_contracts(point_ids: set[int], world: BatchWorld) -> None:
    """The contracts of these points (by start date), whose annual estimate a reading may be weighed on."""
    c = Contract.__table__
    for point_id, start_date, end_date, estimate, _id in sorted(
            _probe(c, c.c.delivery_point_id, point_ids, c.c.delivery_point_id, c.c.start_date, c.c.end_date,
                   c.c.estimated_annual_consumption, c.c.id), key=lambda row: (row[1], row[4])):
        world.contracts.setdefault(point_id, []).append(ContractFacts(start_date, end_date, estimate))


def _lock_meters(meter_ids: list[int]) -> None:
    """Lock the meters read (in id order: two batches never wait on each other in a circle), as a customer's
    reading locks its meter: two readings of one meter are never judged against the same previous one."""
    if meter_ids and is_postgresql(db.session):
        m = Meter.__table__
        _rows(select(m.c.id).where(m.c.tenant_id == require_tenant_id(), among(m.c.id, meter_ids, db.session))
              .order_by(m.c.id).with_for_update())


# Per register read once, on PostgreSQL, in one index range (covering and in the engine's (read_on, id) order:
# migrations 0032, 0036; no table row is read, nothing sorted): its valid actual indexes over the engine's history
# span (the 730 days up to its latest one) in that order, as the text of an array (parsed here only as far as
# needed), and its stored readings of the day read (valid or pending, from the span's start or that day). One row
# per register instead of its whole history.
_SUMMARY_SQL = """
SELECT k.key, s.first_on, s.latest_on, s.vals, s.same
FROM unnest(CAST(%s AS bigint[]), CAST(%s AS date[])) AS k(key, day)
CROSS JOIN LATERAL (
    SELECT min(read_on) FILTER (WHERE actual) AS first_on, max(read_on) FILTER (WHERE actual) AS latest_on,
           CAST(array_agg(value) FILTER (WHERE actual) AS text) AS vals,
           array_agg(status || ' ' || source || ' ' || value) FILTER (WHERE read_on = k.day) AS same
    FROM (SELECT read_on, value, status, source, status = 'valid' AS actual
          FROM meter_readings
          WHERE tenant_id = %s AND register_id = k.key AND status <> 'rejected' AND source <> 'estimated'
            AND read_on >= coalesce((SELECT max(read_on) FROM meter_readings
                                     WHERE tenant_id = %s AND register_id = k.key AND status = 'valid'
                                       AND source <> 'estimated') - {days}, k.day)
          ORDER BY read_on, id) span) s
""".replace("{days}", str(MAX_HISTORY_DAYS))

# The column is numeric(16, 3): PostgreSQL writes every stored index with exactly three decimals and no sign, so
# right-aligned texts compare as the numbers do (no number parsed for the usual dozen indexes of a register).
_INDEX_WIDTH = len("9999999999999.999")


def _went_down(values: list[str]) -> bool:
    """Whether an index of the list (PostgreSQL's text of numeric(16, 3) values, in date order) is lower than the
    one before it."""
    aligned = list(map(str.rjust, values, repeat(_INDEX_WIDTH)))
    return aligned != sorted(aligned)


def _summaries(alone: dict[int, tuple[MeterIn, str, date]], world: BatchWorld) -> dict[int, tuple]:
    """register id -> (latest, summary readings or None when the whole history is needed), for registers read once
    on a point that had one meter; fills their stored readings of the day read on PostgreSQL."""
    if not alone:
        return {}
    found = {}
    if is_postgresql(db.session):
        keys = sorted(alone)
        tenant_id = require_tenant_id()
        for key, first_on, latest_on, vals, same in fetch(db.session, _SUMMARY_SQL, (
                id_array(keys), "{" + ",".join(alone[key][2].isoformat() for key in keys) + "}", tenant_id,
                tenant_id)):
            meter, code, day = alone[key]
            if latest_on is None:
                found[key] = (None, [])
            else:
                values = vals[1:-1].split(",")
                found[key] = span_summary(
                    first_on=first_on, latest_on=latest_on, first_value=Decimal(values[0]),
                    latest_value=Decimal(values[-1]), count=len(values), went_down=_went_down(values),
                    register_code=code, serial=meter.serial)
            if same:
                for text in same:
                    status, source, value = text.split(" ")
                    world.same_day.setdefault((key, day), []).append(StoredReading(Decimal(value), status, source))
        return found
    mr = MeterReading.__table__
    rows: dict[int, list] = {key: [] for key in alone}
    for register_id, read_on, value, _id in sorted(_probe(
            mr, mr.c.register_id, set(alone), mr.c.register_id, mr.c.read_on, mr.c.value, mr.c.id,
            where=[mr.c.status == "valid", mr.c.source != "estimated"])):
        rows[register_id].append((read_on, value))
    for key, found_rows in rows.items():
        meter, code, _day = alone[key]
        found[key] = history_summary(found_rows, register_code=code, meter=meter)
    return found


def _same_day(pairs: set[tuple[int, date]], world: BatchWorld) -> None:
    """The stored readings (valid or pending, not estimates) of these registers on these days."""
    if not pairs:
        return
    mr = MeterReading.__table__
    days = {day for _register, day in pairs}
    for register_id, read_on, value, status, source in _probe(
            mr, mr.c.register_id, {register for register, _day in pairs}, mr.c.register_id, mr.c.read_on,
            mr.c.value, mr.c.status, mr.c.source,
            where=[mr.c.read_on.in_(sorted(days)), mr.c.status != "rejected", mr.c.source != "estimated"]):
        if (register_id, read_on) in pairs:
            world.same_day.setdefault((register_id, read_on), []).append(StoredReading(value, status, source))


def _load_state(outcomes: list[Outcome], world: BatchWorld) -> None:
    """Per register read: its stored readings of the batch's days, its latest valid actual reading and the
    history plausibility weighs it on."""
    standing = [o for o in outcomes if o.status != REJECTED]
    point_of_register = {o.register_id: o.point_id for o in standing}
    seen: set[int] = set()
    repeated = {o.register_id for o in standing if o.register_id in seen or seen.add(o.register_id)}
    multi_meter = {point_id for point_id in set(point_of_register.values())
                   if len({i.meter_id for i in world.points_by_id[point_id].installations}) > 1}
    meters_in: dict[tuple, MeterIn] = {}

    def meter_in(meter: MeterFacts, inst: Installation) -> MeterIn:
        key = (meter.id, inst.installed_on)
        if key not in meters_in:
            meters_in[key] = MeterIn(meter.serial, meter.digits, meter.multiplier, meter.unit, inst.installed_on,
                                     inst.removed_on, tuple(meter.registers))
        return meters_in[key]

    alone: dict[int, tuple[MeterIn, str, date]] = {}
    for outcome in standing:
        register_id = outcome.register_id
        if outcome.point_id in multi_meter or register_id in repeated:
            continue
        meter = world.meters[outcome.meter_id]
        inst = next(i for i in world.points_by_id[outcome.point_id].installations if i.meter_id == meter.id)
        alone[register_id] = (meter_in(meter, inst), outcome.register, outcome.read_on)
    full_points = {point_of_register[r] for r in repeated} | multi_meter
    for register_id, (latest, summary) in _summaries(alone, world).items():
        if summary is None:  # the index went down in the span: the engine needs every reading
            full_points.add(point_of_register[register_id])
            continue
        world.histories[register_id] = RegisterHistory(latest, summary, (alone[register_id][0],), False)
    summarised = alone if is_postgresql(db.session) else {}  # PostgreSQL's summaries carry the day's readings
    _same_day({(o.register_id, o.read_on) for o in standing if o.register_id not in summarised}, world)
    if full_points:
        _load_full_histories(full_points, point_of_register, world, meter_in)
    estimated = {point_of_register[register_id] for register_id in point_of_register
                 if needs_annual_estimate(world.histories[register_id])}
    if estimated:
        _load_contracts(estimated, world)


def _load_full_histories(points: set[int], point_of_register: dict[int, int], world: BatchWorld, meter_in) -> None:
    """Every valid reading of every meter ever at these points (estimates too, as the portal gives the engine),
    for their registers read in the batch: a meter exchange, a register read more than once, a lower index."""
    mr = MeterReading.__table__
    owner: dict[int, tuple[MeterFacts, str]] = {}
    meters_of_point: dict[int, tuple[MeterIn, ...]] = {}
    for point_id in points:
        insts = world.points_by_id[point_id].installations
        meters_of_point[point_id] = tuple(meter_in(world.meters[i.meter_id], i) for i in insts)
        for inst in insts:
            meter = world.meters[inst.meter_id]
            owner.update({register_id: (meter, code) for code, register_id in meter.registers.items()})
    readings: dict[int, list[ReadingIn]] = {point_id: [] for point_id in points}
    point_of_meter = {}
    for point_id in points:
        for inst in world.points_by_id[point_id].installations:
            point_of_meter.setdefault(inst.meter_id, set()).add(point_id)
    actual: dict[int, tuple] = {}
    for register_id, read_on, value, source, _id in sorted(_probe(
            mr, mr.c.register_id, set(owner), mr.c.register_id, mr.c.read_on, mr.c.value, mr.c.source, mr.c.id,
            where=[mr.c.status == "valid"]), key=lambda row: (row[1], row[4])):
        meter, code = owner[register_id]
        reading = ReadingIn(code, read_on, value, source == "estimated", meter.serial)
        for point_id in point_of_meter[meter.id]:
            readings[point_id].append(reading)
        if source != "estimated":
            actual[register_id] = (read_on, value)
    for register_id, point_id in point_of_register.items():
        if point_id in points:
            world.histories[register_id] = RegisterHistory(actual.get(register_id), readings[point_id],
                                                           meters_of_point[point_id], True)


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
    tasks = []
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
        tasks.append({"title": f"Check reading of meter {first.meter} ({day.isoformat()})",
                      "params": {"meter": first.meter, "day": day.isoformat()}, "details": "\n".join(lines),
                      "subject_type": "meter_reading", "subject_id": min(reading_id for _o, reading_id in found)})
    add_tasks(group_id=_metering_group().id, kind=TASK_KIND, tasks=tasks, now=now)


# --- events ---------------------------------------------------------------------------------------------------------

def _text(value: str | None) -> str | None:
    """The caller's text as an event may carry it: a NUL character (which PostgreSQL cannot store in a text or
    jsonb value) replaced."""
    return value.replace("\x00", "\ufffd") if value is not None and "\x00" in value else value


def reading_object(outcome: Outcome, *, received_at: datetime) -> dict:
    """A reading of the batch as the `reading.accepted` / `reading.rejected` events carry it
    (domain/readings/events.py: the same shape as a customer's or staff's reading)."""
    return reading_event(point=_text(outcome.point), meter=_text(outcome.meter), register=_text(outcome.register),
                         read_on=outcome.read_on, value=outcome.value, source=outcome.source,
                         accepted=outcome.status != REJECTED, reason=outcome.reason,
                         external_id=_text(outcome.raw.external_id), received_at=received_at)


# --- the service ----------------------------------------------------------------------------------------------------

def ingest_batch(*, readings: Sequence[RawReading], today: date, now: datetime,
                 plausibility_factor=DEFAULT_PLAUSIBILITY_FACTOR) -> BatchResult:
    """Judge and store a batch of readings in the current tenant (see `domain.readings.bulk` for the rules).

    Returns every reading's outcome in the caller's order. Writes the accepted (valid) and to-check (pending)
    readings, opens the checks, and publishes `reading.accepted` and `reading.rejected` once each; the caller
    commits (or rolls everything back)."""
    tenant_id = require_tenant_id()
    if is_postgresql(db.session):
        # A batch's statements are many short index probes: compiling them (JIT, for their high total cost) takes
        # longer than running them.
        execute(db.session, "SET LOCAL jit = off")
    outcomes = [parse_reading(position, raw, today=today) for position, raw in enumerate(readings)]
    world = _load_places(outcomes)
    for outcome in outcomes:
        if outcome.status != REJECTED:
            resolve(outcome, world)
    if any(o.status != REJECTED for o in outcomes):
        _lock_meters(sorted({o.meter_id for o in outcomes if o.status != REJECTED}))
        _load_state(outcomes, world)
        judge_batch(outcomes, world, plausibility_factor=plausibility_factor)
    _write(outcomes, tenant_id, now)
    result = BatchResult(outcomes)
    # The events' objects are built only when a subscription listens (10,000 dictionaries otherwise for nothing).
    if listening("reading.accepted"):
        accepted = [reading_object(o, received_at=now) for o in outcomes
                    if o.status == ACCEPTED and not o.already_stored]
        if accepted:
            publish("reading.accepted", accepted, occurred_at=now)
    if listening("reading.rejected"):
        rejected = [reading_object(o, received_at=now) for o in outcomes if o.status == REJECTED]
        if rejected:
            publish("reading.rejected", rejected, occurred_at=now)
    totals = result.totals
    log.info("reading batch tenant=%s received=%s accepted=%s to_check=%s rejected=%s", tenant_id,
             totals["received"], totals[ACCEPTED], totals[TO_CHECK], totals[REJECTED])
    return result
