"""Rounding of money and quantities, in one place, with an explicit mode (half-up, away from zero on ties)."""
from __future__ import annotations

from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")
MILLI = Decimal("0.001")
ZERO = Decimal("0")
ZERO_MONEY = Decimal("0.00")
ZERO_QUANTITY = Decimal("0.000")
ONE = Decimal("1")
DAYS_PER_YEAR = Decimal(365)


def round_money(value: Decimal) -> Decimal:
    """To the cent, half-up. Symmetric (-x rounds to minus the rounding of x), so credit notes negate exactly."""
    return value.quantize(CENT, ROUND_HALF_UP)


def round_quantity(value: Decimal) -> Decimal:
    """Quantities (kWh, m3, days x power) keep three decimals, half-up."""
    return value.quantize(MILLI, ROUND_HALF_UP)


def floor_money(value: Decimal) -> Decimal:
    """Toward zero to the cent: instalments round down so the remainder on the last one is never negative."""
    return value.quantize(CENT, ROUND_DOWN)


def split_pro_rata(total: Decimal, weights: tuple[int, ...] | list[int]) -> list[Decimal]:
    """Split a 3-place quantity in proportion to integer weights (days); every share is rounded half-up to three
    places except the last, which takes the remainder, so the shares always sum exactly to `total`."""
    if len(weights) == 1:
        return [total]
    whole = sum(weights)
    shares = []
    given = ZERO_QUANTITY
    for weight in weights[:-1]:
        share = round_quantity(total * weight / whole) if whole else ZERO_QUANTITY
        shares.append(share)
        given += share
    shares.append(total - given)
    return shares
