"""Tariffs prepared once for many bills, and the priced lines of one tariff segment (standing charge,
subscribed power, consumption: flat, tiered, per register, levies).

Tax-included tariffs: a line's tax-included amount is quantity x published price rounded to the cent; its
tax-exclusive `amount` is derived from it (see taxes.py), so the bill's total including tax equals the sum of
quantity x published price rounded, line by line.
"""
from __future__ import annotations

import calendar
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from .model import (
    CHARGE_PERIODS,
    COMPONENTS,
    STANDING_CHARGE,
    BillLine,
    IncludedAmount,
    IncludedPartIn,
    PercentLevyIn,
    StandingChargeIn,
    TariffIn,
)
from .money import DAYS_PER_YEAR, ONE, ZERO_MONEY, ZERO_QUANTITY, round_money, round_quantity

_LINE_CACHE_SIZE = 4096


@dataclass(frozen=True, slots=True)
class PriceBlock:
    """One price of a group: the whole consumption (flat) or one block of it (tier bounds are annual)."""

    description: str
    price: Decimal
    tax_rate: Decimal
    divisor: Decimal  # 1 + tax rate: turns a tax-included amount into its tax-exclusive part
    tier_from: Decimal
    tier_to: Decimal | None


@dataclass(frozen=True, slots=True)
class PriceGroup:
    """The prices of one component applied to one register (or to all, register_code None)."""

    component: str
    register_code: str | None
    blocks: tuple[PriceBlock, ...]
    tiered: bool


@dataclass(frozen=True, slots=True)
class PreparedTariff:
    """A tariff version checked and arranged for pricing; immutable, so a billing run shares one per version.

    Lines that depend only on the tariff and the dates (the standing charge of a segment) are memoised in
    `line_cache`: in a run, thousands of contracts on the same tariff and period share the same line object.
    """

    tariff: TariffIn
    name: str
    effective_from: date
    effective_to: date | None
    standing_charge_per_day: Decimal
    standing_charge_tax_rate: Decimal
    standing_charge_divisor: Decimal
    prices_include_tax: bool
    consumption_groups: tuple[PriceGroup, ...]
    subscribed_power: tuple[PriceBlock, ...]
    register_specific: tuple[tuple[str, frozenset[str]], ...]  # components priced register by register
    line_cache: dict = field(default_factory=dict, compare=False, repr=False)
    standing_charges: tuple[StandingChargeIn, ...] = ()
    percent_levies: tuple[PercentLevyIn, ...] = ()
    included_parts: tuple[IncludedPartIn, ...] = ()


def _block(price, description: str) -> PriceBlock:
    return PriceBlock(
        description=description, price=price.price, tax_rate=price.tax_rate, divisor=ONE + price.tax_rate,
        tier_from=price.tier_from or Decimal(0), tier_to=price.tier_to,
    )


def _suffix(register_code: str | None) -> str:
    return "" if register_code is None else "_" + register_code.lower()


def price_keys(prices) -> list[str]:
    """The line key (description) of each unit price, in order: its own `description`, else the component (with
    the register's suffix), numbered "_tierN" in the order of the tiers' lower bounds for a tiered price. The
    bill's lines carry these keys; names customers read are looked up by them (see line_names)."""
    keys: list[str] = [""] * len(prices)
    tiers: dict[tuple[str, str | None], list[int]] = {}
    for index, price in enumerate(prices):
        base = price.component + _suffix(price.register_code)
        if price.tier_from is not None or price.tier_to is not None:
            tiers.setdefault((price.component, price.register_code), []).append(index)
        keys[index] = price.description or base
    for (component, register_code), indexes in tiers.items():
        indexes.sort(key=lambda index: prices[index].tier_from or Decimal(0))
        for number, index in enumerate(indexes, 1):
            if not prices[index].description:
                keys[index] = f"{component}{_suffix(register_code)}_tier{number}"
    return keys


