"""The bill PDF prints the issuer's legal identity and how to reach it (pure: a hand-built document)."""
from __future__ import annotations

from dataclasses import replace

from domain.billing.document_data import dispute_text
from tests.unit.billing_documents.samples import bill_document, tenant
from tests.unit.billing_documents.test_document_pdf import render


def _identified():
    issuer = replace(tenant(), legal_name="Régie Énergie du Rhône SAS", company_registration="RCS Lyon 552 081 317",
                     vat_number="FR40303265045", registered_office=("1 rue de la République", "69001 Lyon"),
                     support_hours="Mon-Fri 8:00-18:00", emergency=(("Electricity", "09 72 67 50 69"),))
    dispute = dispute_text(locale="en", complaint_contact="reclamations@regie-rhone.example", ombudsman_text=None,
                           water_only=False, ombudsman="Médiateur national de l'énergie",
                           ombudsman_contact="15 rue Pasquier\n75008 Paris")
    return bill_document(locale="en", tenant=issuer, dispute_text=dispute)


def test_the_pdf_prints_the_legal_identity_customer_service_and_emergency_number():
    _pdf, text = render(_identified())

    assert ("Régie Énergie du Rhône SAS · Registered office: 1 rue de la République, 69001 Lyon · "
            "Company registration: RCS Lyon 552 081 317 · VAT number: FR40303265045") in text
    assert "Customer service: 04 72 00 00 00 (Mon-Fri 8:00-18:00)" in text
    assert "Emergencies (electricity), day and night: 09 72 67 50 69" in text
    assert "free of charge to Médiateur national de l'énergie (15 rue Pasquier, 75008 Paris)" in text


def test_a_utility_without_legal_details_prints_no_empty_legal_line():
    _pdf, text = render(bill_document(locale="en"))

    assert "Registered office" not in text and "VAT number" not in text and "Emergencies" not in text
