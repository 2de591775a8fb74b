"""The SEPA Core direct-debit initiation message (ISO 20022 pain.008.001.02) from plain data; pure, no I/O.

One group header (message id, creation time, number of transactions, control sum), one payment information
block per collection date and sequence type (FRST before RCUR), one DrctDbtTxInf per bill collected. Free text
(names, remittance) is transliterated to the SEPA character set; identifiers are checked, never altered.
"""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from xml.etree import ElementTree as ET

NAMESPACE = "urn:iso:std:iso:20022:tech:xsd:pain.008.001.02"
SEQUENCE_ORDER = ("FRST", "RCUR", "OOFF", "FNAL")
CENT = Decimal("0.01")
MAX_AMOUNT = Decimal("999999999.99")
NOT_PROVIDED = "NOTPROVIDED"

# The SEPA basic Latin set (EPC guidance on the character set): everything else is transliterated or dropped.
_SEPA_TEXT = re.compile(r"[^A-Za-z0-9/\-?:().,'+ ]")
# Identifiers: the same set without the space, not starting or ending with '/', no '//' (EPC rule).
_SEPA_ID = re.compile(r"^[A-Za-z0-9/\-?:().,'+]{1,35}$")
_BIC = re.compile(r"^[A-Z]{6}[A-Z2-9][A-NP-Z0-9]([A-Z0-9]{3})?$")
_IBAN = re.compile(r"^[A-Z]{2}[0-9]{2}[A-Z0-9]{1,30}$")
_SPACES = re.compile(r"\s+")
# Letters that Unicode does not decompose into a base letter and a mark.
_SPECIAL = str.maketrans({
    "ß": "ss", "ẞ": "SS", "Æ": "AE", "æ": "ae", "Œ": "OE", "œ": "oe", "Ø": "O", "ø": "o", "Ł": "L", "ł": "l",
    "Đ": "D", "đ": "d", "Ð": "D", "ð": "d", "Þ": "TH", "þ": "th", "ı": "i", "&": "+", "’": "'", "‘": "'",
    "´": "'", "`": "'", "\"": "'", "«": "'", "»": "'", "„": "'", "“": "'", "”": "'", "–": "-", "—": "-",
    "_": "-", "@": "(at)", "€": "EUR", "°": ".", "#": "", "*": ".", ";": ",", "!": ".", "=": "-",
    "[": "(", "]": ")", "{": "(", "}": ")", "<": "(", ">": ")", "\\": "/", "|": "/",
})


class InvalidMessage(ValueError):
    """The data cannot make a valid pain.008 message; the message says which field and why."""


@dataclass(frozen=True)
class Creditor:
    name: str
    iban: str
    creditor_id: str  # SEPA creditor identifier, e.g. DE98ZZZ09999999999
    bic: str | None = None


@dataclass(frozen=True)
class DirectDebit:
    end_to_end_id: str
    amount: Decimal
    sequence_type: str  # FRST, RCUR (OOFF, FNAL are valid too)
    collection_date: date
    mandate_id: str
    mandate_signed_on: date
    debtor_name: str
    debtor_iban: str
    remittance: str  # unstructured remittance information: the bill number
    debtor_bic: str | None = None


@dataclass(frozen=True)
class Message:
    message_id: str
    created_at: datetime  # aware
    creditor: Creditor
    transactions: tuple[DirectDebit, ...]
    currency: str = "EUR"


def sepa_text(value: str | None, max_length: int) -> str:
    """Free text in the SEPA character set: accents stripped, other letters transliterated, the rest dropped."""
    text = (value or "").translate(_SPECIAL)
    text = "".join(ch for ch in unicodedata.normalize("NFKD", text) if not unicodedata.combining(ch))
    text = _SEPA_TEXT.sub(" ", text.translate(_SPECIAL))  # again: compatibility forms may decompose to one
    return _SPACES.sub(" ", text).strip()[:max_length].rstrip()


def is_bic(value: str | None) -> bool:
    return bool(_BIC.match(value or ""))


def check_identifier(value: str, what: str) -> str:
    if not _SEPA_ID.match(value or "") or value.startswith("/") or value.endswith("/") or "//" in value:
        raise InvalidMessage(f"{what}: {value!r} is not a SEPA identifier (1-35 characters of the SEPA set)")
    return value


def format_amount(amount: Decimal) -> str:
    if not isinstance(amount, Decimal):
        raise InvalidMessage(f"amount: {amount!r} is not a Decimal")
    if amount != amount.quantize(CENT):
        raise InvalidMessage(f"amount: {amount} has more than 2 decimals")
    if not Decimal("0.01") <= amount <= MAX_AMOUNT:
        raise InvalidMessage(f"amount: {amount} is outside 0.01 .. {MAX_AMOUNT}")
    return f"{amount.quantize(CENT):.2f}"


def _iban(value: str, what: str) -> str:
    if not _IBAN.match(value or ""):
        raise InvalidMessage(f"{what}: {value!r} is not a normalised IBAN")
    return value


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrs) -> ET.Element:
    element = ET.SubElement(parent, tag, attrs)
    if text is not None:
        element.text = text
    return element


def _agent(parent: ET.Element, tag: str, bic: str | None, what: str) -> None:
    institution = _sub(_sub(parent, tag), "FinInstnId")
    if bic:
        if not _BIC.match(bic):
            raise InvalidMessage(f"{what}: {bic!r} is not a BIC")
        _sub(institution, "BIC", bic)
    else:  # IBAN-only, as the EPC rulebook allows inside SEPA
        _sub(_sub(institution, "Othr"), "Id", NOT_PROVIDED)


