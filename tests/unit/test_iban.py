"""IBAN validation for SEPA mandates: country, length per country, mod-97 check digits; references and masks."""
from datetime import UTC, datetime

import pytest

from domain.payments.mandates import InvalidIban, mandate_reference, mask_iban, normalise_iban


@pytest.mark.parametrize("raw, compact", [
    ("FR76 3000 6000 0112 3456 7890 189", "FR7630006000011234567890189"),
    ("DE89 3704 0044 0532 0130 00", "DE89370400440532013000"),
    ("es91 2100 0418 4502 0005 1332", "ES9121000418450200051332"),
    ("GB29-NWBK-6016-1331-9268-19", "GB29NWBK60161331926819"),
])
def test_accepts_valid_ibans_written_with_spaces_dashes_or_lower_case(raw, compact):
    assert normalise_iban(raw) == compact


@pytest.mark.parametrize("raw", [
    "FR7630006000011234567890188",  # last digit changed
    "DE88370400440532013000",  # check digits changed
    "ES9121000418450200051323",  # two digits swapped
    "GB29NWBK60161331926818",
])
def test_refuses_a_wrong_checksum(raw):
    with pytest.raises(InvalidIban) as caught:
        normalise_iban(raw)
    assert caught.value.code == "checksum"


@pytest.mark.parametrize("raw", [
    "FR763000600001123456789018",  # one character short
    "DE893704004405320130001",  # one too many
    "GB29NWBK6016133192681",
])
def test_refuses_a_wrong_length_for_the_country(raw):
    with pytest.raises(InvalidIban) as caught:
        normalise_iban(raw)
    assert caught.value.code == "length"


@pytest.mark.parametrize("raw, code", [
    ("", "empty"),
    ("   ", "empty"),
    ("US12345678901234567890", "country"),
    ("1234567890123456", "country"),
    ("FR76 3000 6000 0112 3456 7890 18*", "characters"),
])
def test_refuses_empty_foreign_or_garbled_input(raw, code):
    with pytest.raises(InvalidIban) as caught:
        normalise_iban(raw)
    assert caught.value.code == code


def test_masks_all_but_the_country_check_digits_and_last_four():
    assert mask_iban("FR7630006000011234567890189") == "FR76 •••• 0189"


def test_mandate_reference_fits_the_sepa_limit_with_the_longest_customer_number():
    reference = mandate_reference(account_number="C" * 20, signed_at=datetime(2026, 11, 28, tzinfo=UTC), sequence=3)

    assert reference == f"MD-{'C' * 20}-20261128-03"
    assert len(reference) == 35
