"""Offers' dated settings: recording the gas calorific value in force from a date."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from sqlalchemy import select

from domain.db import db
from domain.offers.models import GasCalorificValue

# Natural gas is 35-45 MJ/m3; the bounds leave room for other gases and catch a value typed in kWh/m3 (~11).
MIN_CALORIFIC_VALUE = Decimal("20")
MAX_CALORIFIC_VALUE = Decimal("60")


class CalorificValueRefused(ValueError):
    """The value cannot be recorded; `code` says why (nothing was stored)."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


def calorific_values() -> list[GasCalorificValue]:
    """The current tenant's dated calorific values, oldest first."""
    return list(db.session.scalars(select(GasCalorificValue).order_by(GasCalorificValue.effective_from)))


def record_calorific_value(*, effective_from: date, value, recorded_by: str, now: datetime) -> GasCalorificValue:
    """Record the gas calorific value (MJ/m3) in force from `effective_from` until the next recorded one.

    Bills of periods from that day convert gas with it; periods before keep the values in force then, so a
    corrective bill of a past period is converted as the original was. One value per day.
    """
    try:
        value = Decimal(str(value).strip().replace(",", "."))
    except InvalidOperation as exc:
        raise CalorificValueRefused("value", f"{value!r} is not a number") from exc
    if not value.is_finite() or not MIN_CALORIFIC_VALUE <= value <= MAX_CALORIFIC_VALUE:
        raise CalorificValueRefused("value", f"a calorific value is between {MIN_CALORIFIC_VALUE} and "
                                             f"{MAX_CALORIFIC_VALUE} MJ/m3")
    if value != value.quantize(Decimal("0.0001")):
        raise CalorificValueRefused("value", "a calorific value has at most four decimals")
    if db.session.scalar(select(GasCalorificValue.id).where(GasCalorificValue.effective_from == effective_from)):
        raise CalorificValueRefused("date", f"a calorific value is already recorded from {effective_from}")
    row = GasCalorificValue(effective_from=effective_from, value=value, recorded_by=recorded_by[:255],
                            recorded_at=now)
    db.session.add(row)
    db.session.flush()
    return row
