"""Regularisation of bills based on estimates once an actual reading arrives, and the back-billing limit.

When a bill's start index is an estimate (stored by an earlier estimated bill) and its end index is actual, the
bill charges the actual consumption since the latest ACTUAL reading (the regularisation window start), priced
with the tariffs in force at the time, and credits the consumption lines the estimated bills charged for that
window (`PriorCharge`s, clipped to the window by days).

Back-billing limit (months, per tenant): the cutoff is the bill date minus the limit (month arithmetic, clamped
to month ends). Consumption is apportioned by days on each side of the cutoff (like a tariff change). For the
part before the cutoff, the bill may refund but never charge more than the earlier bills did: per tax rate, when
the old charges exceed the old credits, a "back_billing_limit" line takes the difference off. With no earlier
bill at all, that makes the old consumption free, as the limit requires.
"""
from __future__ import annotations

from datetime import date
from decimal import Decimal
from functools import lru_cache

from .consumption import meter_in_service, reading_book, reading_on
from .model import BACK_BILLING_LIMIT, REGULARISATION_CREDIT, BillLine, ContractIn, MeterIn, PriorCharge
from .money import ZERO_MONEY, round_money, round_quantity
from .periods import add_months

ONE_ITEM = Decimal("1.000")


@lru_cache(maxsize=256)  # every bill of a run asks with the same bill date and limit
def back_billing_cutoff(*, bill_date: date, limit_months: int) -> date:
    """First day whose consumption may still be charged in full."""
    return add_months(bill_date, -limit_months)


def _actual_on(meter: MeterIn, book: dict, day: date) -> bool:
    for code in meter.registers:
        reading = reading_on(book.get((meter.serial, code)), day)
        if reading is None or reading.estimated:
            return False
    return True


def find_regularisation_start(meters: tuple[MeterIn, ...], book: dict, start: date, end: date,
                              contract_start: date) -> date | None:
    """The latest day before `start` with actual indexes of every register of the meter in service, when the
    bill starts on an estimated index and ends on actual ones; otherwise None (no regularisation)."""
    first = meter_in_service(meters, start)
    if first is None:
        return None
    estimated = False
    for code in first.registers:
        reading = reading_on(book.get((first.serial, code)), start)
        if reading is None:
            return None  # an index missing at the start is estimated afresh: nothing charged on it yet
        estimated = estimated or reading.estimated
    if not estimated:
        return None
    last = None
    for meter in meters:
        if meter.installed_on < end and (meter.removed_on is None or meter.removed_on >= end):
            last = meter
    if last is None or not _actual_on(last, book, end):
        return None
    days = sorted(
        {reading.read_on for readings in book.values() for reading in readings
         if not reading.estimated and contract_start <= reading.read_on < start},
        reverse=True,
    )
    for day in days:
        meter = meter_in_service(meters, day)
        if meter is not None and _actual_on(meter, book, day):
            return day
    return None


def regularisation_start(*, contract: ContractIn, period_start: date, period_end: date) -> date | None:
    """Where a bill of `[period_start, period_end)` would start charging actual consumption, or None when it is
    not a regularisation: the caller selects the estimated bills' lines from that date as prior charges."""
    book = reading_book(contract.meters, contract.readings)
    return find_regularisation_start(contract.meters, book, period_start, period_end, contract.start_date)


def _part(value: Decimal | None, days: int, whole: int, money: bool) -> Decimal | None:
    if value is None:
        return None
    share = value if days == whole else value * days / whole
    return round_money(share) if money else round_quantity(share)


def _credit(prior: PriorCharge, start: date, end: date, quantity, amount, amount_incl) -> BillLine:
    return BillLine(
        prior.component, REGULARISATION_CREDIT, start, end, -quantity, prior.unit, prior.unit_price, -amount,
        prior.tax_rate, prior.unit_price_includes_tax, None if amount_incl is None else -amount_incl,
        prior.register_code,
    )


def credit_lines(prior_charges, *, window_start: date, window_end: date, cutoff: date | None) -> list[BillLine]:
    """Credit lines for what the estimated bills charged within `[window_start, window_end)`.

    A prior charge reaching outside the window is credited for its days inside (quantity and amounts prorated by
    days, rounded half-up); one straddling the back-billing cutoff is split there (the later part takes the
    remainder, so the two parts sum to the whole).
    """
    lines = []
    for prior in prior_charges:
        start = max(prior.period_start, window_start)
        end = min(prior.period_end, window_end)
        if start >= end:
            continue
        whole = (prior.period_end - prior.period_start).days
        days = (end - start).days
        quantity = _part(prior.quantity, days, whole, False)
        amount = _part(prior.amount, days, whole, True)
        amount_incl = _part(prior.amount_incl_tax, days, whole, True)
        if cutoff is not None and start < cutoff < end:
            before = (cutoff - start).days
            old_quantity = _part(quantity, before, days, False)
            old_amount = _part(amount, before, days, True)
            old_incl = _part(amount_incl, before, days, True)
            lines.append(_credit(prior, start, cutoff, old_quantity, old_amount, old_incl))
            lines.append(_credit(prior, cutoff, end, quantity - old_quantity, amount - old_amount,
                                 None if amount_incl is None else amount_incl - old_incl))
        else:
            lines.append(_credit(prior, start, end, quantity, amount, amount_incl))
    return lines


def back_billing_lines(lines: list[BillLine], *, window_start: date, cutoff: date) -> list[BillLine]:
    """Per tax rate (and kind of price), a line cancelling the net charge of the consumption and credit `lines`
    ending on or before the cutoff when that net is positive: consumption older than the limit is not charged
    beyond what earlier bills charged for it."""
    nets: dict[tuple[Decimal, bool], list[Decimal]] = {}
    for line in lines:
        if line.period_end <= cutoff:
            key = (line.tax_rate, line.unit_price_includes_tax)
            net = nets.setdefault(key, [ZERO_MONEY, ZERO_MONEY])
            net[0] += line.amount
            if line.amount_incl_tax is not None:
                net[1] += line.amount_incl_tax
    caps = []
    for (rate, included), (amount, amount_incl) in nets.items():
        charged = amount_incl if included else amount
        if charged > 0:
            caps.append(BillLine(
                BACK_BILLING_LIMIT, BACK_BILLING_LIMIT, window_start, cutoff, ONE_ITEM, "item", -charged, -amount,
                rate, included, -amount_incl if included else None, None,
            ))
    return caps
