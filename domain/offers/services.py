"""Offers' dated settings: recording the gas calorific value in force from a date, per calorific zone where the
utility has zones, and the zone of a point of delivery."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal, InvalidOperation

import re

from sqlalchemy import select

from domain.db import db
from domain.offers.models import GasCalorificValue
from domain.sites.models import DeliveryPoint

# Natural gas is 35-45 MJ/m3; the bounds leave room for other gases and catch a value typed in kWh/m3 (~11).
MIN_CALORIFIC_VALUE = Decimal("20")
MAX_CALORIFIC_VALUE = Decimal("60")
_ZONE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 _-]{0,39}$")


class CalorificValueRefused(ValueError):
    """The value cannot be recorded; `code` says why (nothing was stored)."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


def calorific_values() -> list[GasCalorificValue]:
    """The current tenant's dated calorific values, by zone ("" first: no zone) and oldest first."""
    return list(db.session.scalars(select(GasCalorificValue).order_by(GasCalorificValue.zone,
                                                                      GasCalorificValue.effective_from)))


def calorific_zones() -> list[str]:
    """The zones the utility uses (on its values or its points of delivery), sorted; "" is not one."""
    zones = set(db.session.scalars(select(GasCalorificValue.zone).distinct()))
    zones |= set(db.session.scalars(select(DeliveryPoint.calorific_zone).where(
        DeliveryPoint.calorific_zone.is_not(None)).distinct()))
    return sorted(zone for zone in zones if zone)


def clean_zone(zone: str | None) -> str:
    """A zone as typed ("" for none); refused when it is not a short name of letters, digits, spaces or dashes."""
    zone = (zone or "").strip()
    if zone and not _ZONE.match(zone):
        raise CalorificValueRefused("zone", f"{zone!r} is not a zone name")
    return zone


def set_delivery_point_zone(*, identifier: str, zone: str | None) -> DeliveryPoint:
    """Put a gas point of delivery in a calorific zone ("" or None: the utility's values without a zone)."""
    zone = clean_zone(zone)
    point = db.session.scalar(select(DeliveryPoint).where(DeliveryPoint.identifier == (identifier or "").strip()))
    if point is None or point.activity != "gas":
        raise CalorificValueRefused("delivery_point", f"no gas point of delivery {identifier!r}")
    point.calorific_zone = zone or None
    db.session.flush()
    return point


def record_calorific_value(*, effective_from: date, value, recorded_by: str, now: datetime,
                           zone: str | None = "") -> GasCalorificValue:
    """Record the gas calorific value (MJ/m3) in force from `effective_from` until the next recorded one, for the
    points of delivery of `zone` ("": those without a zone).

    Bills of periods from that day convert gas with it; periods before keep the values in force then, so a
    corrective bill of a past period is converted as the original was. One value per zone and day.
    """
    zone = clean_zone(zone)
    try:
        value = Decimal(str(value).strip().replace(",", "."))
    except InvalidOperation as exc:
        raise CalorificValueRefused("value", f"{value!r} is not a number") from exc
    if not value.is_finite() or not MIN_CALORIFIC_VALUE <= value <= MAX_CALORIFIC_VALUE:
        raise CalorificValueRefused("value", f"a calorific value is between {MIN_CALORIFIC_VALUE} and "
                                             f"{MAX_CALORIFIC_VALUE} MJ/m3")
    if value != value.quantize(Decimal("0.0001")):
        raise CalorificValueRefused("value", "a calorific value has at most four decimals")
    if db.session.scalar(select(GasCalorificValue.id).where(GasCalorificValue.effective_from == effective_from,
                                                            GasCalorificValue.zone == zone)):
        raise CalorificValueRefused("date", f"a calorific value is already recorded from {effective_from}")
    row = GasCalorificValue(effective_from=effective_from, value=value, recorded_by=recorded_by[:255],
                            recorded_at=now, zone=zone)
    db.session.add(row)
    db.session.flush()
    return row
