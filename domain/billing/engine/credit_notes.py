"""Credit notes: the exact negation of an issued bill (a corrective bill then re-bills the period)."""
from __future__ import annotations

from collections.abc import Iterable

from .model import BillLine, BillResult, TaxTotal


def _negated(line: BillLine) -> BillLine:
    return BillLine(
        line.component, line.description, line.period_start, line.period_end, -line.quantity, line.unit,
        line.unit_price, -line.amount, line.tax_rate, line.unit_price_includes_tax,
        None if line.amount_incl_tax is None else -line.amount_incl_tax, line.register_code,
    )


def credit_note_lines(original_lines: Iterable[BillLine]) -> tuple[BillLine, ...]:
    """The original's lines with quantities and amounts negated; unit prices, rates and periods unchanged."""
    return tuple(_negated(line) for line in original_lines)


def credit_note(original: BillResult) -> BillResult:
    """A credit note cancelling `original`. Totals are negated rather than recomputed: half-up rounding is
    symmetric, so recomputing would give the same figures, and negating guarantees the pair nets to zero."""
    if not original.ok:
        raise ValueError("a bill with problems was never issued and cannot be credited")
    return BillResult(
        kind="credit_note", period_start=original.period_start, period_end=original.period_end,
        lines=credit_note_lines(original.lines),
        tax_totals=tuple(TaxTotal(total.tax_rate, -total.base, -total.tax) for total in original.tax_totals),
        total_excl_tax=-original.total_excl_tax, total_tax=-original.total_tax,
        total_incl_tax=-original.total_incl_tax,
    )
