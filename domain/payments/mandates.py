"""SEPA direct-debit mandates: IBAN validation (country, length, mod-97), mandate references, signing, revoking."""
from __future__ import annotations

import logging
import re
from datetime import datetime

from sqlalchemy import func, select

from domain.contracts.models import CustomerAccount
from domain.db import db
from domain.payments.models import DirectDebitMandate
from tenants.operation_settings import payment_methods

log = logging.getLogger("payments")

# IBAN length per country (SWIFT IBAN registry): the SEPA scheme's countries and territories first.
IBAN_LENGTHS = {
    "AD": 24, "AT": 20, "BE": 16, "BG": 22, "CH": 21, "CY": 28, "CZ": 24, "DE": 22, "DK": 18, "EE": 20,
    "ES": 24, "FI": 18, "FR": 27, "GB": 22, "GI": 23, "GR": 27, "HR": 21, "HU": 28, "IE": 22, "IS": 26,
    "IT": 27, "LI": 21, "LT": 20, "LU": 20, "LV": 21, "MC": 27, "MT": 31, "NL": 18, "NO": 15, "PL": 28,
    "PT": 25, "RO": 24, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "VA": 22,
    # French overseas territories with their own country codes, part of SEPA through France.
    "GF": 27, "GP": 27, "MQ": 27, "RE": 27, "YT": 27, "PM": 27, "BL": 27, "MF": 27, "NC": 27, "PF": 27,
    "WF": 27, "TF": 27,
}

_ALLOWED = re.compile(r"^[A-Z0-9]+$")
_SEPARATORS = re.compile(r"[\s\-.]+")


class InvalidIban(ValueError):
    """`code` says what is wrong: empty, characters, country, length, checksum."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


class MandateRefused(ValueError):
    """The mandate cannot be signed or revoked; `code` says why (nothing was stored)."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


def _mod97(text: str) -> int:
    """ISO 7064 MOD 97-10 with letters as numbers (A=10 ... Z=35), computed piecewise to stay small."""
    remainder = 0
    for ch in text:
        for digit in str(int(ch, 36)):
            remainder = (remainder * 10 + int(digit)) % 97
    return remainder


def normalise_iban(raw: str | None) -> str:
    """The IBAN without spaces or dashes, upper case; raises InvalidIban unless country, length and checksum hold."""
    compact = _SEPARATORS.sub("", raw or "").upper()
    if not compact:
        raise InvalidIban("empty", "no IBAN given")
    if not _ALLOWED.match(compact):
        raise InvalidIban("characters", "an IBAN has only letters and digits")
    country = compact[:2]
    expected = IBAN_LENGTHS.get(country)
    if expected is None or not country.isalpha():
        raise InvalidIban("country", f"{country!r} is not a country of the SEPA direct-debit scheme")
    if len(compact) != expected:
        raise InvalidIban("length", f"an IBAN of {country} has {expected} characters, not {len(compact)}")
    if not compact[2:4].isdigit() or _mod97(compact[4:] + compact[:4]) != 1:
        raise InvalidIban("checksum", "the IBAN's check digits do not match")
    return compact


def mask_iban(iban: str) -> str:
    """What is shown once the IBAN is stored: country and check digits, then the last four characters."""
    return f"{iban[:4]} •••• {iban[-4:]}"


def creditor_name(tenant) -> str:
    return tenant.legal_name or tenant.name


def creditor_identifier(tenant) -> str | None:
    """The SEPA creditor identifier (ICS/Gläubiger-ID) the tenant admin set in the direct-debit settings."""
    return getattr(tenant, "sepa_creditor_id", None)


def offers_mandates(tenant) -> bool:
    """SEPA Core direct debit is in euros under a SEPA creditor identifier: a utility without both (one billing
    in pounds, say) offers no mandate to sign; nor one whose administrator does not offer direct debit."""
    return ((tenant.currency or "").upper() == "EUR" and bool(creditor_identifier(tenant))
            and "direct_debit" in payment_methods(tenant))


def mandate_reference(*, account_number: str, signed_at: datetime, sequence: int) -> str:
    """A SEPA mandate reference (at most 35 characters of the allowed set), unique per creditor: the
    customer number, the signature date and the account's mandate count."""
    reference = f"MD-{account_number}-{signed_at:%Y%m%d}-{sequence:02d}"
    if len(reference) > 35:
        raise ValueError(f"mandate reference too long: {reference}")
    return reference


def active_mandate(*, account_id: int) -> DirectDebitMandate | None:
    return db.session.scalar(select(DirectDebitMandate).where(
        DirectDebitMandate.account_id == account_id, DirectDebitMandate.status == "active")
        .order_by(DirectDebitMandate.signed_at.desc()))


def mandates_of(*, account_id: int) -> list[DirectDebitMandate]:
    return list(db.session.scalars(select(DirectDebitMandate).where(DirectDebitMandate.account_id == account_id)
                                   .order_by(DirectDebitMandate.signed_at.desc(), DirectDebitMandate.id.desc())))


def sign_mandate(*, tenant, account: CustomerAccount, iban: str, holder_name: str, accepted: bool,
                 signed_at: datetime, signed_by_user_id: int | None, bic: str | None = None) -> DirectDebitMandate:
    """Store a signed mandate for the account and collect its bills by direct debit from now on.

    A mandate already active on the account is revoked at the same moment: one active mandate per account. A
    utility that does not collect in euros under a SEPA creditor identifier refuses (`not_offered`).
    """
    if not offers_mandates(tenant):
        raise MandateRefused("not_offered", "this utility does not collect by SEPA direct debit")
    if not accepted:
        raise MandateRefused("not_accepted", "the mandate text was not accepted")
    holder = " ".join((holder_name or "").split())
    if not holder:
        raise MandateRefused("holder_name", "the account holder's name is missing")
    if len(holder) > 140:
        raise MandateRefused("holder_name", "the account holder's name is longer than 140 characters")
    compact = normalise_iban(iban)
    if account.status != "active":
        raise MandateRefused("account_closed", "the account is closed")
    previous = active_mandate(account_id=account.id)
    if previous is not None:
        previous.status = "revoked"
        previous.revoked_at = signed_at
    count = db.session.scalar(select(func.count(DirectDebitMandate.id)).where(
        DirectDebitMandate.account_id == account.id)) or 0
    mandate = DirectDebitMandate(
        account_id=account.id, iban=compact, bic=(bic or None), holder_name=holder, status="active",
        signed_at=signed_at, signed_by_user_id=signed_by_user_id,
        reference=mandate_reference(account_number=account.account_number, signed_at=signed_at, sequence=count + 1))
    db.session.add(mandate)
    account.payment_method = "direct_debit"
    db.session.flush()
    log.info("mandate signed tenant=%s account=%s mandate=%s", account.tenant_id, account.id, mandate.id)
    return mandate


def revoke_mandate(*, account: CustomerAccount, revoked_at: datetime) -> DirectDebitMandate:
    """End the account's active mandate; its bills are paid by transfer again."""
    mandate = active_mandate(account_id=account.id)
    if mandate is None:
        raise MandateRefused("no_mandate", "the account has no active mandate")
    mandate.status = "revoked"
    mandate.revoked_at = revoked_at
    if account.payment_method == "direct_debit":
        account.payment_method = "transfer"
    db.session.flush()
    log.info("mandate revoked tenant=%s account=%s mandate=%s", account.tenant_id, account.id, mandate.id)
    return mandate
