"""The EPC069-12 QR payload a banking app scans, and the IBAN checks behind it."""
from decimal import Decimal

import pytest

from domain.billing.epc_qr import epc_payload, format_iban, is_creditor_reference, is_valid_iban, normalise_iban

IBAN = "FR76 3000 6000 0112 3456 7890 189"


def test_builds_the_payload_with_an_unstructured_reference():
    payload = epc_payload(bic="AGRIFRPP", name="Régie Énergie du Rhône", iban=IBAN, amount=Decimal("1390.72"),
                          reference="F2026-000123")

    assert payload == (
        "BCD\n002\n1\nSCT\nAGRIFRPP\nRégie Énergie du Rhône\nFR7630006000011234567890189\n"
        "EUR1390.72\n\n\nF2026-000123"
    )


def test_leaves_the_bic_line_empty_when_there_is_no_bic():
    payload = epc_payload(bic=None, name="Alpha Utility", iban="DE89370400440532013000", amount=Decimal("60"),
                          reference="F2026-000001")

    assert payload == "BCD\n002\n1\nSCT\n\nAlpha Utility\nDE89370400440532013000\nEUR60.00\n\n\nF2026-000001"


def test_puts_an_rf_creditor_reference_in_the_structured_field_and_ends_there():
    payload = epc_payload(bic="AGRIFRPP", name="Alpha Utility", iban=IBAN, amount=Decimal("10.5"),
                          reference="RF18 5390 0754 7034")

    assert payload == (
        "BCD\n002\n1\nSCT\nAGRIFRPP\nAlpha Utility\nFR7630006000011234567890189\nEUR10.50\n\nRF18539007547034"
    )


def test_returns_none_when_the_currency_is_not_the_euro():
    assert epc_payload(bic=None, name="Utility", iban=IBAN, amount=Decimal("10"), currency="CHF",
                       reference="F1") is None


def test_cuts_the_beneficiary_name_at_70_characters():
    payload = epc_payload(bic=None, name="N" * 90, iban=IBAN, amount=Decimal("1"), reference="F1")

    assert payload.split("\n")[5] == "N" * 70


@pytest.mark.parametrize("iban", [
    "FR76 3000 6000 0112 3456 7890 188",  # wrong check digits
    "FR7630006000011234567890",  # too short for its checksum
    "GB82 WEST 1234 5698 7654 33",
    "not an iban",
    "",
])
def test_refuses_a_bad_iban(iban):
    with pytest.raises(ValueError, match="IBAN"):
        epc_payload(bic=None, name="Utility", iban=iban, amount=Decimal("1"), reference="F1")


@pytest.mark.parametrize("amount", [Decimal("0"), Decimal("-5.00"), Decimal("1000000000.00"), Decimal("1.234")])
def test_refuses_an_amount_outside_the_range_or_with_more_than_two_decimals(amount):
    with pytest.raises(ValueError, match="amount"):
        epc_payload(bic=None, name="Utility", iban=IBAN, amount=amount, reference="F1")


@pytest.mark.parametrize("amount, text", [(Decimal("0.01"), "EUR0.01"), (Decimal("999999999.99"), "EUR999999999.99")])
def test_accepts_the_bounds_of_the_amount(amount, text):
    payload = epc_payload(bic=None, name="Utility", iban=IBAN, amount=amount, reference="F1")

    assert payload.split("\n")[7] == text


def test_refuses_a_remittance_over_140_characters_and_a_bad_bic():
    with pytest.raises(ValueError, match="reference"):
        epc_payload(bic=None, name="Utility", iban=IBAN, amount=Decimal("1"), reference="x" * 141)
    with pytest.raises(ValueError, match="BIC"):
        epc_payload(bic="AGRI", name="Utility", iban=IBAN, amount=Decimal("1"), reference="F1")


def test_checks_ibans_with_their_mod_97_checksum():
    assert is_valid_iban("DE89 3704 0044 0532 0130 00")
    assert is_valid_iban("gb82west12345698765432")
    assert not is_valid_iban("DE88 3704 0044 0532 0130 00")
    assert not is_valid_iban(None)
    assert normalise_iban("fr76 3000 6000 0112 3456 7890 189") == "FR7630006000011234567890189"
    assert format_iban("FR7630006000011234567890189") == "FR76 3000 6000 0112 3456 7890 189"


def test_recognises_iso_11649_creditor_references():
    assert is_creditor_reference("RF18539007547034")
    assert not is_creditor_reference("RF19539007547034")
    assert not is_creditor_reference("F2026-000123")
