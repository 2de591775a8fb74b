"""Consumption of each register over a period from meter indexes: rollover, multiplier, meter exchange, gas kWh."""
from __future__ import annotations

from bisect import bisect_left
from datetime import date
from operator import attrgetter
from decimal import Decimal

from .estimation import annual_rate, estimate_index, history_rate, meter_history_rate
from .model import BillingProblem, MeterIn, ReadingIn
from .money import round_quantity

MJ_PER_KWH = Decimal("3.6")
_ZERO = Decimal(0)
_MODULI = {digits: Decimal(10) ** digits for digits in range(1, 16)}  # Decimal-to-Decimal compares are cheaper


_read_on = attrgetter("read_on")  # a sort and bisect key computed in C: books are built for every bill of a run


def meter_in_service(meters: tuple[MeterIn, ...], day: date) -> MeterIn | None:
    """The meter registering on `day` (on an exchange day, the new one)."""
    for meter in meters:
        if meter.installed_on <= day and (meter.removed_on is None or day < meter.removed_on):
            return meter
    return None


def _owner(meters: tuple[MeterIn, ...], reading: ReadingIn) -> MeterIn | None:
    if reading.meter_serial is not None:
        for meter in meters:
            if meter.serial == reading.meter_serial:
                return meter
        return None  # a reading of a meter not on this contract is not ours to use
    found = meter_in_service(meters, reading.read_on)
    if found is None:  # the final reading of a meter removed that day with no successor
        for meter in meters:
            if meter.removed_on == reading.read_on:
                return meter
    return found


def reading_book(meters: tuple[MeterIn, ...], readings: tuple[ReadingIn, ...]) -> dict[tuple[str, str], list]:
    """The readings grouped by (meter serial, register code), each list sorted by date."""
    book: dict[tuple[str, str], list] = {}
    if len(meters) == 1:
        # Readings mostly come register by register (a billing run loads them so): look the list up only when the
        # register changes.
        serial = meters[0].serial
        code = found = None
        for reading in readings:
            if reading.meter_serial is None or reading.meter_serial == serial:
                if reading.register_code != code:
                    code = reading.register_code
                    found = book.get((serial, code))
                    if found is None:
                        found = book[(serial, code)] = []
                found.append(reading)
    else:
        for reading in readings:
            meter = _owner(meters, reading)
            if meter is not None:
                book.setdefault((meter.serial, reading.register_code), []).append(reading)
    for found in book.values():
        if len(found) > 2 or (len(found) == 2 and found[0].read_on > found[1].read_on):
            found.sort(key=_read_on)
    return book


def reading_on(readings: list | None, day: date) -> ReadingIn | None:
    """The reading of `day` in a date-sorted list, an actual one in preference to an estimate."""
    found = None
    if readings:
        if len(readings) > 4:
            # Bisect to the day: the period's start is usually the latest but one of a dozen readings (a short list
            # is scanned faster than bisected).
            readings = readings[bisect_left(readings, day, key=_read_on):]
        for reading in readings:
            if reading.read_on == day:
                if not reading.estimated:
                    return reading
                found = reading
            elif reading.read_on > day:
                break
    return found