def _control_sum(transactions: Iterable[DirectDebit]) -> str:
    return f"{sum((t.amount for t in transactions), Decimal('0')).quantize(CENT):.2f}"


def payment_groups(transactions: Iterable[DirectDebit]) -> list[tuple[date, str, list[DirectDebit]]]:
    """(collection date, sequence type, transactions) in the order of the message: by date, FRST first."""
    groups: dict[tuple[date, str], list[DirectDebit]] = {}
    for tx in transactions:
        if tx.sequence_type not in SEQUENCE_ORDER:
            raise InvalidMessage(f"sequence type: {tx.sequence_type!r} is not one of {', '.join(SEQUENCE_ORDER)}")
        groups.setdefault((tx.collection_date, tx.sequence_type), []).append(tx)
    ordered = sorted(groups, key=lambda key: (key[0], SEQUENCE_ORDER.index(key[1])))
    return [(day, seq, groups[(day, seq)]) for day, seq in ordered]


def build_pain008(message: Message) -> bytes:
    """The message as UTF-8 XML bytes with its declaration; raises InvalidMessage on data it cannot carry."""
    if not message.transactions:
        raise InvalidMessage("transactions: a message needs at least one")
    if message.created_at.tzinfo is None:
        raise InvalidMessage("created_at: pass an aware datetime")
    if message.currency != "EUR":
        raise InvalidMessage(f"currency: SEPA direct debits are in EUR, not {message.currency}")
    msg_id = check_identifier(message.message_id, "message id")
    creditor = message.creditor
    creditor_name = sepa_text(creditor.name, 70)
    if not creditor_name:
        raise InvalidMessage("creditor name: empty in the SEPA character set")
    creditor_iban = _iban(creditor.iban, "creditor IBAN")
    creditor_id = check_identifier(creditor.creditor_id, "creditor identifier")
    seen: set[str] = set()
    for tx in message.transactions:
        check_identifier(tx.end_to_end_id, "end-to-end id")
        if tx.end_to_end_id in seen:
            raise InvalidMessage(f"end-to-end id: {tx.end_to_end_id!r} appears twice")
        seen.add(tx.end_to_end_id)
        format_amount(tx.amount)

    document = ET.Element("Document", {"xmlns": NAMESPACE})
    root = _sub(document, "CstmrDrctDbtInitn")
    header = _sub(root, "GrpHdr")
    _sub(header, "MsgId", msg_id)
    _sub(header, "CreDtTm", message.created_at.replace(microsecond=0).isoformat())
    _sub(header, "NbOfTxs", str(len(message.transactions)))
    _sub(header, "CtrlSum", _control_sum(message.transactions))
    _sub(_sub(header, "InitgPty"), "Nm", creditor_name)

    for day, sequence_type, transactions in payment_groups(message.transactions):
        info = _sub(root, "PmtInf")
        _sub(info, "PmtInfId", check_identifier(f"{msg_id}-{sequence_type}-{day:%Y%m%d}", "payment information id"))
        _sub(info, "PmtMtd", "DD")
        _sub(info, "NbOfTxs", str(len(transactions)))
        _sub(info, "CtrlSum", _control_sum(transactions))
        kind = _sub(info, "PmtTpInf")
        _sub(_sub(kind, "SvcLvl"), "Cd", "SEPA")
        _sub(_sub(kind, "LclInstrm"), "Cd", "CORE")
        _sub(kind, "SeqTp", sequence_type)
        _sub(info, "ReqdColltnDt", day.isoformat())
        _sub(_sub(info, "Cdtr"), "Nm", creditor_name)
        _sub(_sub(_sub(info, "CdtrAcct"), "Id"), "IBAN", creditor_iban)
        _agent(info, "CdtrAgt", creditor.bic, "creditor BIC")
        _sub(info, "ChrgBr", "SLEV")
        other = _sub(_sub(_sub(_sub(info, "CdtrSchmeId"), "Id"), "PrvtId"), "Othr")
        _sub(other, "Id", creditor_id)
        _sub(_sub(other, "SchmeNm"), "Prtry", "SEPA")
        for tx in transactions:
            _transaction(info, tx, message.currency)

    ET.indent(document, space="  ")
    return ET.tostring(document, encoding="UTF-8", xml_declaration=True)


def _transaction(info: ET.Element, tx: DirectDebit, currency: str) -> None:
    element = _sub(info, "DrctDbtTxInf")
    _sub(_sub(element, "PmtId"), "EndToEndId", tx.end_to_end_id)
    _sub(element, "InstdAmt", format_amount(tx.amount), Ccy=currency)
    mandate = _sub(_sub(element, "DrctDbtTx"), "MndtRltdInf")
    _sub(mandate, "MndtId", check_identifier(tx.mandate_id, "mandate id"))
    _sub(mandate, "DtOfSgntr", tx.mandate_signed_on.isoformat())
    _agent(element, "DbtrAgt", tx.debtor_bic, "debtor BIC")
    debtor_name = sepa_text(tx.debtor_name, 70)
    if not debtor_name:
        raise InvalidMessage(f"debtor name of {tx.end_to_end_id}: empty in the SEPA character set")
    _sub(_sub(element, "Dbtr"), "Nm", debtor_name)
    _sub(_sub(_sub(element, "DbtrAcct"), "Id"), "IBAN", _iban(tx.debtor_iban, "debtor IBAN"))
    remittance = sepa_text(tx.remittance, 140)
    if remittance:
        _sub(_sub(element, "RmtInf"), "Ustrd", remittance)
