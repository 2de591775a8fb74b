"""`reading.accepted` / `reading.rejected` for webhook subscribers: readings in the API's shape, in bulk."""
from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select

from domain.db import db
from domain.readings.models import MeterReading
from domain.sites.models import Meter, Register
from domain.webhooks.events import listening, publish


def reading_objects(readings: Sequence[MeterReading]) -> list[dict]:
    """Meter serial, register code, date, index, source, status (and why it was rejected); one query."""
    registers = {register_id: (serial, code) for register_id, serial, code in db.session.execute(
        select(Register.id, Meter.serial_number, Register.code).join(Meter, Meter.id == Register.meter_id)
        .where(Register.id.in_({r.register_id for r in readings})))}
    return [{"meter_serial": registers[r.register_id][0], "register": registers[r.register_id][1],
             "read_on": r.read_on, "value": r.value, "source": r.source, "status": r.status,
             "rejection_reason": r.rejection_reason, "received_at": r.received_at} for r in readings]


def publish_judged(readings: Sequence[MeterReading], *, now: datetime) -> None:
    """`reading.accepted` for the valid ones, `reading.rejected` for the rejected ones (pending ones wait for
    their check); nothing is read when no subscription listens."""
    for event_type, status in (("reading.accepted", "valid"), ("reading.rejected", "rejected")):
        chosen = [r for r in readings if r.status == status]
        if chosen and listening(event_type):
            publish(event_type, reading_objects(chosen), occurred_at=now)
