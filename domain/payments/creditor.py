"""The SEPA creditor identifier (ICS, Gläubiger-ID): format and ISO 13616-style check digits; pure."""
from __future__ import annotations

import re

from domain.payments.mandates import IBAN_LENGTHS, _mod97

_SEPARATORS = re.compile(r"[\s\-.]+")
# Country, two check digits, a three-character creditor business code (ZZZ unless the creditor chose one),
# then the national identifier, 35 characters at most in all.
_SHAPE = re.compile(r"^([A-Z]{2})([0-9]{2})([A-Z0-9]{3})([A-Z0-9]{1,28})$")


class InvalidCreditorId(ValueError):
    """`code` says what is wrong: empty, format, country, checksum."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


def check_digits(*, country: str, national_id: str) -> str:
    """The two check digits of a creditor identifier: MOD 97-10 over the national id and the country code, the
    business code left out (so a creditor may change it without new check digits)."""
    return f"{98 - _mod97(f'{national_id}{country}00'):02d}"


def normalise_creditor_id(raw: str | None) -> str:
    """Upper case without spaces; raises InvalidCreditorId unless shape, SEPA country and check digits hold."""
    compact = _SEPARATORS.sub("", raw or "").upper()
    if not compact:
        raise InvalidCreditorId("empty", "no creditor identifier given")
    match = _SHAPE.match(compact)
    if match is None or len(compact) > 35:
        raise InvalidCreditorId("format", "a creditor identifier is a country code, two check digits, a "
                                          "three-character business code and the national identifier")
    country, digits, _business_code, national_id = match.groups()
    if country not in IBAN_LENGTHS:
        raise InvalidCreditorId("country", f"{country!r} is not a country of the SEPA direct-debit scheme")
    if digits != check_digits(country=country, national_id=national_id):
        raise InvalidCreditorId("checksum", "the creditor identifier's check digits do not match")
    return compact
