"""Tax per rate on the sum of the lines at that rate, and the bill's totals.

Tax-exclusive prices: tax = round_half_up(sum of the rate's line amounts x rate).
Tax-included prices: the tax-included amounts are authoritative. For a rate, I = sum of the lines' tax-included
amounts (each quantity x published price, rounded to the cent); tax = round_half_up(I x rate / (1 + rate)); the
tax-exclusive total is I - tax. Each line's tax-exclusive amount is its tax-included amount / (1 + rate) rounded,
and the cent or two by which these differ from I - tax go to the line with the largest amount (a charge line
rather than a credit of an earlier bill, whose amounts must mirror that bill). So the bill's total including tax
is exactly the sum of quantity x published price rounded, and lines still sum to the total excluding tax.
A bill mixing both kinds of lines at one rate (a tariff change between a tax-included and a tax-exclusive
version) adds the two taxes.
"""
from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from .model import REGULARISATION_CREDIT, BillLine, TaxTotal
from .money import ONE, ZERO_MONEY, round_money


def _adjust_included(lines: list[BillLine], rate: Decimal, indexes: list[int]) -> tuple[Decimal, Decimal]:
    """Derive the rate's tax from the tax-included amounts, fix the lines' tax-exclusive amounts; return the tax
    and the rate's tax-exclusive base. Plain loops rather than sum() over generators: this runs for every bill
    of a tax-included tariff, and the additions are the same, in the same order, from the same zero."""
    included = amounts = ZERO_MONEY
    for index in indexes:
        line = lines[index]
        included += line.amount_incl_tax
        amounts += line.amount
    tax = round_money(included * rate / (ONE + rate))
    difference = included - tax - amounts
    if difference:
        charges = [index for index in indexes if lines[index].description != REGULARISATION_CREDIT] or indexes
        target = max(charges, key=lambda index: abs(lines[index].amount_incl_tax))
        lines[target] = replace(lines[target], amount=lines[target].amount + difference)
        amounts = ZERO_MONEY
        for index in indexes:
            amounts += lines[index].amount
    return tax, amounts


def summarise(lines: list[BillLine]) -> tuple[tuple[BillLine, ...], tuple[TaxTotal, ...], Decimal, Decimal, Decimal]:
    """(lines, tax totals by rate, total excl. tax, total tax, total incl. tax) of a bill's lines."""
    # [rate, base] pairs: a bill has one to three rates, and comparing a few Decimals beats hashing them.
    bases: list[list[Decimal]] = []
    included: dict[Decimal, list[int]] | None = None
    for index, line in enumerate(lines):
        rate = line.tax_rate
        if line.unit_price_includes_tax:
            if included is None:
                included = {}
            included.setdefault(rate, []).append(index)
            continue
        for pair in bases:
            if pair[0] == rate:
                pair[1] += line.amount
                break
        else:
            bases.append([rate, line.amount])
    if included is None:  # the usual bill: tax-exclusive prices only
        if len(bases) > 1:
            bases.sort()
        totals = []
        total_excl = total_tax = ZERO_MONEY
        for rate, base in bases:
            tax = round_money(base * rate)
            totals.append(TaxTotal(rate, base, tax))
            total_excl += base
            total_tax += tax
        return tuple(lines), tuple(totals), total_excl, total_tax, total_excl + total_tax
    by_rate = {rate: [base, round_money(base * rate)] for rate, base in bases}
    for rate, indexes in included.items():
        tax, base = _adjust_included(lines, rate, indexes)
        if rate in by_rate:
            by_rate[rate][0] += base
            by_rate[rate][1] += tax
        else:
            by_rate[rate] = [base, tax]
    totals = []
    total_excl = total_tax = ZERO_MONEY
    for rate in sorted(by_rate):
        base, tax = by_rate[rate]
        totals.append(TaxTotal(rate, base, tax))
        total_excl += base
        total_tax += tax
    return tuple(lines), tuple(totals), total_excl, total_tax, total_excl + total_tax
