"""The bill PDF shows what a customer checks, in their language, across pages."""
import io
import re
from dataclasses import replace
from decimal import Decimal

import pytest
from pypdf import PdfReader

from domain.billing.document_data import DocumentLine, tax_totals
from domain.billing.document_pdf import qr_payload_for, render_bill_pdf
from domain.billing.epc_qr import epc_payload
from domain.i18n import translator
from tests.unit.billing_documents.samples import IBAN, bill_document, tenant

QR_CAPTION = "Scan with your banking app to pay by transfer"


def pages_text(pdf: bytes) -> list[str]:
    """Each page's text with every run of spaces (babel's no-break ones included) as one space."""
    reader = PdfReader(io.BytesIO(pdf))
    return [re.sub(r"\s+", " ", page.extract_text()) for page in reader.pages]


def render(doc) -> tuple[bytes, str]:
    pdf = render_bill_pdf(doc, _=translator(doc.locale))
    return pdf, " ".join(pages_text(pdf))


def test_english_bill_shows_what_the_customer_checks():
    doc = bill_document(locale="en")

    pdf, text = render(doc)

    assert pdf.startswith(b"%PDF")
    assert "Bill" in text and "F2026-000123" in text
    assert "€1,390.72" in text
    assert "November 15, 2026" in text
    assert "PDL09876543210" in text
    assert "Tarif Bleu Heures Creuses" in text
    assert "reclamations@regie-rhone.example" in text and "national energy ombudsman" in text
    assert "Sep 1, 2026 to Sep 30, 2026" in text  # the exclusive end shown as the last day
    assert "Chloé Dubois" in text and "69001 Lyon" in text
    assert "€0.2516" in text and "5.5%" in text
    assert "4,410 kWh" in text and "+13%" in text  # the same period last year


def test_french_bill_uses_french_labels_and_formats():
    doc = bill_document(locale="fr")

    _pdf, text = render(doc)

    assert "Facture" in text
    assert "1 390,72 €" in text
    assert "15 novembre 2026" in text
    assert "1 sept. 2026" in text and "30 sept. 2026" in text
    assert "Numéro client" in text and "Point de livraison" in text and "Compteur" in text
    assert "5,5 %" in text and "0,2516 €" in text
    assert "PDL09876543210" in text and "Tarif Bleu Heures Creuses" in text


def test_french_bill_translates_the_bill_labels_once_the_catalogue_has_them():
    tr = translator("fr")
    if tr("Amount due") == "Amount due":
        pytest.skip("the bill document's strings are not in the French catalogue yet")

    _pdf, text = render(bill_document(locale="fr"))

    assert tr("Amount due") in text and tr("Details of your bill") in text and tr("How to pay") in text


def test_credit_note_shows_negative_amounts_and_nothing_to_pay():
    line = DocumentLine(description="Regularisation credit", quantity=Decimal("-200.000"), unit="kWh",
                        unit_price=Decimal("0.250000"), amount=Decimal("-50.00"), tax_rate=Decimal("0.20"))
    doc = bill_document(locale="en", kind="credit_note", lines=(line,), consumption=(), comparisons=(),
                        total_excl_tax=Decimal("-50.00"), total_tax=Decimal("-10.00"),
                        total_incl_tax=Decimal("-60.00"), tax_totals=tax_totals([line]))

    _pdf, text = render(doc)

    assert "Credit note" in text
    assert "-€60.00" in text and "-€50.00" in text and "-€10.00" in text
    assert "Amount in your favour" in text
    assert "How to pay" not in text and QR_CAPTION not in text
    assert qr_payload_for(doc) is None


def test_sixty_lines_break_across_pages_with_the_table_header_repeated():
    lines = tuple(
        DocumentLine(description=f"Line {n:02d} energy consumption", quantity=Decimal("10"), unit="kWh",
                     unit_price=Decimal("0.25"), amount=Decimal("2.50"), tax_rate=Decimal("0.20"))
        for n in range(1, 61)
    )
    doc = bill_document(locale="en", lines=lines, total_excl_tax=Decimal("150.00"), total_tax=Decimal("30.00"),
                        total_incl_tax=Decimal("180.00"), tax_totals=tax_totals(lines))

    pages = pages_text(render_bill_pdf(doc, _=translator("en")))

    assert len(pages) >= 2
    assert all(f"Line {n:02d} energy consumption" in " ".join(pages) for n in range(1, 61))
    pages_with_lines = [p for p in pages if "energy consumption" in p]
    assert len(pages_with_lines) >= 2
    assert all("Description" in p and "Unit price" in p for p in pages_with_lines)
    assert f"Page 1 of {len(pages)}" in pages[0] and f"Page {len(pages)} of {len(pages)}" in pages[-1]
    assert all("F2026-000123" in p for p in pages)  # every page says which bill it belongs to
    assert "€180.00" in pages[0]


