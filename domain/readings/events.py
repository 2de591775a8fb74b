"""`reading.accepted` / `reading.rejected` for webhook subscribers: readings in one shape whoever sent them (the
API's batch, a customer in the portal, staff entering or reviewing one), published in bulk.

The shape (documented in the API's OpenAPI `webhooks`, api/schemas/events.py): the point of delivery, meter serial
and register, the date and index, the source, `accepted` or `rejected`, why it was rejected (a code, and staff's
words when staff rejected or corrected it), the sender's `external_id` (API batches) and when it was received.
"""
from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import select

from domain.db import db
from domain.readings.models import MeterReading
from domain.sites.models import DeliveryPoint, Meter, MeterInstallation, Register
from domain.webhooks.events import listening, publish

REJECTED_BY_STAFF = "rejected_by_staff"  # the reason code of a reading staff rejected or corrected


def reading_event(*, point: str | None, meter: str | None, register: str | None, read_on: date | None,
                  value: Decimal | None, source: str | None, accepted: bool, reason: str | None = None,
                  reason_text: str | None = None, external_id: str | None = None,
                  received_at: datetime | None = None) -> dict:
    """One reading as both events carry it."""
    return {"point": point, "meter": meter, "register": register, "read_on": read_on,
            "value": f"{value:.3f}" if value is not None else None, "source": source,
            "status": "accepted" if accepted else "rejected", "reason": None if accepted else reason,
            "reason_text": None if accepted else reason_text, "external_id": external_id, "received_at": received_at}


def reading_objects(readings: Sequence[MeterReading]) -> list[dict]:
    """Stored readings (valid or rejected) in the events' shape; two queries whatever the count."""
    registers = {register_id: (meter_id, serial, code) for register_id, meter_id, serial, code in db.session.execute(
        select(Register.id, Meter.id, Meter.serial_number, Register.code).join(Meter, Meter.id == Register.meter_id)
        .where(Register.id.in_({r.register_id for r in readings})))}
    installations: dict[int, list[tuple]] = {}
    for meter_id, installed_on, removed_on, identifier in db.session.execute(
            select(MeterInstallation.meter_id, MeterInstallation.installed_on, MeterInstallation.removed_on,
                   DeliveryPoint.identifier)
            .join(DeliveryPoint, DeliveryPoint.id == MeterInstallation.delivery_point_id)
            .where(MeterInstallation.meter_id.in_({meter_id for meter_id, _s, _c in registers.values()}))
            .order_by(MeterInstallation.installed_on.desc())):
        installations.setdefault(meter_id, []).append((installed_on, removed_on, identifier))

    def point_on(meter_id: int, day: date) -> str | None:
        """The point the meter was installed at that day (its removal day included, as its final reading's)."""
        return next((identifier for installed_on, removed_on, identifier in installations.get(meter_id, ())
                     if installed_on <= day and (removed_on is None or day <= removed_on)), None)

    found = []
    for r in readings:
        meter_id, serial, code = registers[r.register_id]
        rejected = r.status == "rejected"
        found.append(reading_event(point=point_on(meter_id, r.read_on), meter=serial, register=code, read_on=r.read_on,
                                   value=r.value, source=r.source, accepted=not rejected,
                                   reason=REJECTED_BY_STAFF if rejected else None,
                                   reason_text=r.rejection_reason if rejected else None,
                                   received_at=r.received_at))
    return found


def publish_judged(readings: Sequence[MeterReading], *, now: datetime) -> None:
    """`reading.accepted` for the valid ones, `reading.rejected` for the rejected ones (pending ones wait for
    their check); nothing is read when no subscription listens."""
    for event_type, status in (("reading.accepted", "valid"), ("reading.rejected", "rejected")):
        chosen = [r for r in readings if r.status == status]
        if chosen and listening(event_type):
            publish(event_type, reading_objects(chosen), occurred_at=now)
