"""What the integration API shows of points of delivery (their premise's address, meters installed and their
registers), in change order for syncing; a page is three set-based queries, whatever its size."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import select

from domain.changes import ChangePage, Position, in_change_order, split_page
from domain.db import db
from domain.sites.models import ACTIVITY_UNITS, DeliveryPoint, Meter, MeterInstallation, Premise, Register


@dataclass(frozen=True)
class RegisterRecord:
    code: str
    label: str


@dataclass(frozen=True)
class InstalledMeterRecord:
    serial_number: str
    model: str | None
    digits: int
    multiplier: Decimal
    unit: str
    is_smart: bool
    installed_on: date
    removed_on: date | None
    registers: list[RegisterRecord]


@dataclass(frozen=True)
class PremiseRecord:
    public_id: str
    address_line1: str
    address_line2: str | None
    postcode: str
    city: str
    country: str


@dataclass(frozen=True)
class DeliveryPointRecord:
    identifier: str
    activity: str
    unit: str
    status: str
    subscribed_power: Decimal | None
    calorific_zone: str | None
    external_ref: str | None
    updated_at: datetime
    premise: PremiseRecord
    meters: list[InstalledMeterRecord]  # installs over time, oldest first; the current one has no removed_on


def _select():
    return (select(DeliveryPoint.id, DeliveryPoint.identifier, DeliveryPoint.activity, DeliveryPoint.status,
                   DeliveryPoint.subscribed_power, DeliveryPoint.calorific_zone, DeliveryPoint.external_ref,
                   DeliveryPoint.updated_at, Premise.public_id, Premise.address_line1, Premise.address_line2,
                   Premise.postcode, Premise.city, Premise.country)
            .join(Premise, (Premise.tenant_id == DeliveryPoint.tenant_id) & (Premise.id == DeliveryPoint.premise_id)))


def _records(rows) -> list[DeliveryPointRecord]:
    if not rows:
        return []
    installs = db.session.execute(
        select(MeterInstallation.delivery_point_id, MeterInstallation.installed_on, MeterInstallation.removed_on,
               Meter.id, Meter.serial_number, Meter.model, Meter.digits, Meter.multiplier, Meter.unit, Meter.is_smart)
        .join(Meter, (Meter.tenant_id == MeterInstallation.tenant_id) & (Meter.id == MeterInstallation.meter_id))
        .where(MeterInstallation.delivery_point_id.in_([r.id for r in rows]))
        .order_by(MeterInstallation.delivery_point_id, MeterInstallation.installed_on, MeterInstallation.id)).all()
    registers: dict[int, list[RegisterRecord]] = {}
    if installs:
        for meter_id, code, label in db.session.execute(
                select(Register.meter_id, Register.code, Register.label)
                .where(Register.meter_id.in_({i.id for i in installs})).order_by(Register.meter_id, Register.id)):
            registers.setdefault(meter_id, []).append(RegisterRecord(code, label))
    meters: dict[int, list[InstalledMeterRecord]] = {}
    for i in installs:
        meters.setdefault(i.delivery_point_id, []).append(InstalledMeterRecord(
            i.serial_number, i.model, i.digits, i.multiplier, i.unit, bool(i.is_smart), i.installed_on, i.removed_on,
            registers.get(i.id, [])))
    return [DeliveryPointRecord(
        r.identifier, r.activity, ACTIVITY_UNITS[r.activity], r.status, r.subscribed_power, r.calorific_zone,
        r.external_ref, r.updated_at,
        PremiseRecord(r.public_id, r.address_line1, r.address_line2, r.postcode, r.city, r.country),
        meters.get(r.id, [])) for r in rows]


def delivery_point_page(*, after: Position | None, updated_since: datetime | None,
                        limit: int) -> ChangePage[DeliveryPointRecord]:
    rows = db.session.execute(in_change_order(_select(), DeliveryPoint.updated_at, DeliveryPoint.id, after=after,
                                              updated_since=updated_since, limit=limit)).all()
    rows, following = split_page(rows, limit, lambda r: Position(r.updated_at, r.id))
    return ChangePage(_records(rows), following)


def delivery_point_record(*, identifier: str) -> DeliveryPointRecord | None:
    records = _records(db.session.execute(_select().where(DeliveryPoint.identifier == identifier)).all())
    return records[0] if records else None