def test_qr_code_is_drawn_only_when_an_iban_is_configured():
    with_iban = bill_document(locale="en")
    without_iban = bill_document(locale="en", iban=None)

    _pdf, text_with = render(with_iban)
    _pdf, text_without = render(without_iban)

    assert qr_payload_for(with_iban) == epc_payload(bic="AGRIFRPP", name="Régie Énergie du Rhône", iban=IBAN,
                                                    amount=Decimal("1390.72"), reference="F2026-000123")
    assert QR_CAPTION in text_with and "FR76 3000 6000 0112 3456 7890 189" in text_with
    assert qr_payload_for(without_iban) is None
    assert QR_CAPTION not in text_without and "IBAN" not in text_without


def test_no_qr_code_for_a_wrong_iban_or_a_direct_debit_or_another_currency():
    wrong = replace(bill_document(locale="en"), tenant=tenant(iban="FR76 3000 6000 0112 3456 7890 188"))
    debit = bill_document(locale="en", payment_method="direct_debit")
    francs = bill_document(locale="en", currency="CHF")

    _pdf, wrong_text = render(wrong)
    _pdf, debit_text = render(debit)

    assert qr_payload_for(wrong) is None and "FR76 3000 6000 0112 3456 7890 188" not in wrong_text
    assert qr_payload_for(debit) is None and "debited from your bank account" in debit_text
    assert qr_payload_for(francs) is None


def test_long_names_and_descriptions_are_wrapped_not_cut():
    long_tenant = "Syndicat intercommunal des eaux, de l'assainissement et de la chaleur urbaine " * 2
    doc = bill_document(
        locale="fr",
        tenant=tenant(name=long_tenant.strip()[:120]),
        customer_name="Marie-Thérèse " * 10,
        customer_address=(("Marie-Thérèse de la Fontaine-Saint-Rémy " * 4).strip(), "3 rue des Lilas", "69001 Lyon"),
        lines=(DocumentLine(description="Redevance de modernisation des réseaux de collecte " * 5,
                            quantity=Decimal("12.5"), unit="m³", unit_price=Decimal("0.15"),
                            amount=Decimal("1.88"), tax_rate=Decimal("0.055")),),
        total_excl_tax=Decimal("1.88"), total_tax=Decimal("0.10"), total_incl_tax=Decimal("1.98"),
    )

    _pdf, text = render(doc)

    assert "Syndicat intercommunal" in text
    assert "Fontaine-Saint-Rémy" in text
    assert "12,5 m³" in text
    assert "1,98 €" in text


def test_a_logo_is_drawn_and_a_broken_one_falls_back_to_the_initials():
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (120, 40), (11, 92, 173)).save(buffer, format="PNG")
    with_logo = replace(bill_document(locale="en"), tenant=replace(tenant(), logo=buffer.getvalue()))
    broken = replace(bill_document(locale="en"), tenant=replace(tenant(), logo=b"not an image"))

    logo_pdf = render_bill_pdf(with_logo, _=translator("en"))
    broken_pdf = render_bill_pdf(broken, _=translator("en"))

    assert b"/Subtype /Image" in logo_pdf
    assert b"/Subtype /Image" not in broken_pdf and "RÉ" in pages_text(broken_pdf)[0]


def test_the_card_checkout_is_mentioned_only_when_the_utility_allows_cards():
    card = "Or pay online by card in your customer account"

    _pdf, allowed = render(bill_document(locale="en"))
    _pdf, transfers_only = render(bill_document(locale="en", tenant=replace(tenant(), card_payments=False)))

    assert card in allowed
    assert card not in transfers_only and "By bank transfer, quoting the reference:" in transfers_only


def test_a_transfer_goes_to_the_utilitys_legal_name_where_it_has_one():
    legal = bill_document(locale="en", tenant=replace(tenant(), legal_name="Régie Énergie du Rhône SPL"))

    _pdf, text = render(legal)

    assert qr_payload_for(legal) == epc_payload(bic="AGRIFRPP", name="Régie Énergie du Rhône SPL", iban=IBAN,
                                                amount=Decimal("1390.72"), reference="F2026-000123")
    assert "Beneficiary" in text and "Régie Énergie du Rhône SPL" in text
