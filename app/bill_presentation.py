"""A bill's lines, totals and consumption as the customer reads them: the portal's bill page shows an issued bill
with it, and the back office a simulation's draft "as the customer would see it" (templates/_bill_presentation.html).
"""
from __future__ import annotations

from decimal import Decimal

from babel.numbers import format_percent
from flask_babel import gettext

from app.i18n import format_locale
from domain.billing import line_names
from domain.billing.document_data import consumption_of, gas_conversion_text, present_lines, vat_summary
from domain.billing.document_pdf import document_title


def percent(rate, locale: str) -> str:
    return format_percent(rate, format="#,##0.##%", locale=locale)


def _change(item, locale: str) -> str:
    """"+2 %" from the same period last year, as the PDF says it; empty when last year is not known."""
    if not item.last_year:
        return ""
    ratio = ((item.this_year - item.last_year) / item.last_year).quantize(Decimal("0.01"))
    sign = "+" if ratio > 0 else "-" if ratio < 0 else ""
    return sign + percent(abs(ratio), locale)


def bill_presentation(bill) -> dict:
    """The template context of templates/_bill_presentation.html for `bill` (with its lines loaded)."""
    locale = format_locale()
    shown, deductions = present_lines(bill, locale)
    lines = [(line, percent(line.tax_rate, locale)) for line in shown]
    if bill.kind == "instalment":  # a payment on account: no VAT rate of its own
        lines = [(line, "—") for line, _rate in lines]
    totals, basis, net = vat_summary(bill)
    taxes = [(tax, percent(tax.rate, locale)) for tax in totals]
    consumption, comparisons = consumption_of(bill, locale)
    conversions = {pod.identifier: gas_conversion_text(pod.conversion, pod.unit, locale)
                   for pod in consumption if pod.conversion is not None}
    changes = {item.identifier: _change(item, locale) for item in comparisons}
    return {"lines": lines, "taxes": taxes, "deductions": deductions, "vat_basis": basis,
            "vat_statement": line_names.vat_statement(basis, gettext) if shown else "", "net_total": net,
            "gross_total": net + bill.total_tax, "kind_title": document_title(bill.kind, gettext),
            "consumption": consumption, "comparisons": comparisons, "conversions": conversions, "changes": changes}
