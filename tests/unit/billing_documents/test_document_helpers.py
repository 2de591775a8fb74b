"""Locale formatting, line labels, tax per rate and meter arithmetic behind the bill document."""
from datetime import date
from decimal import Decimal

from domain.billing.document_data import (
    DocumentLine,
    dispute_text,
    display_unit,
    line_description,
    meter_advance,
    tax_totals,
)
from domain.i18n import format_date, format_money, format_quantity, normalise_locale, translator
from tests.unit.billing_documents.samples import bill_document


def test_translator_loads_the_compiled_catalogue_of_the_locale():
    french, german = translator("fr"), translator("de-DE")

    assert french("Bill") == "Facture"
    assert german("Bill") == "Rechnung"
    assert translator("en")("Bill") == "Bill"
    assert translator("xx")("Bill") == "Bill"
    assert normalise_locale("fr-fr") == "fr_FR"


def test_formats_money_dates_and_quantities_for_the_locale():
    assert format_money(Decimal("1234.56"), "EUR", "fr") == "1\u202f234,56\u00a0€"
    assert format_money(Decimal("1234.56"), "EUR", "en") == "€1,234.56"
    assert format_money(Decimal("-12.3"), "EUR", "de") == "-12,30\u00a0€"
    assert format_date(date(2026, 11, 15), "fr") == "15 novembre 2026"
    assert format_date(date(2026, 11, 15), "de") == "15. November 2026"
    assert format_quantity(Decimal("1234.500"), "m3", "fr") == "1\u202f234,5\u00a0m³"
    assert format_quantity(Decimal("200.000"), "kWh", "en") == "200\u00a0kWh"


def test_translates_known_line_keys_and_shows_other_descriptions_as_they_are():
    tr = translator("en")

    assert line_description("standing_charge", tr) == "Standing charge"
    assert line_description("energy_offpeak", tr) == "Energy consumption, off-peak hours"
    assert line_description("instalments_billed", tr) == "Instalments already billed"
    assert line_description("instalments_billed", translator("fr")) == "Mensualités déjà facturées"
    assert line_description("Special discount (goodwill)", tr) == "Special discount (goodwill)"


def test_shows_day_counts_in_the_readers_language_and_cubic_metres_with_their_symbol():
    assert display_unit("day", Decimal("30"), "en") == "days"
    assert display_unit("day", Decimal("1"), "en") == "day"
    assert display_unit("m3", Decimal("12.5"), "fr") == "m³"
    assert display_unit("kWh", Decimal("12.5"), "fr") == "kWh"


def test_computes_tax_per_rate_on_the_sum_of_the_lines_rounded_half_up():
    line = DocumentLine(description="x", quantity=Decimal("1"), unit="", unit_price=Decimal("0"),
                        amount=Decimal("0.25"), tax_rate=Decimal("0.20000"))
    other = DocumentLine(description="y", quantity=Decimal("1"), unit="", unit_price=Decimal("0"),
                         amount=Decimal("13.50"), tax_rate=Decimal("0.055"))

    totals = tax_totals([line, line, other])

    assert [(t.rate, t.base, t.tax) for t in totals] == [
        (Decimal("0.055"), Decimal("13.50"), Decimal("0.74")),
        (Decimal("0.2"), Decimal("0.50"), Decimal("0.10")),
    ]


def test_meter_advance_handles_a_rollover_and_the_multiplier():
    assert meter_advance(Decimal("999990"), Decimal("000010"), digits=6, multiplier=Decimal("1")) == Decimal("20")
    assert meter_advance(Decimal("100"), Decimal("150"), digits=6, multiplier=Decimal("2")) == Decimal("100")


def test_the_period_shows_its_last_day_not_its_exclusive_end():
    doc = bill_document(period_start=date(2026, 2, 1), period_end=date(2026, 3, 1))

    assert doc.period_last_day == date(2026, 2, 28)


def test_dispute_text_uses_the_tenants_ombudsman_text_when_configured():
    configured = dispute_text(locale="en", complaint_contact="https://alpha.example/complaints",
                              ombudsman_text="Médiateur national de l'énergie, www.energie-mediateur.fr",
                              water_only=False)
    generic_water = dispute_text(locale="en", complaint_contact=None, ombudsman_text=None, water_only=True)

    assert "https://alpha.example/complaints" in configured
    assert configured.endswith("Médiateur national de l'énergie, www.energie-mediateur.fr")
    assert "water services ombudsman" in generic_water
