"""Staff review of readings "to be checked": the queue, and accepting, rejecting or correcting a reading.

Billing reads only valid readings (`status == "valid"`), so a pending reading waits outside every bill: accepting
makes it billable, rejecting keeps it out for good, correcting rejects it and stores the right index as a valid
reading of the meter reader ("agent"). Each decision closes the `reading_check` task once no reading of the
same submission is left to check, and is recorded on the customer's account in the audit trail.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from domain.audit.recorder import record_event
from domain.contracts.models import Contract, CustomerAccount
from domain.db import db
from domain.identity.models import CustomerAccess, CustomerUser
from domain.readings.events import publish_judged
from domain.readings.models import MeterReading
from domain.readings.photos import key_pattern, read_photo, valid_token
from domain.readings.services import TASK_KIND, _history
from domain.readings.validation import (
    DEFAULT_PLAUSIBILITY_FACTOR,
    IndexCheck,
    Plausibility,
    ReadingProblem,
    check_index,
    expected_consumption,
    plausibility,
)
from domain.sites.models import DeliveryPoint, Meter, MeterInstallation, Register
from domain.tasks.services import close_tasks

log = logging.getLogger(__name__)

PAGE_SIZE = 20
REASON_MAX = 255


class ReadingGone(LookupError):
    """No reading with this id in the tenant (or someone else's: same answer)."""


class ReviewRefused(ValueError):
    """Nothing was changed. `code`: "handled" (already accepted or rejected: `status` says which), "reason"
    (a rejection needs a reason), "same_value" (a correction equal to the customer's index), "index"
    (the corrected index is refused: `problem` is the ReadingProblem), or "implausible" (the corrected index
    gives a consumption outside the plausible range and was not confirmed: `judged` has the figures)."""

    def __init__(self, code: str, *, status: str | None = None, problem: ReadingProblem | None = None,
                 judged: Judgement | None = None):
        super().__init__(code)
        self.code = code
        self.status = status
        self.problem = problem
        self.judged = judged


@dataclass(frozen=True)
class Judgement:
    """An index weighed as a customer's is: the consumption since the previous actual reading, what was
    expected over those days, and the range accepted without a check."""

    previous: PreviousReading | None
    consumption: Decimal | None
    expected: Decimal | None
    plausibility: Plausibility


# --- the queue ----------------------------------------------------------------------------------------------------

@dataclass
class PreviousReading:
    read_on: date
    value: Decimal


@dataclass
class ReadingToCheck:
    reading: MeterReading
    register: Register
    meter: Meter
    delivery_point: DeliveryPoint | None
    contract: Contract | None
    account: CustomerAccount | None
    previous: PreviousReading | None
    consumption: Decimal | None  # since the previous actual reading, in the meter's unit (after the multiplier)
    expected: Decimal | None
    plausibility: Plausibility


@dataclass
class QueuePage:
    items: list[ReadingToCheck]
    total: int
    page: int
    pages: int


def pending_count() -> int:
    return db.session.scalar(select(func.count(MeterReading.id)).where(MeterReading.status == "pending")) or 0


def readings_to_check(*, page: int = 1, per_page: int = PAGE_SIZE) -> QueuePage:
    """The tenant's pending readings, oldest received first, one page of them with what staff judge them on."""
    total = pending_count()
    pages = max(1, -(-total // per_page))
    page = min(max(1, page), pages)
    readings = list(db.session.scalars(
        select(MeterReading).where(MeterReading.status == "pending")
        .options(selectinload(MeterReading.register).selectinload(Register.meter).selectinload(Meter.registers))
        .order_by(MeterReading.received_at, MeterReading.id)
        .offset((page - 1) * per_page).limit(per_page)))
    points = _points_of(readings)
    contracts = _contracts_of([dp.id for dp in points.values() if dp is not None])
    return QueuePage([_judged(r, points.get(r.id), contracts) for r in readings], total, page, pages)


def _points_of(readings: list[MeterReading]) -> dict[int, DeliveryPoint | None]:
    """reading id -> the point of delivery its meter was installed at on the reading's day."""
    meter_ids = {r.register.meter_id for r in readings}
    if not meter_ids:
        return {}
    installations = list(db.session.scalars(
        select(MeterInstallation).where(MeterInstallation.meter_id.in_(meter_ids))
        .options(selectinload(MeterInstallation.delivery_point).selectinload(DeliveryPoint.premise),
                 selectinload(MeterInstallation.delivery_point).selectinload(DeliveryPoint.installations)
                 .selectinload(MeterInstallation.meter).selectinload(Meter.registers))))
    found = {}
    for reading in readings:
        found[reading.id] = next(
            (inst.delivery_point for inst in installations
             if inst.meter_id == reading.register.meter_id and inst.installed_on <= reading.read_on
             and (inst.removed_on is None or reading.read_on <= inst.removed_on)), None)
    return found


def _contracts_of(delivery_point_ids: list[int]) -> list[Contract]:
    if not delivery_point_ids:
        return []
    return list(db.session.scalars(
        select(Contract).where(Contract.delivery_point_id.in_(delivery_point_ids))
        .options(selectinload(Contract.account).selectinload(CustomerAccount.holder))
        .order_by(Contract.start_date, Contract.id)))


def _contract_on(contracts: list[Contract], delivery_point_id: int, day: date) -> Contract | None:
    """The contract supplying the point that day; a final reading dated on the end day belongs to it."""
    found = [c for c in contracts if c.delivery_point_id == delivery_point_id and c.start_date <= day
             and (c.end_date is None or day <= c.end_date)]
    return found[-1] if found else None


def _weigh(reading: MeterReading, dp: DeliveryPoint | None,
           contract: Contract | None) -> tuple[PreviousReading | None, Decimal | None]:
    """(the register's previous actual reading, the consumption expected since then up to the reading's day),
    from the register's history without the reading itself."""
    if dp is None:
        return None, None
    register, meter = reading.register, reading.register.meter
    meters, history = _history(dp, reading.read_on, {reading.id})
    mine = [r for r in history if r.meter_serial == meter.serial_number and r.register_code == register.code
            and not r.estimated]
    if not mine:
        return None, None
    previous = PreviousReading(mine[-1].read_on, mine[-1].value)
    expected = expected_consumption(
        activity=dp.activity, meters=meters, readings=history, register_code=register.code,
        share=len(meter.registers), since=previous.read_on, day=reading.read_on,
        estimated_annual_consumption=contract.estimated_annual_consumption if contract else None)
    return previous, expected


def _judged(reading: MeterReading, dp: DeliveryPoint | None, contracts: list[Contract]) -> ReadingToCheck:
    register, meter = reading.register, reading.register.meter
    contract = _contract_on(contracts, dp.id, reading.read_on) if dp is not None else None
    previous, expected = _weigh(reading, dp, contract)
    consumption = None
    if previous is not None:
        try:
            consumption = _check(reading.value, previous, meter, reading.rollover_confirmed).consumption
        except ReadingProblem:
            consumption = None  # the history changed since: staff see the figures without a consumption
    verdict = plausibility(consumption=consumption, expected=expected)
    return ReadingToCheck(reading, register, meter, dp, contract, contract.account if contract else None, previous,
                          consumption, expected, verdict)


def _check(value: Decimal, previous: PreviousReading | None, meter: Meter, rollover: bool) -> IndexCheck:
    return check_index(value=value, previous=previous.value if previous else None, digits=meter.digits,
                       multiplier=meter.multiplier, rollover_confirmed=rollover)


def reading_by_id(*, reading_id: int) -> MeterReading | None:
    return db.session.scalar(select(MeterReading).where(MeterReading.id == reading_id))


def staff_photo(*, token: str, tenant_id: int) -> tuple[bytes, str]:
    """The bytes and type of the photo sent with one of the tenant's readings; ReadingGone otherwise."""
    if not valid_token(token):
        raise ReadingGone(token)
    key = db.session.scalar(select(MeterReading.photo_path)
                            .where(MeterReading.photo_path.like(key_pattern(tenant_id=tenant_id, token=token)))
                            .limit(1))
    if key is None:
        raise ReadingGone(token)
    try:
        return read_photo(tenant_id=tenant_id, key=key)
    except FileNotFoundError as exc:
        raise ReadingGone(token) from exc


# --- decisions ----------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Recipient:
    email: str
    locale: str | None


@dataclass
class Review:
    reading: MeterReading
    decision: str  # accepted, rejected, corrected
    account: CustomerAccount | None
    corrected_by: MeterReading | None = None
    task_closed: bool = False
    recipients: tuple[Recipient, ...] = ()


def _locked_pending(reading_id: int) -> MeterReading:
    """The reading, locked with its meter (as a customer's new reading locks it), still pending; else refused."""
    reading = reading_by_id(reading_id=reading_id)
    if reading is None:
        raise ReadingGone(reading_id)
    db.session.scalar(select(Meter).where(Meter.id == reading.register.meter_id).with_for_update())
    reading = db.session.scalar(select(MeterReading).where(MeterReading.id == reading_id).with_for_update()
                                .execution_options(populate_existing=True))
    if reading.status != "pending":
        raise ReviewRefused("handled", status=reading.status)
    return reading


def _account_of(reading: MeterReading) -> CustomerAccount | None:
    dp = _points_of([reading]).get(reading.id)
    if dp is None:
        return None
    contract = _contract_on(_contracts_of([dp.id]), dp.id, reading.read_on)
    return contract.account if contract else None


def _close_check(reading: MeterReading, staff_user_id: int, now: datetime) -> bool:
    """Close the task of the reading's submission (the customer's readings of the meter's registers that day)
    once none of them is left to check."""
    register_ids = [r.id for r in reading.register.meter.registers]
    same_day = list(db.session.scalars(select(MeterReading).where(
        MeterReading.register_id.in_(register_ids), MeterReading.read_on == reading.read_on,
        MeterReading.source == reading.source)))
    if any(r.status == "pending" for r in same_day if r.id != reading.id):
        return False
    closed = close_tasks(kind=TASK_KIND, subject_type="meter_reading", subject_ids={r.id for r in same_day},
                         staff_user_id=staff_user_id, now=now)
    return bool(closed)


def _recipients(reading: MeterReading, account: CustomerAccount | None) -> tuple[Recipient, ...]:
    """Who is told: the customer who gave the reading if they still see the account, else everyone who does."""
    if account is None:
        return ()
    users = list(db.session.scalars(
        select(CustomerUser).join(CustomerAccess, CustomerAccess.customer_user_id == CustomerUser.id)
        .where(CustomerAccess.account_id == account.id, CustomerUser.is_active.is_(True))
        .order_by(CustomerUser.id)))
    giver = [u for u in users if u.id == reading.submitted_by_user_id]
    return tuple(Recipient(u.email, u.locale or account.locale) for u in (giver or users))


def _audit(reading: MeterReading, account: CustomerAccount | None, action: str, now: datetime, **details) -> None:
    """One business event on the account (its history shows it), beside the per-row changes the recorder keeps."""
    meter = reading.register.meter
    record_event(db.session, tenant_id=reading.tenant_id, action=action,
                 entity_type="CustomerAccount" if account else "MeterReading",
                 entity_id=account.id if account else reading.id, occurred_at=now,
                 details={"reading_id": reading.id, "meter": meter.serial_number, "register": reading.register.code,
                          "read_on": reading.read_on, "value": reading.value, **details})


def _finish(reading: MeterReading, decision: str, staff_user_id: int, now: datetime, *, tell: bool,
            corrected_by: MeterReading | None = None, **details) -> Review:
    db.session.flush()
    publish_judged([reading, *([corrected_by] if corrected_by is not None else [])], now=now)
    account = _account_of(reading)
    closed = _close_check(reading, staff_user_id, now)
    _audit(reading, account, f"reading_{decision}", now, **details)
    log.info("reading %s tenant=%s reading=%s staff=%s task_closed=%s", decision, reading.tenant_id, reading.id,
             staff_user_id, closed)
    return Review(reading, decision, account, corrected_by, closed, _recipients(reading, account) if tell else ())


def accept_reading(*, reading_id: int, staff_user_id: int, now: datetime) -> Review:
    """The reading becomes valid: billing uses it from now on."""
    reading = _locked_pending(reading_id)
    reading.status = "valid"
    reading.rejection_reason = None
    return _finish(reading, "accepted", staff_user_id, now, tell=reading.source == "customer")


def _clean_reason(reason: str | None) -> str:
    return " ".join((reason or "").split())[:REASON_MAX]


def reject_reading(*, reading_id: int, reason: str, staff_user_id: int, now: datetime) -> Review:
    """The reading is rejected with a reason the customer sees: billing never uses it."""
    reading = _locked_pending(reading_id)
    reason = _clean_reason(reason)
    if not reason:
        raise ReviewRefused("reason")
    reading.status = "rejected"
    reading.rejection_reason = reason
    return _finish(reading, "rejected", staff_user_id, now, tell=True, reason=reason)


def correct_reading(*, reading_id: int, value: Decimal, rollover_confirmed: bool, reason: str | None,
                    staff_user_id: int, now: datetime, implausible_confirmed: bool = False,
                    plausibility_factor: Decimal = DEFAULT_PLAUSIBILITY_FACTOR) -> Review:
    """The customer's reading is rejected and the right index, checked like any index against the previous
    actual reading, is stored as a valid reading of the same day by the meter reader ("agent").

    The right index is weighed as a customer's is: when the consumption it gives is outside the plausible
    range, nothing is stored until staff confirm it (`implausible_confirmed`, after the warning); a confirmed
    one says so on the reading (`implausible_confirmed`) and in the audit trail, with the figures."""
    reading = _locked_pending(reading_id)
    if value == reading.value:
        raise ReviewRefused("same_value")
    meter = reading.register.meter
    dp = _points_of([reading]).get(reading.id)
    contract = _contract_on(_contracts_of([dp.id]), dp.id, reading.read_on) if dp is not None else None
    previous, expected = _weigh(reading, dp, contract)
    try:
        check = _check(value, previous, meter, rollover_confirmed)
    except ReadingProblem as problem:
        raise ReviewRefused("index", problem=problem) from problem
    judged = Judgement(previous, check.consumption, expected,
                       plausibility(consumption=check.consumption, expected=expected, factor=plausibility_factor))
    implausible = not judged.plausibility.plausible
    if implausible and not implausible_confirmed:
        raise ReviewRefused("implausible", judged=judged)
    reason = _clean_reason(reason) or None
    reading.status = "rejected"
    reading.rejection_reason = reason
    corrected = MeterReading(register_id=reading.register_id, read_on=reading.read_on, value=value, source="agent",
                             status="valid", received_at=now, rollover_confirmed=check.rolled_over,
                             implausible_confirmed=implausible)
    db.session.add(corrected)
    db.session.flush()
    figures = {}
    if implausible:
        figures = {"implausible_confirmed": True, "consumption": judged.consumption, "expected": judged.expected,
                   "accepted_low": judged.plausibility.low, "accepted_high": judged.plausibility.high}
    return _finish(reading, "corrected", staff_user_id, now, tell=True, corrected_by=corrected,
                   corrected_value=value, corrected_reading_id=corrected.id, reason=reason, **figures)
