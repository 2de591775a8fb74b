"""Judging a batch of readings sent by another system (the integration API): pure, no I/O.

The service (`domain.readings.batch`) loads what a batch needs in a handful of queries into a `BatchWorld`; the
functions here parse every reading, find its register and weigh it with the portal's rules
(`domain.readings.validation`: index format and dial, monotonic with a confirmed rollover, plausibility against
the consumption the billing engine expects), and say per reading, in the caller's order: accepted (stored
valid), to_check (stored pending for staff review, as a customer's implausible reading is) or rejected (nothing
stored) with a reason code.

Choices the portal did not have to make:
- Readings of one register are weighed in date order whatever their order in the batch, each against the latest
  valid actual reading before it (a reading accepted earlier in the batch included): a week of daily indexes
  sent newest first is judged as if sent oldest first.
- A second reading of the same register and day in the batch is rejected ("duplicate_in_batch"); the first one
  decides.
- A reading identical to a stored one (same register, day and index) is answered as the stored one is (accepted,
  or to_check while it waits for staff) with `already_stored`, and nothing is written: a system sending the same
  file twice changes nothing. A different index for a register and day that already has one is rejected
  ("conflict"): correcting a stored reading is staff work.
- A reading dated before the register's latest valid actual reading is rejected ("later_reading"), as for a
  reading staff enter: the index in between cannot be checked against both neighbours. Dates in the future or
  more than MAX_DAYS_PAST days ago are rejected as in the back office.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple
from datetime import date, timedelta
from decimal import Decimal

from domain.billing.engine.estimation import MAX_HISTORY_DAYS, MIN_HISTORY_DAYS
from domain.billing.engine.model import MeterIn, ReadingIn
from domain.readings.validation import (
    DEFAULT_PLAUSIBILITY_FACTOR,
    ReadingProblem,
    check_index,
    expected_consumption,
    parse_index,
    plausibility,
)

MAX_BATCH = 10_000
SOURCES = ("smart_meter", "agent", "customer")
DEFAULT_SOURCE = "smart_meter"
MAX_DAYS_PAST = 60  # as for a reading staff enter (domain.readings.services.MAX_STAFF_DAYS_PAST)

ACCEPTED, TO_CHECK, REJECTED = "accepted", "to_check", "rejected"

# Why a reading is rejected (the API words each in the caller's language).
REASONS = ("invalid_line", "invalid_rollover",
           "missing_identifier", "invalid_date", "invalid_source", "not_a_number", "future", "too_old",
           "unknown_point", "unknown_meter", "meter_mismatch", "not_in_service", "register_required",
           "unknown_register", "duplicate_in_batch", "conflict", "later_reading", "too_many_digits",
           "lower_than_previous", "rollover_not_possible")


@dataclass(frozen=True, slots=True)
class RawReading:
    """One reading as the caller sent it (JSON or a CSV line): text, checked here."""

    point: str | None = None
    meter: str | None = None
    register: str | None = None
    read_on: str | date | None = None
    value: str | None = None
    source: str | None = None
    rollover: bool = False
    external_id: str | None = None
    # What the caller's format already refused (a CSV line with too few fields...): a reason of REASONS.
    problem: str | None = None
    problem_details: tuple[tuple[str, object], ...] = ()


@dataclass(slots=True)
class Outcome:
    """What became of one reading. `register_id`/`meter_id`/`point_id` are set once it was found; `details` holds
    the figures a rejection's message quotes."""

    position: int
    raw: RawReading
    status: str = REJECTED
    reason: str | None = None
    details: dict = field(default_factory=dict)
    read_on: date | None = None
    value: Decimal | None = None
    source: str = DEFAULT_SOURCE
    register_id: int | None = None
    meter_id: int | None = None
    point_id: int | None = None
    point: str | None = None
    meter: str | None = None
    register: str | None = None
    unit: str | None = None  # the meter's (m3, kWh), for the messages
    previous_on: date | None = None
    previous_value: Decimal | None = None
    consumption: Decimal | None = None
    expected: Decimal | None = None
    low: Decimal | None = None
    high: Decimal | None = None
    rolled_over: bool = False
    already_stored: bool = False

    def reject(self, reason: str, **details) -> None:
        self.status, self.reason, self.details = REJECTED, reason, details

    @property
    def to_write(self) -> bool:
        return self.status != REJECTED and not self.already_stored