def meters_covering(meters: tuple[MeterIn, ...], start: date, end: date) -> tuple[list[MeterIn], BillingProblem | None]:
    """The meters in service during `[start, end)` in order, or a problem when some day has no meter."""
    if len(meters) == 1:
        meter = meters[0]
        if meter.installed_on <= start and (meter.removed_on is None or meter.removed_on >= end):
            return [meter], None
    found = [
        meter for meter in meters
        if meter.installed_on < end and (meter.removed_on is None or meter.removed_on > start)
    ]
    if len(found) > 1:
        found.sort(key=lambda meter: meter.installed_on)
    if not found:
        return found, BillingProblem("missing_meter", f"no meter in service between {start} and {end}",
                                     {"detail": "no_meter", "start": start, "end": end})
    cursor = start
    for meter in found:
        if meter.installed_on > cursor:
            return found, BillingProblem("missing_meter", f"no meter in service between {cursor} and "
                                                          f"{meter.installed_on}",
                                         {"detail": "no_meter", "start": cursor, "end": meter.installed_on})
        if meter.installed_on < cursor and meter is not found[0]:
            return found, BillingProblem("overlapping_meters", f"meter {meter.serial} installed on "
                                                               f"{meter.installed_on} while another was in service",
                                         {"detail": "overlapping_meters", "meter": meter.serial,
                                          "installed_on": meter.installed_on})
        cursor = end if meter.removed_on is None else meter.removed_on
    if cursor < end:
        return found, BillingProblem("missing_meter", f"no meter in service between {cursor} and {end}",
                                     {"detail": "no_meter", "start": cursor, "end": end})
    return found, None


def register_history(meters: list[MeterIn] | tuple[MeterIn, ...], book: dict, register_code: str) -> list:
    """(meter, reading) pairs of one register across meters, by date then meter order."""
    if len(meters) == 1:
        meter = meters[0]
        return [(meter, reading) for reading in book.get((meter.serial, register_code), ())]
    pairs = []
    for order, meter in enumerate(sorted(meters, key=lambda meter: meter.installed_on)):
        for reading in book.get((meter.serial, register_code), ()):
            pairs.append((reading.read_on, order, meter, reading))
    pairs.sort(key=lambda item: (item[0], item[1]))
    return [(meter, reading) for _, _, meter, reading in pairs]


def register_rate(activity: str, meters, book: dict, register_code: str, before: date) -> Decimal | None:
    """History average of one register (see `history_rate`): straight from the book with one meter."""
    if len(meters) == 1:
        meter = meters[0]
        return meter_history_rate(activity=activity, meter=meter, readings=book.get((meter.serial, register_code), ()),
                                  before=before)
    return history_rate(activity=activity, history=register_history(meters, book, register_code), before=before)


class Measurement:
    """What measuring a period found, register by register (an internal, mutable working record)."""

    __slots__ = ("registers", "quantities", "estimated", "wrapped", "estimated_readings", "problems")

    def __init__(self) -> None:
        self.registers: list[str] = []
        self.quantities: dict[str, Decimal] = {}
        self.estimated: dict[str, bool] = {}
        self.wrapped: set[str] = set()
        self.estimated_readings: list[ReadingIn] = []
        self.problems: list[BillingProblem] = []


def measure(activity: str, meters: list[MeterIn], all_meters: tuple[MeterIn, ...], book: dict, start: date,
            end: date, estimated_annual_consumption: Decimal | None) -> Measurement:
    """Metered consumption (index difference x multiplier) per register over `[start, end)`.

    Each meter in service contributes over its part of the period: from the period's start (or its installation
    day, with its initial reading) to the period's end (or its removal day, with its final reading). A lower end
    index means the dial went round: 10**digits is added. Missing indexes are estimated when possible and
    returned as readings to store.
    """
    result = Measurement()
    quantities = result.quantities
    flags = result.estimated
    for meter in meters:
        seg_start = meter.installed_on if meter.installed_on > start else start
        seg_end = end if meter.removed_on is None or meter.removed_on > end else meter.removed_on
        modulus = _MODULI.get(meter.digits) or Decimal(10) ** meter.digits
        for code in meter.registers:
            readings = book.get((meter.serial, code))
            first = reading_on(readings, seg_start)
            last = reading_on(readings, seg_end)
            if first is None:
                first = _estimated(result, activity, meter, all_meters, book, code, seg_start,
                                   estimated_annual_consumption)
                if first is None:
                    return result
            if last is None:
                last = _estimated(result, activity, meter, all_meters, book, code, seg_end,
                                  estimated_annual_consumption)
                if last is None:
                    return result
            low, high = first.value, last.value
            if low < _ZERO or high < _ZERO or low >= modulus or high >= modulus:
                result.problems.append(BillingProblem(
                    "invalid_reading", f"an index of meter {meter.serial} between {seg_start} and {seg_end} does "
                                       f"not fit its {meter.digits} digits ({low}, {high})",
                    {"detail": "index_digits", "meter": meter.serial, "start": seg_start, "end": seg_end,
                     "digits": meter.digits, "low": low, "high": high},
                ))
                return result
            moved = high - low
            if moved < _ZERO:
                moved += modulus
                result.wrapped.add(code)
                if moved * 2 >= modulus:
                    # A dial does not go round more than half-way between two readings: a lower index is an error.
                    result.problems.append(BillingProblem(
                        "negative_consumption",
                        f"index of register {code} of meter {meter.serial} went down from {low} to {high}",
                        {"detail": "index_went_down", "register": code, "meter": meter.serial, "low": low,
                         "high": high},
                    ))
                    return result
            quantity = moved * meter.multiplier
            estimated = first.estimated or last.estimated
            if code in quantities:
                quantities[code] += quantity
                flags[code] = flags[code] or estimated
            else:
                result.registers.append(code)
                quantities[code] = quantity
                flags[code] = estimated
    for code in result.registers:
        quantities[code] = round_quantity(quantities[code])
    return result


