"""Customer self-reading and consumption: which meters a customer may read, taking a reading, its history.

A customer reaches a meter only through a contract of an account they have access to, and sees readings only
from the periods of those contracts (never a previous occupant's). The rules on the index itself live in
`domain.readings.validation` (pure); this module loads, decides the status, stores, and opens the staff task.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from domain.audit.recorder import record_event
from domain.billing.engine.consumption import to_billed
from domain.billing.engine.model import MeterIn, ReadingIn
from domain.billing.plan_models import DownPaymentPlan
from domain.contracts.models import Contract
from domain.db import db
from domain.identity.models import CustomerAccess
from domain.readings import consumption as monthly
from domain.readings import interval_checks, intervals
from domain.readings.models import MeterReading
from domain.readings.photos import PhotoRefused, check_photo, key_pattern, read_photo, store_photo, valid_token
from domain.readings.validation import (
    DEFAULT_PLAUSIBILITY_FACTOR,
    IndexCheck,
    Plausibility,
    ReadingProblem,
    check_index,
    expected_consumption,
    plausibility,
)
from domain.readings.window import reading_window, window_is_open
from domain.sites.models import DeliveryPoint, Meter, MeterInstallation, Register
from domain.tasks.models import Task, WorkGroup
from domain.tasks.services import create_task

log = logging.getLogger(__name__)

METERING_GROUP = ("metering", "Metering")  # created with each tenant; re-created here if someone removed it
TASK_KIND = "reading_check"


class MeterNotFound(LookupError):
    """No meter with this serial that this customer may read (missing or someone else's: same answer)."""


class ReadingRefused(ValueError):
    """The reading cannot be taken; nothing was stored. `problems` maps a register code (or "photo") to why."""

    def __init__(self, problems: dict[str, ReadingProblem | PhotoRefused]):
        super().__init__(", ".join(f"{key}: {problem.reason}" for key, problem in problems.items()))
        self.problems = problems


# --- what the customer may see ------------------------------------------------------------------------------------

@dataclass
class RegisterState:
    register: Register
    previous: MeterReading | None  # latest valid actual reading up to today (the one a new reading is checked on)
    today: MeterReading | None  # the customer's own reading of today, which a new one replaces


@dataclass
class MeterState:
    account_number: str
    contract: Contract
    delivery_point: DeliveryPoint
    meter: Meter
    registers: list[RegisterState]
    window: tuple[date, date] | None
    window_open: bool


def _customer_contracts(customer_user_id: int) -> list[Contract]:
    stmt = (
        select(Contract)
        .join(CustomerAccess, CustomerAccess.account_id == Contract.account_id)
        .where(CustomerAccess.customer_user_id == customer_user_id)
        .options(
            selectinload(Contract.account),
            selectinload(Contract.delivery_point).selectinload(DeliveryPoint.premise),
            selectinload(Contract.delivery_point).selectinload(DeliveryPoint.installations)
            .selectinload(MeterInstallation.meter).selectinload(Meter.registers),
        )
        .order_by(Contract.start_date, Contract.id)
    )
    return list(db.session.scalars(stmt))


def active_plans(contract_ids: list[int]) -> dict[int, tuple[date, date]]:
    """`(start_on, true_up_on)` of each contract's active budget plan (the reading window's year under a plan)."""
    if not contract_ids:
        return {}
    rows = db.session.execute(
        select(DownPaymentPlan.contract_id, DownPaymentPlan.start_on, DownPaymentPlan.true_up_on)
        .where(DownPaymentPlan.contract_id.in_(contract_ids), DownPaymentPlan.status == "active"))
    return {contract_id: (start_on, true_up_on) for contract_id, start_on, true_up_on in rows}


def _live(contract: Contract, today: date) -> bool:
    return contract.is_live_on(today) and contract.account.status == "active"


def _latest_readings(register_ids: list[int], today: date) -> tuple[dict[int, MeterReading], dict[int, MeterReading]]:
    """Per register: the latest valid actual reading up to today (not the customer's own of today), and the
    customer's own reading of today."""
    if not register_ids:
        return {}, {}
    rows = db.session.scalars(
        select(MeterReading)
        .where(MeterReading.register_id.in_(register_ids), MeterReading.read_on <= today)
        .order_by(MeterReading.read_on, MeterReading.id)
    )
    previous: dict[int, MeterReading] = {}
    todays: dict[int, MeterReading] = {}
    for reading in rows:
        if reading.source == "customer" and reading.read_on == today:
            todays[reading.register_id] = reading
        elif reading.status == "valid" and reading.source != "estimated":
            previous[reading.register_id] = reading
    return previous, todays


def meters_to_read(*, customer_user_id: int, tenant, today: date) -> list[MeterState]:
    """The meters in service today on the customer's live contracts, with each register's previous reading
    and the contract's reading window."""
    found = []
    contracts = [c for c in _customer_contracts(customer_user_id) if _live(c, today)]
    plans = active_plans([c.id for c in contracts])
    for contract in contracts:
        meter = contract.delivery_point.meter_on(today)
        if meter is None:
            continue
        window = reading_window(contract, tenant, today, plan=plans.get(contract.id))
        found.append(MeterState(contract.account.account_number, contract, contract.delivery_point, meter, [],
                                window, window_is_open(window, today)))
    previous, todays = _latest_readings([r.id for state in found for r in state.meter.registers], today)
    for state in found:
        state.registers = [RegisterState(r, previous.get(r.id), todays.get(r.id)) for r in state.meter.registers]
    return found


def meter_to_read(*, customer_user_id: int, serial: str, tenant, today: date) -> MeterState:
    for state in meters_to_read(customer_user_id=customer_user_id, tenant=tenant, today=today):
        if state.meter.serial_number == serial:
            return state
    raise MeterNotFound(serial)


# --- taking a reading ---------------------------------------------------------------------------------------------

@dataclass
class RegisterOutcome:
    register: Register
    reading: MeterReading
    check: IndexCheck
    expected: Decimal | None
    plausibility: Plausibility


@dataclass
class Submission:
    state: MeterState
    outcomes: list[RegisterOutcome] = field(default_factory=list)
    replaced: bool = False
    task: Task | None = None

    @property
    def pending(self) -> bool:
        return any(outcome.reading.status == "pending" for outcome in self.outcomes)


def _history(delivery_point: DeliveryPoint, today: date, leave_out: set[int]) -> tuple[tuple, tuple]:
    """Every meter of the point of delivery and their valid readings up to today, as the engine takes them."""
    meters, register_meter = [], {}
    for inst in delivery_point.installations:
        meter = inst.meter
        meters.append(MeterIn(meter.serial_number, meter.digits, meter.multiplier, meter.unit, inst.installed_on,
                              inst.removed_on, tuple(r.code for r in meter.registers)))
        register_meter.update({r.id: (meter.serial_number, r.code) for r in meter.registers})
    rows = db.session.execute(
        select(MeterReading.id, MeterReading.register_id, MeterReading.read_on, MeterReading.value,
               MeterReading.source)
        .where(MeterReading.register_id.in_(list(register_meter)), MeterReading.status == "valid",
               MeterReading.read_on <= today)
        .order_by(MeterReading.read_on, MeterReading.id)
    )
    readings = tuple(
        ReadingIn(register_meter[register_id][1], read_on, value, source == "estimated", register_meter[register_id][0])
        for reading_id, register_id, read_on, value, source in rows if reading_id not in leave_out
    )
    return tuple(meters), readings


def _metering_group() -> WorkGroup:
    code, name = METERING_GROUP
    group = db.session.scalar(select(WorkGroup).where(WorkGroup.code == code))
    if group is not None:
        return group
    try:
        with db.session.begin_nested():
            group = WorkGroup(code=code, name=name)
            db.session.add(group)
    except IntegrityError:  # created meanwhile by a concurrent request
        group = db.session.scalar(select(WorkGroup).where(WorkGroup.code == code))
    return group


def _task_details(state: MeterState, outcomes: list[RegisterOutcome], unit: str) -> str:
    lines = [f"Point of delivery {state.delivery_point.identifier}, account {state.account_number}, "
             f"meter {state.meter.serial_number} ({state.meter.digits} digits)."]
    for outcome in outcomes:
        previous = _previous_of(state, outcome.register)
        since = f" since {previous.read_on.isoformat()} (index {previous.value})" if previous else ""
        verdict = "out of bounds" if not outcome.plausibility.plausible else "plausible"
        lines.append(
            f"{outcome.register.code}: given index {outcome.reading.value}, consumption {outcome.check.consumption} "
            f"{unit}{since}; expected {outcome.expected} {unit} (accepted between {outcome.plausibility.low} and "
            f"{outcome.plausibility.high}): {verdict}."
            + (" The customer confirmed a rollover." if outcome.check.rolled_over else "")
        )
    return "\n".join(lines)


def _previous_of(state: MeterState, register: Register) -> MeterReading | None:
    for line in state.registers:
        if line.register.id == register.id:
            return line.previous
    return None


@dataclass
class Judged:
    """One register's index weighed as the portal weighs it: the check against the previous actual reading,
    the consumption expected since then and whether the consumption is plausible."""

    line: RegisterState
    value: Decimal
    check: IndexCheck
    expected: Decimal | None
    plausibility: Plausibility


def judge_readings(*, state: MeterState, values: dict[str, Decimal], rollover_confirmed: bool, day: date,
                   leave_out: set[int], plausibility_factor: Decimal,
                   problems: dict[str, ReadingProblem | PhotoRefused] | None = None) -> list[Judged]:
    """Check every register's index of the meter (dated `day`) against its previous actual reading, the dial
    (rollover) and the expected consumption, as the portal does for a customer and the back office for staff.

    Raises ReadingRefused with every register's problem (and any `problems` found before) when one is refused;
    nothing is written here."""
    problems = dict(problems or {})
    meter = state.meter
    checks = {}
    for line in state.registers:
        code = line.register.code
        value = values.get(code)
        if value is None:
            problems[code] = ReadingProblem("missing")
            continue
        try:
            checks[code] = check_index(value=value, previous=line.previous.value if line.previous else None,
                                       digits=meter.digits, multiplier=meter.multiplier,
                                       rollover_confirmed=rollover_confirmed)
        except ReadingProblem as problem:
            problems[code] = problem
    if problems:
        raise ReadingRefused(problems)
    meters, readings = _history(state.delivery_point, day, leave_out)
    share = len(state.registers)
    judged = []
    for line in state.registers:
        code = line.register.code
        check = checks[code]
        expected = None
        if line.previous is not None:
            expected = expected_consumption(
                activity=state.delivery_point.activity, meters=meters, readings=readings, register_code=code,
                share=share, since=line.previous.read_on, day=day,
                estimated_annual_consumption=state.contract.estimated_annual_consumption)
        verdict = plausibility(consumption=check.consumption, expected=expected, factor=plausibility_factor)
        judged.append(Judged(line, values[code], check, expected, verdict))
    return judged


def submit_reading(*, customer_user_id: int, serial: str, values: dict[str, Decimal], rollover_confirmed: bool,
                   photo: bytes | None, tenant, today: date, now: datetime,
                   plausibility_factor: Decimal = DEFAULT_PLAUSIBILITY_FACTOR) -> Submission:
    """Take the customer's reading of every register of a meter, dated `today` (the tenant's date).

    All registers are checked before anything is written; any problem raises ReadingRefused with nothing
    stored. A reading lower than the previous actual one needs a confirmed rollover the dial allows. A
    consumption outside `[expected / factor, expected x factor]` is stored "pending" and a task is opened for
    the metering team; otherwise "valid". A second reading the same day replaces the customer's first one
    (the usual reason is a typo), and the task the first one opened, if any, is cancelled.
    """
    state = meter_to_read(customer_user_id=customer_user_id, serial=serial, tenant=tenant, today=today)
    meter = db.session.scalar(select(Meter).where(Meter.id == state.meter.id).with_for_update())
    problems: dict[str, ReadingProblem | PhotoRefused] = {}
    if photo is not None:
        try:
            check_photo(photo)
        except PhotoRefused as refused:
            problems["photo"] = refused
    replaced_ids = {line.today.id for line in state.registers if line.today is not None}
    judged = judge_readings(state=state, values=values, rollover_confirmed=rollover_confirmed, day=today,
                            leave_out=replaced_ids, plausibility_factor=plausibility_factor, problems=problems)

    submission = Submission(state, replaced=bool(replaced_ids))
    for item in judged:
        line = item.line
        reading = line.today or MeterReading(register_id=line.register.id, read_on=today, source="customer")
        reading.value = item.value
        reading.status = "valid" if item.plausibility.plausible else "pending"
        reading.received_at = now
        reading.submitted_by_user_id = customer_user_id
        reading.rollover_confirmed = item.check.rolled_over
        reading.rejection_reason = None
        db.session.add(reading)
        submission.outcomes.append(RegisterOutcome(line.register, reading, item.check, item.expected,
                                                   item.plausibility))
    db.session.flush()

    if photo is not None:
        key = store_photo(tenant_id=tenant.id, data=photo)
        for outcome in submission.outcomes:
            outcome.reading.photo_path = key
    if replaced_ids:
        _cancel_checks(replaced_ids, now)
    if submission.pending:
        submission.task = _open_check(state, submission, meter.unit, today, now)
    db.session.flush()
    log.info("reading submitted tenant=%s customer_user=%s meter=%s registers=%s status=%s replaced=%s task=%s",
             tenant.id, customer_user_id, meter.serial_number, len(submission.outcomes),
             "pending" if submission.pending else "valid", submission.replaced,
             submission.task.id if submission.task else None)
    return submission


def _cancel_checks(reading_ids: set[int], now: datetime) -> None:
    tasks = db.session.scalars(select(Task).where(
        Task.kind == TASK_KIND, Task.subject_type == "meter_reading", Task.subject_id.in_(reading_ids),
        Task.status.in_(("open", "in_progress"))))
    for task in tasks:
        task.status = "cancelled"
        task.done_at = now


def _open_check(state: MeterState, submission: Submission, unit: str, today: date, now: datetime) -> Task:
    first_pending = next(o.reading for o in submission.outcomes if o.reading.status == "pending")
    return create_task(
        group_id=_metering_group().id, kind=TASK_KIND,
        title=f"Check reading of meter {state.meter.serial_number} ({today.isoformat()})",
        params={"meter": state.meter.serial_number, "day": today.isoformat()},
        details=_task_details(state, submission.outcomes, unit),
        subject_type="meter_reading", subject_id=first_pending.id, now=now,
    )


# --- history and photos -------------------------------------------------------------------------------------------

@dataclass
class MeterHistory:
    meter: Meter
    delivery_point: DeliveryPoint
    readings: list[MeterReading]


def _visible_periods(contracts: list[Contract], delivery_point_id: int) -> list[tuple[date, date | None]]:
    """The customer's periods on a point of delivery, end day included (the final reading is dated on it)."""
    return [(c.start_date, c.end_date) for c in contracts if c.delivery_point_id == delivery_point_id]


def _within(day: date, periods: list[tuple[date, date | None]]) -> bool:
    return any(start <= day and (end is None or day <= end) for start, end in periods)


def _installations_seen(contracts: list[Contract]):
    """(installation, periods) for every meter installed on the customer's points of delivery while theirs."""
    seen = {}
    for contract in contracts:
        dp = contract.delivery_point
        periods = _visible_periods(contracts, dp.id)
        for inst in dp.installations:
            overlaps = any(inst.installed_on <= (end or inst.installed_on) and
                           (inst.removed_on is None or start <= inst.removed_on) for start, end in periods)
            if overlaps:
                seen[inst.id] = (inst, periods)
    return list(seen.values())


def reading_history(*, customer_user_id: int, serial: str) -> MeterHistory:
    """The readings of a meter the customer has (or had) on one of their points of delivery, newest first,
    limited to the customer's own contract periods and the meter's time on that point of delivery."""
    contracts = _customer_contracts(customer_user_id)
    matches = [(inst, periods) for inst, periods in _installations_seen(contracts)
               if inst.meter.serial_number == serial]
    if not matches:
        raise MeterNotFound(serial)
    meter = matches[0][0].meter
    rows = db.session.scalars(
        select(MeterReading)
        .where(MeterReading.register_id.in_([r.id for r in meter.registers]))
        .options(selectinload(MeterReading.register))
        .order_by(MeterReading.read_on.desc(), MeterReading.register_id, MeterReading.id.desc())
    )
    visible = [
        reading for reading in rows
        if any(inst.installed_on <= reading.read_on and (inst.removed_on is None or reading.read_on <= inst.removed_on)
               and _within(reading.read_on, periods) for inst, periods in matches)
    ]
    return MeterHistory(meter, matches[0][0].delivery_point, visible)


def customer_photo(*, customer_user_id: int, token: str, tenant_id: int) -> tuple[bytes, str]:
    """The bytes and type of a meter photo the customer sent (or may see in their history); MeterNotFound
    for anything else, including another tenant's or another customer's photo."""
    if not valid_token(token):
        raise MeterNotFound(token)
    reading = db.session.scalar(
        select(MeterReading)
        .where(MeterReading.photo_path.like(key_pattern(tenant_id=tenant_id, token=token)))
        .options(selectinload(MeterReading.register).selectinload(Register.meter))
        .limit(1)
    )
    if reading is None:
        raise MeterNotFound(token)
    history = reading_history(customer_user_id=customer_user_id, serial=reading.register.meter.serial_number)
    if reading.id not in {r.id for r in history.readings}:
        raise MeterNotFound(token)
    return read_photo(tenant_id=tenant_id, key=reading.photo_path)


# --- consumption --------------------------------------------------------------------------------------------------

@dataclass
class PointConsumption:
    delivery_point: DeliveryPoint
    unit: str  # kWh or m3, what the quantities are in
    converted_from_m3: bool
    months: list[monthly.MonthComparison]
    # Daily totals from a smart meter's interval data (latest days that have some), in `unit`; empty without.
    days: list[interval_checks.DayTotal] = field(default_factory=list)

    @property
    def has_data(self) -> bool:
        return any(m.current.quantity is not None or m.year_before.quantity is not None for m in self.months)


def consumption_points(*, customer_user_id: int, contracts: list[Contract] | None = None) -> list[DeliveryPoint]:
    """The customer's points of delivery (current and past contracts), each once, in contract order."""
    seen: dict[int, DeliveryPoint] = {}
    for contract in contracts if contracts is not None else _customer_contracts(customer_user_id):
        seen.setdefault(contract.delivery_point_id, contract.delivery_point)
    return list(seen.values())


def point_consumption(*, customer_user_id: int, identifier: str | None, tenant, today: date,
                      months: int = 24) -> tuple[list[DeliveryPoint], PointConsumption]:
    """Monthly consumption of one of the customer's points of delivery (the first when `identifier` is None)
    over the `months` complete months before today's, beside the same months a year earlier.

    Valid readings only, within the customer's own contract periods. Gas is shown in kWh with the tenant's
    calorific value and the point's correction factor (the engine's conversion), else in m3.
    """
    contracts = _customer_contracts(customer_user_id)
    points = consumption_points(customer_user_id=customer_user_id, contracts=contracts)
    chosen = points[0] if points and identifier is None else next(
        (dp for dp in points if dp.identifier == identifier), None)
    if chosen is None:
        raise MeterNotFound(identifier or "")
    periods = _visible_periods(contracts, chosen.id)
    wanted = monthly.last_months(today, months)
    since = wanted[0].replace(year=wanted[0].year - 1) - timedelta(days=400)
    registers = []
    by_register = {}
    for inst in chosen.installations:
        for register in inst.meter.registers:
            by_register[register.id] = (inst, register)
    rows = db.session.execute(
        select(MeterReading.register_id, MeterReading.read_on, MeterReading.value, MeterReading.source)
        .where(MeterReading.register_id.in_(list(by_register)), MeterReading.status == "valid",
               MeterReading.read_on >= since, MeterReading.read_on <= today)
        .order_by(MeterReading.read_on, MeterReading.id)
    ) if by_register else []
    grouped: dict[int, list] = {}
    for register_id, read_on, value, source in rows:
        inst, _register = by_register[register_id]
        in_service = inst.installed_on <= read_on and (inst.removed_on is None or read_on <= inst.removed_on)
        if in_service and _within(read_on, periods):
            grouped.setdefault(register_id, []).append(monthly.IndexReading(read_on, value, source == "estimated"))
    for register_id, found in grouped.items():
        inst, register = by_register[register_id]
        registers.append(monthly.RegisterReadings(inst.meter.digits, inst.meter.multiplier, tuple(found),
                                                  register.code))
    per_month = monthly.monthly_consumption(registers)
    per_day = intervals.point_daily_totals(point=chosen, periods=periods, today=today)
    unit, converted = chosen.unit, False
    if chosen.activity == "gas" and tenant.gas_calorific_value:
        unit, converted = "kWh", True

        def billed(value):
            return None if value is None else to_billed(
                activity="gas", quantity=value, correction_factor=chosen.gas_correction_factor,
                calorific_value=tenant.gas_calorific_value)

        per_month = {month: monthly.MonthConsumption(month, billed(m.quantity), m.estimated)
                     for month, m in per_month.items()}
        per_day = [interval_checks.DayTotal(d.day, billed(d.quantity)) for d in per_day]
    return points, PointConsumption(chosen, unit, converted, monthly.compare_with_year_before(per_month, wanted),
                                    per_day)



# --- readings staff enter on a customer's behalf ------------------------------------------------------------------

# How the staff member got the index -> the reading's source: the customer said it on the phone (the customer's
# reading), or a meter reader read it (the agent's).
STAFF_CHANNELS = {"phone": "customer", "meter_reader": "agent"}
MAX_STAFF_DAYS_PAST = 60


class StaffReadingRefused(ValueError):
    """The date does not allow a reading (nothing stored): `code` is "future", "too_old", "no_contract" (no
    contract of the account supplies the meter's point that day) or "later_reading" (an actual reading of the
    meter is dated after it: `details["latest"]`)."""

    def __init__(self, code: str, **details):
        super().__init__(code)
        self.code = code
        self.details = details


def previous_actual(register_ids: list[int], day: date) -> dict[int, MeterReading]:
    """Per register, the latest valid actual (not estimated) reading on or before `day`."""
    previous: dict[int, MeterReading] = {}
    if not register_ids:
        return previous
    for reading in db.session.scalars(
            select(MeterReading)
            .where(MeterReading.register_id.in_(register_ids), MeterReading.read_on <= day,
                   MeterReading.status == "valid", MeterReading.source != "estimated")
            .order_by(MeterReading.read_on, MeterReading.id)):
        previous[reading.register_id] = reading
    return previous


def latest_actual_on(register_ids: list[int]) -> date | None:
    """The date of the latest valid actual reading of these registers."""
    if not register_ids:
        return None
    return db.session.scalar(select(func.max(MeterReading.read_on)).where(
        MeterReading.register_id.in_(register_ids), MeterReading.status == "valid",
        MeterReading.source != "estimated"))


def meter_of_account(*, account, serial: str, day: date) -> MeterState:
    """The meter with this serial in service on `day` at a point of delivery one of the account's contracts
    supplies that day, with each register's previous actual reading; MeterNotFound otherwise (another account's
    or another tenant's meter answers the same)."""
    for contract in account.contracts:
        if not contract.is_live_on(day):
            continue
        meter = contract.delivery_point.meter_on(day)
        if meter is not None and meter.serial_number == serial:
            previous = previous_actual([r.id for r in meter.registers], day)
            return MeterState(account.account_number, contract, contract.delivery_point, meter,
                              [RegisterState(r, previous.get(r.id), None) for r in meter.registers], None, True)
    raise MeterNotFound(serial)


def meters_of_account(*, account, day: date) -> list[tuple[Contract, Meter]]:
    """The meters in service on `day` on the account's live contracts (what staff may enter a reading of)."""
    found = []
    for contract in account.contracts:
        meter = contract.delivery_point.meter_on(day) if contract.is_live_on(day) else None
        if meter is not None:
            found.append((contract, meter))
    return found


def implausible_problems(judged: list[Judged]) -> dict[str, ReadingProblem]:
    """A problem per register whose consumption is outside the plausible range, with the figures staff are
    warned with before they confirm."""
    return {item.line.register.code: ReadingProblem(
                "implausible", consumption=item.check.consumption, expected=item.expected,
                low=item.plausibility.low, high=item.plausibility.high)
            for item in judged if not item.plausibility.plausible}


def staff_reading_date_problem(*, day: date, today: date) -> str | None:
    if day > today:
        return "future"
    if day < today - timedelta(days=MAX_STAFF_DAYS_PAST):
        return "too_old"
    return None


def enter_reading_for_customer(*, account, serial: str, channel: str, read_on: date, values: dict[str, Decimal],
                               rollover_confirmed: bool, implausible_confirmed: bool, staff_user_id: int, tenant,
                               today: date, now: datetime,
                               plausibility_factor: Decimal = DEFAULT_PLAUSIBILITY_FACTOR) -> list[MeterReading]:
    """Record the index a customer gave on the phone, or a meter reader's, for every register of a meter of the
    account, dated `read_on` (today, or up to MAX_STAFF_DAYS_PAST days back, not before the meter's latest
    actual reading).

    The index goes through the portal's checks (`judge_readings`: format of the dial, lower than the previous one
    only with a rollover the dial allows, plausibility). A consumption outside the plausible range is refused
    (ReadingRefused, code "implausible" with the figures) until the staff member confirms it, as for a
    correction; then the reading says so (`implausible_confirmed`). Staff readings are valid at once: billing
    uses them. The account's history records the reading with its author; nothing is stored on any refusal."""
    source = STAFF_CHANNELS[channel]
    problem = staff_reading_date_problem(day=read_on, today=today)
    if problem:
        raise StaffReadingRefused(problem)
    try:
        state = meter_of_account(account=account, serial=serial, day=read_on)
    except MeterNotFound:
        if any(meter.serial_number == serial for _c, meter in meters_of_account(account=account, day=today)):
            raise StaffReadingRefused("no_contract") from None
        raise
    db.session.scalar(select(Meter).where(Meter.id == state.meter.id).with_for_update())
    latest = latest_actual_on([line.register.id for line in state.registers])
    if latest is not None and latest > read_on:
        raise StaffReadingRefused("later_reading", latest=latest)
    judged = judge_readings(state=state, values=values, rollover_confirmed=rollover_confirmed, day=read_on,
                            leave_out=set(), plausibility_factor=plausibility_factor)
    implausible = implausible_problems(judged)
    if implausible and not implausible_confirmed:
        raise ReadingRefused(implausible)
    stored = []
    for item in judged:
        reading = MeterReading(register_id=item.line.register.id, read_on=read_on, value=item.value, source=source,
                               status="valid", received_at=now, rollover_confirmed=item.check.rolled_over,
                               implausible_confirmed=not item.plausibility.plausible,
                               entered_by_staff_id=staff_user_id)
        db.session.add(reading)
        stored.append(reading)
    db.session.flush()
    record_event(db.session, tenant_id=account.tenant_id, action="reading_entered", entity_type="CustomerAccount",
                 entity_id=account.id, occurred_at=now,
                 details={"meter": state.meter.serial_number, "channel": channel, "read_on": read_on,
                          "values": {item.line.register.code: item.value for item in judged},
                          "reading_ids": [r.id for r in stored],
                          "implausible_confirmed": bool(implausible)})
    log.info("reading entered by staff tenant=%s account=%s meter=%s channel=%s staff=%s implausible=%s",
             tenant.id, account.account_number, state.meter.serial_number, channel, staff_user_id, bool(implausible))
    return stored