# --- parsing --------------------------------------------------------------------------------------------------------

def _day(value) -> date | None:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(value.strip()) if isinstance(value, str) and len(value.strip()) == 10 else None
    except ValueError:
        return None


def parse_reading(position: int, raw: RawReading, *, today: date) -> Outcome:
    """The reading's date, index and source checked on their own (no database): an Outcome still to be judged,
    or already rejected."""
    outcome = Outcome(position, raw, point=_clean(raw.point), meter=_clean(raw.meter), register=_clean(raw.register))
    if raw.problem is not None:
        outcome.reject(raw.problem, **dict(raw.problem_details))
        return outcome
    if outcome.point is None and outcome.meter is None:
        outcome.reject("missing_identifier")
        return outcome
    outcome.read_on = _day(raw.read_on)
    if outcome.read_on is None:
        outcome.reject("invalid_date")
        return outcome
    source = _clean(raw.source) or DEFAULT_SOURCE
    if source not in SOURCES:
        outcome.reject("invalid_source")
        return outcome
    outcome.source = source
    try:
        outcome.value = parse_index(raw.value if isinstance(raw.value, str) else None)
    except ReadingProblem as problem:
        outcome.reject(problem.reason)
        return outcome
    if outcome.read_on > today:
        outcome.reject("future")
    elif outcome.read_on < today - timedelta(days=MAX_DAYS_PAST):
        outcome.reject("too_old", days=MAX_DAYS_PAST)
    else:
        outcome.status = ACCEPTED  # so far
    return outcome


def _clean(text) -> str | None:
    if text is None:
        return None
    text = str(text).strip()
    return text or None


# --- what the batch needs from the database -----------------------------------------------------------------------

class Installation(NamedTuple):
    meter_id: int
    point_id: int
    installed_on: date
    removed_on: date | None


@dataclass(slots=True)
class MeterFacts:
    id: int
    serial: str
    digits: int
    multiplier: Decimal
    unit: str
    registers: dict[str, int]  # code -> register id
    installations: list[Installation] = field(default_factory=list)


@dataclass(slots=True)
class PointFacts:
    id: int
    identifier: str
    activity: str
    installations: list[Installation] = field(default_factory=list)  # by installation date


class ContractFacts(NamedTuple):
    start_date: date
    end_date: date | None
    estimated_annual_consumption: Decimal | None


class StoredReading(NamedTuple):
    value: Decimal
    status: str  # valid or pending (rejected readings are not loaded)
    source: str


@dataclass(slots=True)
class RegisterHistory:
    """A register's actual readings as far as plausibility needs them.

    `latest` is the latest valid actual reading (the previous one of a new reading). `readings` is either the
    register's whole history (ReadingIn with meter serials, every meter of its point: a point whose meter was
    exchanged) or, the usual case of one meter whose index never went down over the last MAX_HISTORY_DAYS, the
    earliest and latest actual readings of that span: the engine's history average uses only those two then
    (`meter_history_rate` telescopes), so the expectation is the same at a fraction of the rows. A register read
    more than once in a batch needs its whole history (`full`): an accepted reading moves the span forward."""

    latest: tuple[date, Decimal] | None
    readings: list[ReadingIn]
    meters: tuple[MeterIn, ...]
    full: bool
    # A summary's readings grouped as the engine's `reading_book` groups them (one meter, one register: one list);
    # None for a whole history, which grows as the batch's readings of the register are accepted.
    book: dict | None = None

    def __post_init__(self) -> None:
        if not self.full and self.book is None and len(self.meters) == 1:
            self.book = {(self.meters[0].serial, self.readings[0].register_code): self.readings} if self.readings \
                else {}