def _estimated(result: Measurement, activity, meter, all_meters, book, code, day,
               estimated_annual_consumption) -> ReadingIn | None:
    """An estimated reading of `day`, recorded in `result` (or a problem when nothing allows an estimate)."""
    rate = expected_rate(
        activity=activity, meters=all_meters, book=book, register_code=code, before=day,
        estimated_annual_consumption=estimated_annual_consumption, share=len(meter.registers),
    )
    readings = book.setdefault((meter.serial, code), [])
    value = estimate_index(activity=activity, meter=meter, readings=readings, day=day, rate=rate)
    if value is None:
        result.problems.append(BillingProblem(
            "missing_readings", f"no reading of register {code} of meter {meter.serial} on {day} and no way to "
                                f"estimate it",
            {"detail": "no_reading", "register": code, "meter": meter.serial, "day": day},
        ))
        return None
    estimate = ReadingIn(code, day, value, True, meter.serial)
    result.estimated_readings.append(estimate)
    readings.append(estimate)  # so an estimate of the period's end chains from an estimated start
    readings.sort(key=_read_on)
    return estimate


def expected_rate(*, activity: str, meters, book: dict, register_code: str, before: date,
                  estimated_annual_consumption: Decimal | None, share: int) -> Decimal | None:
    """Expected consumption per weighted day of one register: its history up to `before`, else the annual
    estimate shared equally between the meter's registers, else None."""
    rate = register_rate(activity, meters, book, register_code, before)
    if rate is None:
        rate = annual_rate(estimated_annual_consumption=estimated_annual_consumption, share=share)
    return rate


def calorific_periods(base: Decimal | None, dated, start: date, end: date) -> list[tuple[date, date, Decimal | None]]:
    """`[start, end)` cut where the gas calorific value changes: `base` is in force until the first of `dated`
    (`CalorificValueIn`s, oldest first), each of those until the next. A part with no value in force has None."""
    periods = []
    current = base
    cursor = start
    for found in dated:
        day = found.effective_from
        if day <= start:
            current = found.value
            continue
        if day >= end:
            break
        periods.append((cursor, day, current))
        cursor, current = day, found.value
    periods.append((cursor, end, current))
    return periods


def to_billed(*, activity: str, quantity: Decimal, correction_factor: Decimal | None,
              calorific_value: Decimal | None) -> Decimal:
    """Gas volume (m3) to energy (kWh): volume x correction factor x calorific value (MJ/m3) / 3.6, three
    places half-up. Other activities are billed in the metered unit."""
    if activity != "gas":
        return quantity
    factor = correction_factor if correction_factor is not None else 1
    return round_quantity(quantity * factor * calorific_value / MJ_PER_KWH)