def _check_extras(tariff: TariffIn, keys: list[str]) -> None:
    codes = {STANDING_CHARGE, *keys}
    for charge in tariff.standing_charges:
        if charge.per not in CHARGE_PERIODS:
            raise ValueError(f"tariff {tariff.name}: a standing charge is per day, month or year, not {charge.per!r}")
        if charge.code in codes:
            raise ValueError(f"tariff {tariff.name}: two lines named {charge.code!r}")
        codes.add(charge.code)
    for levy in tariff.percent_levies:
        if levy.code in codes:
            raise ValueError(f"tariff {tariff.name}: two lines named {levy.code!r}")
        unknown = [key for key in levy.base if key not in codes]
        if not levy.base or unknown:
            raise ValueError(f"tariff {tariff.name}: levy {levy.code} is a percentage of unknown lines {unknown}")
        codes.add(levy.code)


def prepare_tariff(tariff: TariffIn) -> PreparedTariff:
    """Check a tariff version and arrange its prices for fast pricing. Raises ValueError on a tariff that cannot
    be priced consistently (unknown component, gaps between tiers, a component priced both for all registers
    and register by register): that is a configuration error to fix, not a per-bill problem."""
    if tariff.effective_to is not None and tariff.effective_to <= tariff.effective_from:
        raise ValueError(f"tariff {tariff.name}: effective_to must be after effective_from")
    by_scope: dict[tuple[str, str | None], list] = {}
    subscribed = []
    scopes_of: dict[str, set] = {}
    keys = price_keys(tariff.prices)
    _check_extras(tariff, keys)
    key_of = {id(price): key for price, key in zip(tariff.prices, keys, strict=True)}
    for price in tariff.prices:
        if price.component not in COMPONENTS:
            raise ValueError(f"tariff {tariff.name}: unknown component {price.component!r}")
        if price.component == "subscribed_power":
            if price.tier_from is not None or price.tier_to is not None or price.register_code is not None:
                raise ValueError(f"tariff {tariff.name}: subscribed power has neither tiers nor registers")
            subscribed.append(_block(price, key_of[id(price)]))
            continue
        by_scope.setdefault((price.component, price.register_code), []).append(price)
        scopes_of.setdefault(price.component, set()).add(price.register_code)
    for component, scopes in scopes_of.items():
        if None in scopes and len(scopes) > 1:
            raise ValueError(f"tariff {tariff.name}: {component} is priced both for all registers and per register")
    groups = []
    for (component, register_code), prices in by_scope.items():
        base = component + _suffix(register_code)
        tiered = [price for price in prices if price.tier_from is not None or price.tier_to is not None]
        if not tiered:
            groups.extend(
                PriceGroup(component, register_code, (_block(price, key_of[id(price)]),), False)
                for price in prices
            )
            continue
        if len(tiered) != len(prices):
            raise ValueError(f"tariff {tariff.name}: {base} mixes tiered and flat prices")
        tiered.sort(key=lambda price: price.tier_from or Decimal(0))
        cursor = Decimal(0)
        for index, price in enumerate(tiered):
            if (price.tier_from or Decimal(0)) != cursor:
                raise ValueError(f"tariff {tariff.name}: tiers of {base} must follow each other from 0")
            if price.tier_to is None:
                if index != len(tiered) - 1:
                    raise ValueError(f"tariff {tariff.name}: only the last tier of {base} may be open-ended")
            elif price.tier_to <= cursor:
                raise ValueError(f"tariff {tariff.name}: empty tier in {base}")
            cursor = price.tier_to
        blocks = tuple(
            _block(price, key_of[id(price)]) for price in tiered
        )
        groups.append(PriceGroup(component, register_code, blocks, True))
    register_specific = tuple(
        (component, frozenset(scopes)) for component, scopes in scopes_of.items() if None not in scopes
    )
    return PreparedTariff(
        tariff=tariff, name=tariff.name, effective_from=tariff.effective_from, effective_to=tariff.effective_to,
        standing_charge_per_day=tariff.standing_charge_per_day,
        standing_charge_tax_rate=tariff.standing_charge_tax_rate,
        standing_charge_divisor=ONE + tariff.standing_charge_tax_rate,
        prices_include_tax=tariff.prices_include_tax, consumption_groups=tuple(groups),
        subscribed_power=tuple(subscribed), register_specific=register_specific,
        standing_charges=tariff.standing_charges, percent_levies=tariff.percent_levies,
        included_parts=tariff.included_parts,
    )


