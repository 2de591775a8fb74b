"""Move out: check the date and the final readings, record them and end the contract, all or nothing.

Rules (said to the customer on the form):
- the move-out date is after the contract's start, at most MAX_DAYS_AHEAD days ahead and at most
  MAX_DAYS_PAST days in the past, and not inside a period a bill already covers (before `billed_until`);
- a final reading is given for every register of the meter installed at the point of delivery on that date,
  and none is lower than the register's previous actual reading (not estimated, not rejected) on or before
  that date; a meter that rolled over is for staff to handle, so it is refused with that advice.
The contract's end date becomes the move-out date (periods are [start, end), so the move-out day is the
first day not supplied); the next billing run then makes the final bill from the final reading. The
contract's status becomes "ended" at once when the date has been reached, otherwise by
`end_contracts_reached` on that day.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation

from sqlalchemy import select, update

from domain.contracts.models import Contract
from domain.db import db
from domain.readings.models import MeterReading
from domain.sites.models import Register

MAX_DAYS_AHEAD = 60
MAX_DAYS_PAST = 30


class MoveOutRefused(ValueError):
    """The move out cannot be recorded; `code` says why. For code "readings", `registers` holds every
    register's problem: register code -> (problem code, details)."""

    def __init__(self, code: str, *, registers: dict[str, tuple[str, dict]] | None = None, **details):
        super().__init__(code if not registers else f"{code}: {sorted(registers)}")
        self.code = code
        self.registers = registers or {}
        self.details = details


@dataclass(frozen=True)
class RegisterToRead:
    """A register the customer gives a final reading for, with its previous actual reading."""

    register: Register
    previous: MeterReading | None


def date_problem(*, move_out_on: date | None, contract: Contract, today: date) -> str | None:
    """Why this move-out date is refused (a code), or None when it is acceptable. Pure."""
    if move_out_on is None:
        return "date_missing"
    if move_out_on <= contract.start_date:
        return "date_before_start"
    if move_out_on > today + timedelta(days=MAX_DAYS_AHEAD):
        return "date_too_far"
    if move_out_on < today - timedelta(days=MAX_DAYS_PAST):
        return "date_too_old"
    if contract.billed_until is not None and move_out_on < contract.billed_until:
        return "date_billed"
    if contract.end_date is not None:
        return "already_ending"
    return None


def previous_actual_reading(*, register_id: int, on_or_before: date) -> MeterReading | None:
    """The register's latest reading on or before the date that was read, not estimated, and not rejected."""
    return db.session.scalar(
        select(MeterReading)
        .where(MeterReading.register_id == register_id, MeterReading.read_on <= on_or_before,
               MeterReading.source != "estimated", MeterReading.status != "rejected")
        .order_by(MeterReading.read_on.desc(), MeterReading.received_at.desc(), MeterReading.id.desc())
        .limit(1)
    )


def registers_to_read(*, contract: Contract, on: date) -> list[RegisterToRead]:
    """The registers of the meter at the contract's point of delivery on that date, with previous readings."""
    meter = contract.delivery_point.meter_on(on) or contract.delivery_point.current_meter
    if meter is None:
        return []
    return [RegisterToRead(register=r, previous=previous_actual_reading(register_id=r.id, on_or_before=on))
            for r in meter.registers]


def parse_reading(raw) -> Decimal | None:
    """A reading typed by the customer ("1 234,5" or "1234.5"), or None when it is not a number."""
    if raw is None:
        return None
    if isinstance(raw, Decimal):
        return raw
    text = str(raw).strip().replace("\u00a0", "").replace(" ", "").replace(",", ".")
    try:
        value = Decimal(text)
    except InvalidOperation:
        return None
    return value if value.is_finite() else None


def move_out(*, contract: Contract, move_out_on: date | None, readings: dict[str, Decimal | None], today: date,
             now: datetime, customer_user_id: int | None) -> MeterReading:
    """Record the final readings and end the contract; returns the first register's final reading.

    Everything is checked before anything is written, so a refusal stores nothing."""
    # Two move outs of one contract at once: the second waits here, then sees the first one's end date.
    db.session.refresh(contract, with_for_update=True)
    problem = date_problem(move_out_on=move_out_on, contract=contract, today=today)
    if problem:
        raise MoveOutRefused(problem, billed_until=contract.billed_until, start=contract.start_date)
    to_read = registers_to_read(contract=contract, on=move_out_on)
    if not to_read:
        raise MoveOutRefused("no_meter")
    values, problems = {}, {}
    for item in to_read:
        code = item.register.code
        value = readings.get(code)
        if value is None:
            problems[code] = ("reading_missing", {})
        elif value < 0 or value != value.quantize(Decimal("0.001")):
            problems[code] = ("reading_invalid", {})
        elif item.previous is not None and value < item.previous.value:
            problems[code] = ("reading_lower", {"previous": item.previous.value, "previous_on": item.previous.read_on,
                                                "unit": item.register.meter.unit})
        else:
            values[code] = value
    if problems:
        raise MoveOutRefused("readings", registers=problems)

    final = [
        MeterReading(register_id=item.register.id, read_on=move_out_on, value=values[item.register.code],
                     source="customer", status="valid", received_at=now, submitted_by_user_id=customer_user_id)
        for item in to_read
    ]
    db.session.add_all(final)
    contract.end_date = move_out_on
    if move_out_on <= today:
        contract.status = "ended"
    db.session.flush()
    return final[0]


def end_contracts_reached(*, today: date) -> int:
    """Mark as ended the current tenant's contracts whose end date has been reached. Safe to run twice."""
    result = db.session.execute(
        update(Contract)
        .where(Contract.status == "active", Contract.end_date.is_not(None), Contract.end_date <= today)
        .values(status="ended")
    )
    return result.rowcount


def end_contracts_reached_job(*, today_iso: str) -> dict:
    """Job (worker.JOBS "requests.end_contracts_reached"): run daily per tenant, e.g. by a scheduler."""
    return {"ended": end_contracts_reached(today=date.fromisoformat(today_iso))}
