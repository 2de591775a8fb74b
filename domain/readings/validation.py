"""Rules for a reading a customer gives: number format, monotonic index, rollover, plausibility (pure, no I/O).

The expected consumption comes from the billing engine's estimation (history of actual readings weighted by
the activity's seasonal profile, else the contract's annual estimate), so the portal and billing judge a
reading the same way.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

from domain.billing.engine.consumption import expected_rate, reading_book
from domain.billing.engine.estimation import weighted_days, wrap
from domain.billing.engine.model import MeterIn, ReadingIn
from domain.billing.engine.money import round_quantity
from tenants.operation_settings import DEFAULT_PLAUSIBILITY_FACTOR as PLATFORM_PLAUSIBILITY_FACTOR

# A reading more than 3 times, or less than a third of, the expected consumption is checked by staff; each
# utility may choose its own factor (tenants/operation_settings.py `plausibility_factor`).
DEFAULT_PLAUSIBILITY_FACTOR = PLATFORM_PLAUSIBILITY_FACTOR

_SPACES = re.compile(r"[\s\u00a0\u202f'’]")
_NUMBER = re.compile(r"^\d+(\.\d{1,3})?$")


class ReadingProblem(ValueError):
    """Why one register's reading is refused: `reason` is a code the interface words in the user's language,
    `details` the figures the message quotes."""

    def __init__(self, reason: str, **details):
        super().__init__(reason)
        self.reason = reason
        self.details = details


def parse_index(text: str | None) -> Decimal:
    """A meter index as typed: digits, optional thousands spaces, a decimal point or comma, at most three
    decimals. Raises ReadingProblem("not_a_number")."""
    cleaned = _SPACES.sub("", text or "")
    if cleaned.count(",") == 1 and "." not in cleaned:
        cleaned = cleaned.replace(",", ".")
    if not _NUMBER.match(cleaned):
        raise ReadingProblem("not_a_number")
    try:
        return Decimal(cleaned)
    except InvalidOperation as exc:  # pragma: no cover - the pattern already guarantees a number
        raise ReadingProblem("not_a_number") from exc


@dataclass(frozen=True, slots=True)
class IndexCheck:
    """An accepted index: the consumption since the previous actual reading (after the multiplier) and
    whether the dial went round to get there."""

    consumption: Decimal | None
    rolled_over: bool


def check_index(*, value: Decimal, previous: Decimal | None, digits: int, multiplier: Decimal,
                rollover_confirmed: bool) -> IndexCheck:
    """Accept or refuse an index against the previous ACTUAL reading of the same register.

    - The index must fit the meter's dial: at most `digits` digits before the decimal point.
    - A lower index is refused ("lower_than_previous") unless the customer confirms a rollover; a confirmed
      rollover is accepted only if the dial going round once explains it with less than half a turn, as the
      billing engine reads it (99 850 -> 00 120 on 5 digits is 270; 50 -> 40 would be 99 990: refused,
      "rollover_not_possible").
    """
    modulus = 10 ** digits
    if value < 0 or value >= modulus:
        raise ReadingProblem("too_many_digits", digits=digits)
    if previous is None:
        return IndexCheck(None, False)
    if value >= previous:
        return IndexCheck(round_quantity((value - previous) * multiplier), False)
    if not rollover_confirmed:
        raise ReadingProblem("lower_than_previous", previous=previous)
    moved = wrap(value - previous, modulus)
    if moved * 2 >= modulus:
        raise ReadingProblem("rollover_not_possible", previous=previous, digits=digits)
    return IndexCheck(round_quantity(moved * multiplier), True)


def expected_consumption(*, activity: str, meters: tuple[MeterIn, ...], readings: tuple[ReadingIn, ...],
                         register_code: str, share: int, since: date, day: date,
                         estimated_annual_consumption: Decimal | None, book: dict | None = None) -> Decimal | None:
    """What the register should have used over `[since, day)`: the engine's expected rate (history of actual
    readings up to `since`, else the annual estimate shared between `share` registers) times the activity's
    seasonally weighted days. None when nothing allows an expectation. `book`: the readings already grouped as
    the engine's `reading_book` groups them, when the caller has them so (a batch of readings)."""
    if day <= since:
        return Decimal("0.000")
    if book is None:
        book = reading_book(meters, readings)
    rate = expected_rate(activity=activity, meters=meters, book=book, register_code=register_code, before=since,
                         estimated_annual_consumption=estimated_annual_consumption, share=share)
    if rate is None:
        return None
    return round_quantity(rate * weighted_days(activity, since, day))


@dataclass(frozen=True, slots=True)
class Plausibility:
    plausible: bool
    low: Decimal | None
    high: Decimal | None


def plausibility(*, consumption: Decimal | None, expected: Decimal | None,
                 factor: Decimal = DEFAULT_PLAUSIBILITY_FACTOR) -> Plausibility:
    """A consumption is plausible within `[expected / factor, expected x factor]` (bounds included).

    Without an expectation (no history, no annual estimate, or nothing expected at all) there is nothing to
    compare with, and the reading is taken as given: staff would have no figure to check it against either.
    """
    if consumption is None or expected is None or expected <= 0:
        return Plausibility(True, None, None)
    low, high = round_quantity(expected / factor), round_quantity(expected * factor)
    return Plausibility(low <= consumption <= high, low, high)