def prepared(tariffs) -> list[PreparedTariff]:
    """Accept tariff versions prepared or not (preparing costs a few microseconds: prepare once for a run)."""
    return [tariff if type(tariff) is PreparedTariff else prepare_tariff(tariff) for tariff in tariffs]


def _line(tariff: PreparedTariff, component: str, description: str, start: date, end: date, quantity: Decimal,
          unit: str, unit_price: Decimal, exact_amount: Decimal, tax_rate: Decimal, divisor: Decimal,
          register_code: str | None = None) -> BillLine:
    if tariff.prices_include_tax:
        amount_incl = round_money(exact_amount)
        return BillLine(component, description, start, end, quantity, unit, unit_price,
                        round_money(amount_incl / divisor), tax_rate, True, amount_incl, register_code)
    return BillLine(component, description, start, end, quantity, unit, unit_price, round_money(exact_amount),
                    tax_rate, False, None, register_code)


def standing_charge_line(tariff: PreparedTariff, start: date, end: date) -> BillLine:
    """Standing charge per day x days of the segment (memoised per segment on the prepared tariff)."""
    key = (STANDING_CHARGE, start, end)
    cache = tariff.line_cache
    found = cache.get(key)
    if found is None:
        days = (end - start).days
        found = _line(tariff, STANDING_CHARGE, STANDING_CHARGE, start, end, Decimal(days) + ZERO_QUANTITY, "day",
                      tariff.standing_charge_per_day, tariff.standing_charge_per_day * days,
                      tariff.standing_charge_tax_rate, tariff.standing_charge_divisor)
        if len(cache) >= _LINE_CACHE_SIZE:
            cache.clear()
        cache[key] = found
    return found


def subscribed_power_lines(tariff: PreparedTariff, start: date, end: date, power: Decimal, unit: str) -> list:
    """Subscribed power x yearly price x days / 365; the quantity shown is power x days / 365 (kVA·year) to
    three places, the amount is computed from the unrounded product."""
    days = (end - start).days
    quantity = round_quantity(power * days / DAYS_PER_YEAR)
    return [
        _line(tariff, "subscribed_power", block.description, start, end, quantity, unit, block.price,
              power * block.price * days / DAYS_PER_YEAR, block.tax_rate, block.divisor)
        for block in tariff.subscribed_power
    ]


def consumption_lines(tariff: PreparedTariff, start: date, end: date, quantities: dict[str, Decimal],
                      total: Decimal, unit: str, lines: list) -> None:
    """Append the consumption lines of a segment: one per flat price, one per used tier block.

    Tier bounds are annual and prorated by the segment's days / 365 (rounded to three places); consumption fills
    the blocks in order. The first block always shows, even empty, so a zero consumption is visible.
    """
    days = None
    included = tariff.prices_include_tax
    for group in tariff.consumption_groups:
        register_code = group.register_code
        quantity = total if register_code is None else quantities.get(register_code, ZERO_QUANTITY)
        if not group.tiered:
            block = group.blocks[0]
            if included:
                lines.append(_line(tariff, group.component, block.description, start, end, quantity, unit,
                                   block.price, quantity * block.price, block.tax_rate, block.divisor, register_code))
            else:  # the usual line, built inline: this runs for every bill of a run
                lines.append(BillLine(group.component, block.description, start, end, quantity, unit, block.price,
                                      round_money(quantity * block.price), block.tax_rate, False, None,
                                      register_code))
            continue
        if days is None:
            days = (end - start).days
        for number, block in enumerate(group.blocks):
            low = round_quantity(block.tier_from * days / DAYS_PER_YEAR)
            if quantity <= low and number:
                break
            in_block = quantity - low
            if block.tier_to is not None:
                high = round_quantity(block.tier_to * days / DAYS_PER_YEAR)
                if in_block > high - low:
                    in_block = high - low
            if in_block < 0:
                in_block = ZERO_QUANTITY
            lines.append(_line(tariff, group.component, block.description, start, end, in_block, unit, block.price,
                               in_block * block.price, block.tax_rate, block.divisor, register_code))


