"""Premises, points of delivery, meters and their installation, as staff enter them (checks, then writes).

The checks gather every problem per field before anything is written (`FieldErrors`); the writes assume the
checks passed. A point of delivery's identifier and a meter's serial number are unique per tenant: a duplicate is
refused here with a message, and the unique constraints back it up."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import func, select

from domain.db import db
from domain.field_errors import ErrorCollector
from domain.parties.services import Address
from domain.sites.models import ACTIVITY_UNITS, DeliveryPoint, Meter, MeterInstallation, Premise, Register

# The register layouts staff choose from: one total, or peak and off-peak hours (what offers price per register).
REGISTER_LAYOUTS = {"single": ("TOTAL",), "dual": ("PEAK", "OFFPEAK")}
REGISTER_LABELS = {"TOTAL": "Total", "PEAK": "Peak hours", "OFFPEAK": "Off-peak hours"}
MIN_DIGITS, MAX_DIGITS = 3, 12
MAX_MULTIPLIER = Decimal("100000")


@dataclass(frozen=True)
class MeterSpec:
    serial_number: str
    digits: int
    multiplier: Decimal
    layout: str  # a key of REGISTER_LAYOUTS
    is_smart: bool
    model: str | None = None

    @property
    def register_codes(self) -> tuple[str, ...]:
        return REGISTER_LAYOUTS.get(self.layout, ())


def layout_of(codes) -> str | None:
    """The register layout whose registers are exactly `codes` (in any order, any case), None when none is."""
    wanted = sorted(str(code).strip().upper() for code in codes)
    return next((name for name, layout in REGISTER_LAYOUTS.items() if sorted(layout) == wanted), None)


def normalise_reference(text: str | None) -> str:
    """An identifier or serial as stored: no spaces, capitals."""
    return "".join((text or "").split()).upper()


def delivery_point_by_identifier(identifier: str) -> DeliveryPoint | None:
    return db.session.scalar(select(DeliveryPoint).where(
        func.upper(DeliveryPoint.identifier) == normalise_reference(identifier)))


def meter_by_serial(serial: str) -> Meter | None:
    return db.session.scalar(select(Meter).where(func.upper(Meter.serial_number) == normalise_reference(serial)))


def check_delivery_point(*, activity: str, identifier: str, tenant_activities, errors: ErrorCollector,
                         prefix: str = "") -> None:
    if activity not in tenant_activities:
        errors.add(prefix + "activity", "unknown")
    if not identifier:
        errors.add(prefix + "identifier", "required")
    elif len(identifier) > 40:
        errors.add(prefix + "identifier", "too_long")
    elif delivery_point_by_identifier(identifier) is not None:
        errors.add(prefix + "identifier", "taken")


def check_meter(spec: MeterSpec, errors: ErrorCollector, prefix: str = "", *, taken_serials: set[str] = frozenset()
                ) -> None:
    serial = normalise_reference(spec.serial_number)
    if not serial:
        errors.add(prefix + "serial_number", "required")
    elif len(serial) > 40:
        errors.add(prefix + "serial_number", "too_long")
    elif serial in taken_serials or meter_by_serial(serial) is not None:
        errors.add(prefix + "serial_number", "taken")
    if spec.digits is None or not MIN_DIGITS <= spec.digits <= MAX_DIGITS:
        errors.add(prefix + "digits", "range", low=MIN_DIGITS, high=MAX_DIGITS)
    if spec.multiplier is None or not Decimal(0) < spec.multiplier <= MAX_MULTIPLIER:
        errors.add(prefix + "multiplier", "range")
    if spec.layout not in REGISTER_LAYOUTS:
        errors.add(prefix + "layout", "unknown")


def premise_for(*, address: Address, premise: Premise | None = None) -> Premise:
    """The premise given (an existing one of the customer's), else a new one at the address."""
    if premise is not None:
        return premise
    created = Premise(address_line1=address.address_line1, address_line2=address.address_line2,
                      postcode=address.postcode, city=address.city, country=address.country)
    db.session.add(created)
    db.session.flush()
    return created


def create_delivery_point(*, premise: Premise, activity: str, identifier: str) -> DeliveryPoint:
    point = DeliveryPoint(premise_id=premise.id, activity=activity, identifier=normalise_reference(identifier),
                          status="active")
    db.session.add(point)
    db.session.flush()
    return point


def create_meter(*, spec: MeterSpec, activity: str) -> Meter:
    meter = Meter(serial_number=normalise_reference(spec.serial_number), activity=activity, model=spec.model,
                  digits=spec.digits, multiplier=spec.multiplier, unit=ACTIVITY_UNITS[activity],
                  is_smart=spec.is_smart)
    db.session.add(meter)
    db.session.flush()
    for code in spec.register_codes:
        meter.registers.append(Register(meter_id=meter.id, code=code, label=REGISTER_LABELS[code]))
    db.session.flush()
    return meter


def install_meter(*, meter: Meter, delivery_point: DeliveryPoint, installed_on: date) -> MeterInstallation:
    installation = MeterInstallation(meter_id=meter.id, delivery_point_id=delivery_point.id, installed_on=installed_on)
    db.session.add(installation)
    db.session.flush()
    db.session.expire(delivery_point, ["installations"])
    return installation


def current_installation(delivery_point: DeliveryPoint) -> MeterInstallation | None:
    current = [i for i in delivery_point.installations if i.removed_on is None]
    return current[-1] if current else None


def remove_meter(*, installation: MeterInstallation, removed_on: date) -> None:
    installation.removed_on = removed_on
    db.session.flush()