@dataclass
class BatchWorld:
    points: dict[str, PointFacts] = field(default_factory=dict)  # by identifier
    points_by_id: dict[int, PointFacts] = field(default_factory=dict)  # those and the points of the meters
    meters_by_serial: dict[str, MeterFacts] = field(default_factory=dict)
    meters: dict[int, MeterFacts] = field(default_factory=dict)
    contracts: dict[int, list[ContractFacts]] = field(default_factory=dict)  # by point id, by start date
    same_day: dict[tuple[int, date], list[StoredReading]] = field(default_factory=dict)
    histories: dict[int, RegisterHistory] = field(default_factory=dict)


# --- finding the register -----------------------------------------------------------------------------------------

def _in_service(inst: Installation, day: date) -> bool:
    return inst.installed_on <= day and (inst.removed_on is None or day < inst.removed_on)


def _installed(inst: Installation, day: date) -> bool:
    """A meter still counts on its removal day (its final reading is dated on it)."""
    return inst.installed_on <= day and (inst.removed_on is None or day <= inst.removed_on)


def resolve(outcome: Outcome, world: BatchWorld) -> None:
    """Find the reading's meter, register and point of delivery, or reject it. Another tenant's point or meter
    was never loaded: it answers as an unknown one."""
    day = outcome.read_on
    meter = None
    if outcome.point is not None:
        point = world.points.get(outcome.point)
        if point is None:
            outcome.reject("unknown_point")
            return
        inst = next((i for i in reversed(point.installations) if _in_service(i, day)), None)
        if inst is None:
            outcome.reject("not_in_service")
            return
        meter = world.meters[inst.meter_id]
        if outcome.meter is not None and outcome.meter != meter.serial:
            outcome.reject("meter_mismatch", serial=meter.serial)
            return
        outcome.point_id = point.id
    else:
        meter = world.meters_by_serial.get(outcome.meter)
        if meter is None:
            outcome.reject("unknown_meter")
            return
        inst = next((i for i in meter.installations if _installed(i, day)), None)
        if inst is None:
            outcome.reject("not_in_service")
            return
        outcome.point_id, outcome.point = inst.point_id, world.points_by_id[inst.point_id].identifier
    outcome.meter_id, outcome.meter, outcome.unit = meter.id, meter.serial, meter.unit
    if outcome.register is None:
        if len(meter.registers) != 1:
            outcome.reject("register_required", registers=sorted(meter.registers))
            return
        outcome.register = next(iter(meter.registers))
    register_id = meter.registers.get(outcome.register)
    if register_id is None:
        outcome.reject("unknown_register", registers=sorted(meter.registers))
        return
    outcome.register_id = register_id


def history_summary(rows: list[tuple[date, Decimal]], *, register_code: str, meter: MeterIn
                    ) -> tuple[tuple[date, Decimal] | None, list[ReadingIn] | None]:
    """(latest, readings) from one register's valid actual readings (date order) on a point with one meter:
    the earliest and latest of the history span when the index never went down in it, else None for readings
    (the caller then loads the whole history)."""
    if not rows:
        return None, []
    horizon = rows[-1][0] - timedelta(days=MAX_HISTORY_DAYS)
    kept = [row for row in rows if row[0] >= horizon]
    values = [value for _day, value in kept]
    return span_summary(first_on=kept[0][0], latest_on=kept[-1][0], first_value=values[0], latest_value=values[-1],
                        count=len(values), went_down=any(b < a for a, b in zip(values, values[1:], strict=False)),
                        register_code=register_code, serial=meter.serial)


def span_summary(*, first_on: date, latest_on: date, first_value: Decimal, latest_value: Decimal, count: int,
                 went_down: bool, register_code: str, serial: str
                 ) -> tuple[tuple[date, Decimal], list[ReadingIn] | None]:
    """The same from the history span alone: its first and latest days and indexes, how many actual readings it
    holds and whether an index in it is lower than the one before."""
    latest = (latest_on, latest_value)
    if went_down:
        return latest, None
    if count < 2 or (latest_on - first_on).days < MIN_HISTORY_DAYS:
        return latest, [ReadingIn(register_code, latest_on, latest_value, False, serial)]
    return latest, [ReadingIn(register_code, first_on, first_value, False, serial),
                    ReadingIn(register_code, latest_on, latest_value, False, serial)]