def unpriced_registers(tariff: PreparedTariff, registers) -> list[tuple[str, str]]:
    """(component, register) pairs whose consumption a register-by-register component would leave unpriced."""
    missing = []
    for component, priced in tariff.register_specific:
        for code in registers:
            if code not in priced:
                missing.append((component, code))
    return missing



def _calendar_fraction(start: date, end: date, per: str) -> Decimal:
    """The months (per "month") or years (per "year") of `[start, end)`, calendar period by calendar period:
    days overlapped / days of that month (year), summed unrounded."""
    total = Decimal(0)
    cursor = start
    while cursor < end:
        if per == "month":
            length = calendar.monthrange(cursor.year, cursor.month)[1]
            following = date(cursor.year + cursor.month // 12, cursor.month % 12 + 1, 1)
        else:
            length = 366 if calendar.isleap(cursor.year) else 365
            following = date(cursor.year + 1, 1, 1)
        stop = min(end, following)
        total += Decimal((stop - cursor).days) / Decimal(length)
        cursor = stop
    return total


def extra_standing_lines(tariff: PreparedTariff, start: date, end: date) -> list[BillLine]:
    """The version's own standing charges over a segment (see `StandingChargeIn` for the proration rule)."""
    lines = []
    for charge in tariff.standing_charges:
        if charge.per == "day":
            quantity = Decimal((end - start).days) + ZERO_QUANTITY
            exact = charge.amount * (end - start).days
        else:
            fraction = _calendar_fraction(start, end, charge.per)
            quantity = round_quantity(fraction)
            exact = charge.amount * fraction
        lines.append(_line(tariff, STANDING_CHARGE, charge.code, start, end, quantity, charge.per, charge.amount,
                           exact, charge.tax_rate, ONE + charge.tax_rate))
    return lines


def percent_levy_lines(tariff: PreparedTariff, start: date, end: date, lines: list[BillLine]) -> list[BillLine]:
    """The version's percentage levies over a segment, each on the lines of that segment it is a percentage of
    (lines starting and ending within `[start, end)` whose key is in the levy's base)."""
    out = []
    for levy in tariff.percent_levies:
        base = ZERO_MONEY
        for line in lines:
            if line.description in levy.base and start <= line.period_start and line.period_end <= end:
                base += line.amount_incl_tax if tariff.prices_include_tax else line.amount
        out.append(_line(tariff, "levy", levy.code, start, end, base, "pct", levy.rate, base * levy.rate,
                         levy.tax_rate, ONE + levy.tax_rate))
    return out


def included_amounts(lines, segments) -> tuple[IncludedAmount, ...]:
    """"Of which" amounts: for each line of a component whose tariff segment declares taxes or levies contained
    in its price, quantity x per unit rounded half-up to the cent. `segments`: (start, end, tariff) triples; a
    line belongs to the first segment it lies within."""
    if not any(tariff.included_parts for _, _, tariff in segments):
        return ()
    found = []
    for index, line in enumerate(lines):
        for start, end, tariff in segments:
            if start <= line.period_start and line.period_end <= end:
                for part in tariff.included_parts:
                    if line.component == part.component:
                        found.append(IncludedAmount(index, part.code, line.quantity, part.per_unit,
                                                    round_money(line.quantity * part.per_unit)))
                break
    return tuple(found)
