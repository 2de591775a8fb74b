"""Hand-built bill documents for the renderer's tests (no database)."""
from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

from domain.billing.document_data import (
    BillDocument,
    DocumentLine,
    PodConsumption,
    RegisterReadings,
    TenantInfo,
    YearComparison,
    dispute_text,
    tax_totals,
)

IBAN = "FR76 3000 6000 0112 3456 7890 189"
BIC = "AGRIFRPP"


def tenant(*, iban: str | None = IBAN, bic: str | None = BIC, name: str = "Régie Énergie du Rhône") -> TenantInfo:
    return TenantInfo(
        name=name, primary_colour="#0b5cad", logo=None,
        address_lines=("12 quai Perrache", "69002 Lyon"),
        support_email="clients@regie-rhone.example", support_phone="04 72 00 00 00",
        iban=iban, bic=bic,
    )


def bill_document(*, locale: str = "en", kind: str = "periodic", iban: str | None = IBAN,
                  lines: tuple[DocumentLine, ...] | None = None, **changes) -> BillDocument:
    if lines is None:
        lines = (
            DocumentLine(description="Standing charge" if locale == "en" else "Abonnement",
                         quantity=Decimal("30"), unit="days" if locale == "en" else "jours",
                         unit_price=Decimal("0.450000"), amount=Decimal("13.50"), tax_rate=Decimal("0.055")),
            DocumentLine(description="Energy consumption, peak hours" if locale == "en"
                         else "Consommation d'énergie, heures pleines",
                         quantity=Decimal("2500.000"), unit="kWh", unit_price=Decimal("0.251600"),
                         amount=Decimal("629.00"), tax_rate=Decimal("0.20")),
            DocumentLine(description="Energy consumption, off-peak hours" if locale == "en"
                         else "Consommation d'énergie, heures creuses",
                         quantity=Decimal("2467.000"), unit="kWh", unit_price=Decimal("0.210000"),
                         amount=Decimal("518.07"), tax_rate=Decimal("0.20")),
        )
    totals = tax_totals(lines)
    excl = sum((t.base for t in totals), Decimal("0"))
    tax = sum((t.tax for t in totals), Decimal("0"))
    document = BillDocument(
        tenant=tenant(iban=iban),
        customer_name="Chloé Dubois",
        customer_address=("Chloé Dubois", "3 rue des Lilas", "Bâtiment B", "69001 Lyon"),
        account_number="C00000042",
        bill_number="F2026-000123",
        kind=kind,
        issue_date=date(2026, 11, 1),
        due_date=date(2026, 11, 15),
        period_start=date(2026, 9, 1),
        period_end=date(2026, 10, 1),
        currency="EUR",
        locale=locale,
        lines=lines,
        tax_totals=totals,
        total_excl_tax=excl,
        total_tax=tax,
        total_incl_tax=excl + tax,
        consumption=(
            PodConsumption(
                identifier="PDL09876543210", activity="Electricity" if locale == "en" else "Électricité",
                unit="kWh", quantity=Decimal("4967.000"), estimated=False,
                readings=(
                    RegisterReadings(register="Peak hours" if locale == "en" else "Heures pleines",
                                     meter_serial="M00001234", start_date=date(2026, 9, 1),
                                     start_value=Decimal("12034"), start_estimated=True,
                                     end_date=date(2026, 10, 1), end_value=Decimal("14534"), end_estimated=False,
                                     quantity=Decimal("2500")),
                    RegisterReadings(register="Off-peak hours" if locale == "en" else "Heures creuses",
                                     meter_serial="M00001234", start_date=date(2026, 9, 1),
                                     start_value=Decimal("8000"), start_estimated=True,
                                     end_date=date(2026, 10, 1), end_value=Decimal("10467"), end_estimated=False,
                                     quantity=Decimal("2467")),
                ),
                supply_address="3 rue des Lilas, Bâtiment B, 69001 Lyon",
            ),
        ),
        tariff_name="Tarif Bleu Heures Creuses",
        contract_number="K00000042",
        contract_end_date=None,
        delivery_points=("PDL09876543210",),
        dispute_text=dispute_text(locale=locale, complaint_contact="reclamations@regie-rhone.example",
                                  ombudsman_text=None, water_only=False),
        comparisons=(YearComparison(identifier="PDL09876543210", unit="kWh", this_year=Decimal("4967.000"),
                                    last_year=Decimal("4410.000")),),
        payment_method="transfer",
    )
    return replace(document, **changes)