def needs_annual_estimate(history: RegisterHistory) -> bool:
    """Whether weighing a reading of this register may fall back on its contract's annual estimate: a whole
    history may, a summary only when `span_summary` kept its latest reading alone (no span to average); with no
    reading at all nothing is expected."""
    return history.full or (history.latest is not None and len(history.readings) < 2)


# --- judging --------------------------------------------------------------------------------------------------------

def _annual_estimate(contracts: list[ContractFacts], day: date) -> Decimal | None:
    """The estimate of the contract supplying the point that day (a final reading dated on the end day belongs
    to the ending contract), as staff review weighs a reading."""
    found = [c for c in contracts if c.start_date <= day and (c.end_date is None or day <= c.end_date)]
    return found[-1].estimated_annual_consumption if found else None


def judge_batch(outcomes: list[Outcome], world: BatchWorld, *,
                plausibility_factor: Decimal = DEFAULT_PLAUSIBILITY_FACTOR) -> None:
    """Weigh every reading still standing after `resolve` (in place): duplicates, stored readings of the day, the
    dial and the previous actual reading, then plausibility. Readings of a register go in date order."""
    standing = [o for o in outcomes if o.status != REJECTED]
    standing.sort(key=lambda o: (o.register_id, o.read_on, o.position))
    seen: dict[tuple[int, date], int] = {}
    for outcome in standing:
        key = (outcome.register_id, outcome.read_on)
        first = seen.get(key)
        if first is not None:
            outcome.reject("duplicate_in_batch", position=first)
            continue
        seen[key] = outcome.position
        stored = world.same_day.get(key)
        if stored:
            same = next((s for s in stored if s.value == outcome.value), None)
            if same is not None:
                outcome.status = ACCEPTED if same.status == "valid" else TO_CHECK
                outcome.already_stored = True
            else:
                outcome.reject("conflict", value=stored[0].value)
            continue
        _weigh(outcome, world, plausibility_factor)


def _weigh(outcome: Outcome, world: BatchWorld, factor: Decimal) -> None:
    meter = world.meters[outcome.meter_id]
    history = world.histories[outcome.register_id]
    latest = history.latest
    day = outcome.read_on
    if latest is not None and latest[0] > day:
        outcome.reject("later_reading", date=latest[0])
        return
    previous = latest[1] if latest is not None else None
    try:
        check = check_index(value=outcome.value, previous=previous, digits=meter.digits,
                            multiplier=meter.multiplier, rollover_confirmed=bool(outcome.raw.rollover))
    except ReadingProblem as problem:
        outcome.reject(problem.reason, **problem.details)
        return
    outcome.consumption, outcome.rolled_over = check.consumption, check.rolled_over
    expected = None
    if latest is not None:
        outcome.previous_on, outcome.previous_value = latest
        expected = expected_consumption(
            activity=world.points_by_id[outcome.point_id].activity, meters=history.meters,
            readings=tuple(history.readings), register_code=outcome.register, share=len(meter.registers),
            since=latest[0], day=day,
            estimated_annual_consumption=_annual_estimate(world.contracts.get(outcome.point_id, ()), day),
            book=history.book)
    verdict = plausibility(consumption=check.consumption, expected=expected, factor=factor)
    outcome.expected, outcome.low, outcome.high = expected, verdict.low, verdict.high
    if not verdict.plausible:
        outcome.status = TO_CHECK  # pending: not a previous reading for the next one, as in the portal
        return
    outcome.status = ACCEPTED
    history.latest = (day, outcome.value)
    if history.full:  # the next reading of the register in this batch weighs it too (summaries hold one only)
        history.readings.append(ReadingIn(outcome.register, day, outcome.value, False, meter.serial))
