"""The EPC069-12 "SEPA Credit Transfer" QR payload a banking app scans to pay a bill (pure, no I/O)."""
from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

MIN_AMOUNT = Decimal("0.01")
MAX_AMOUNT = Decimal("999999999.99")
MAX_PAYLOAD_BYTES = 331
NAME_MAX = 70
REMITTANCE_MAX = 140
STRUCTURED_MAX = 35

_IBAN_SHAPE = re.compile(r"^[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}$")
_BIC_SHAPE = re.compile(r"^[A-Z]{4}[A-Z]{2}[A-Z0-9]{2}([A-Z0-9]{3})?$")
_RF_SHAPE = re.compile(r"^RF[0-9]{2}[A-Z0-9]{1,21}$")


def _mod97(text: str) -> int:
    """ISO 7064 MOD 97-10 over letters-as-numbers (A=10 ... Z=35), as IBAN and RF references use."""
    digits = "".join(str(int(ch, 36)) for ch in text)
    return int(digits) % 97


def normalise_iban(iban: str) -> str:
    """Spaces removed, upper case; raises ValueError unless the shape and the mod-97 checksum are right."""
    if not iban:
        raise ValueError("IBAN: empty")
    compact = re.sub(r"\s+", "", iban).upper()
    if not _IBAN_SHAPE.match(compact):
        raise ValueError(f"IBAN: not an IBAN ({compact!r})")
    if _mod97(compact[4:] + compact[:4]) != 1:
        raise ValueError(f"IBAN: wrong check digits ({compact!r})")
    return compact


def is_valid_iban(iban: str | None) -> bool:
    try:
        normalise_iban(iban or "")
    except ValueError:
        return False
    return True


def format_iban(iban: str) -> str:
    """Groups of four, as printed on paper: FR76 3000 6000 ..."""
    compact = normalise_iban(iban)
    return " ".join(compact[i:i + 4] for i in range(0, len(compact), 4))


def is_creditor_reference(reference: str) -> bool:
    """ISO 11649 structured creditor reference (RF + 2 check digits + up to 21 characters)."""
    compact = re.sub(r"\s+", "", reference or "").upper()
    return bool(_RF_SHAPE.match(compact)) and _mod97(compact[4:] + compact[:4]) == 1


def _single_line(text: str) -> str:
    return re.sub(r"\s+", " ", text or "").strip()


def epc_payload(*, bic: str | None, name: str, iban: str, amount: Decimal, currency: str = "EUR",
                reference: str) -> str | None:
    """The QR payload (version 002, UTF-8, SCT), or None when the currency is not the euro.

    A valid ISO 11649 "RF" reference goes in the structured remittance field; anything else
    in the unstructured one. The name is cut at 70 characters (the bank matches on the IBAN);
    a bad IBAN or BIC, an amount outside 0.01..999,999,999.99 or with more than two decimals,
    or a remittance over 140 characters raise ValueError.
    """
    if (currency or "").upper() != "EUR":
        return None
    compact_iban = normalise_iban(iban)
    compact_bic = re.sub(r"\s+", "", bic or "").upper()
    if compact_bic and not _BIC_SHAPE.match(compact_bic):
        raise ValueError(f"BIC: not a BIC ({bic!r})")
    beneficiary = _single_line(name)[:NAME_MAX].rstrip()
    if not beneficiary:
        raise ValueError("beneficiary name: empty")
    try:
        value = Decimal(amount)
    except (InvalidOperation, TypeError, ValueError) as exc:
        raise ValueError(f"amount: not a number ({amount!r})") from exc
    if not value.is_finite() or value != value.quantize(Decimal("0.01")):
        raise ValueError(f"amount: two decimals at most ({amount!r})")
    if not MIN_AMOUNT <= value <= MAX_AMOUNT:
        raise ValueError(f"amount: must be between {MIN_AMOUNT} and {MAX_AMOUNT} ({amount!r})")
    remittance = _single_line(reference)
    if not remittance:
        raise ValueError("reference: empty")
    if len(remittance) > REMITTANCE_MAX:
        raise ValueError(f"reference: {REMITTANCE_MAX} characters at most")

    if is_creditor_reference(remittance):
        structured, unstructured = remittance.replace(" ", "").upper(), ""
    else:
        structured, unstructured = "", remittance
    fields = [
        "BCD",
        "002",
        "1",  # UTF-8
        "SCT",
        compact_bic,
        beneficiary,
        compact_iban,
        f"EUR{value:.2f}",
        "",  # purpose code
        structured,
        unstructured,
    ]
    # The last populated element is not followed by a separator.
    while fields and fields[-1] == "":
        fields.pop()
    payload = "\n".join(fields)
    if len(payload.encode("utf-8")) > MAX_PAYLOAD_BYTES:
        raise ValueError(f"payload: longer than {MAX_PAYLOAD_BYTES} bytes")
    return payload
