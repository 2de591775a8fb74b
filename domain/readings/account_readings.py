"""The meter readings of one customer account as the customer file shows them: where each came from, its status and
who validated it, newest first, paged. Readings count while the account's contract held the point of delivery."""
from __future__ import annotations

from dataclasses import dataclass
from sqlalchemy import and_, false, func, or_, select

from domain.audit.models import AuditEvent
from domain.db import db
from domain.paging import Page, page_of
from domain.readings.models import MeterReading
from domain.sites.models import Meter, MeterInstallation, Register

REVIEW_ACTIONS = ("reading_accepted", "reading_rejected", "reading_corrected")


@dataclass(frozen=True)
class ReadingRow:
    reading: MeterReading
    meter_serial: str
    register_code: str
    unit: str
    origin: str  # portal, phone, meter_reader, smart_meter, estimate, regularisation, import, staff
    reviewed_by: str | None  # who accepted, rejected or corrected it in the queue of readings to check
    review: str | None  # the review's action (REVIEW_ACTIONS)
    entered_by: str | None  # the staff member who entered it for the customer


def origin_of(reading: MeterReading) -> str:
    """Where a reading came from, from its source and how it arrived."""
    if reading.imported:
        return "import"
    if reading.source == "customer":
        return "phone" if reading.entered_by_staff_id else "portal"
    if reading.source == "agent":
        return "meter_reader"
    if reading.source == "estimated":
        return "estimate"
    return reading.source  # smart_meter, regularisation


def _condition(account):
    """Readings of the registers installed at the account's points of delivery, within its contracts' periods."""
    periods = []
    for contract in account.contracts:
        installed = select(Register.id).join(MeterInstallation, MeterInstallation.meter_id == Register.meter_id).where(
            MeterInstallation.delivery_point_id == contract.delivery_point_id)
        clause = [MeterReading.register_id.in_(installed), MeterReading.read_on >= contract.start_date]
        if contract.end_date is not None:
            clause.append(MeterReading.read_on <= contract.end_date)
        periods.append(and_(*clause))
    return or_(*periods) if periods else false()


def readings_of_account(*, account, requested_page: str | None = None,
                        size: int | None = 20) -> tuple[Page, list[ReadingRow]]:
    """One page of the account's readings, newest first (`size` None: all of them, for an export)."""
    from domain.identity.models import StaffUser

    where = _condition(account)
    total = db.session.scalar(select(func.count(MeterReading.id)).where(where)) or 0
    page = page_of(requested=requested_page, total=total, size=size or max(total, 1))
    rows = db.session.execute(
        select(MeterReading, Meter.serial_number, Register.code, Meter.unit)
        .join(Register, Register.id == MeterReading.register_id).join(Meter, Meter.id == Register.meter_id)
        .where(where).order_by(MeterReading.read_on.desc(), MeterReading.received_at.desc(), MeterReading.id.desc())
        .offset(page.offset).limit(page.size)).all()
    reviews = _reviews(account, {reading.id for reading, *_rest in rows})
    staff_ids = {reading.entered_by_staff_id for reading, *_rest in rows if reading.entered_by_staff_id}
    staff = {staff_id: name for staff_id, name in db.session.execute(
        select(StaffUser.id, StaffUser.full_name).where(StaffUser.id.in_(staff_ids)))} if staff_ids else {}
    out = []
    for reading, serial, code, unit in rows:
        action, who = reviews.get(reading.id, (None, None))
        out.append(ReadingRow(reading, serial, code, unit, origin_of(reading), who, action,
                              staff.get(reading.entered_by_staff_id)))
    return page, out


def _reviews(account, reading_ids: set[int]) -> dict[int, tuple[str, str]]:
    """reading id -> (action, who) of the latest review of each reading (the account's history records them)."""
    if not reading_ids:
        return {}
    found: dict[int, tuple[str, str]] = {}
    events = db.session.scalars(
        select(AuditEvent).where(AuditEvent.entity_type == "CustomerAccount", AuditEvent.entity_id == account.id,
                                 AuditEvent.action.in_(REVIEW_ACTIONS))
        .order_by(AuditEvent.occurred_at, AuditEvent.id))
    for event in events:
        reading_id = (event.changes or {}).get("reading_id")
        if reading_id in reading_ids:
            found[reading_id] = (event.action, event.actor_label)
    return found
