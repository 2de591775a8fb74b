"""Reading bank statements (pure: bytes in, entries out, no database): ISO 20022 camt.053 versions 001.02 and
001.08, validated against the official schemas shipped beside this module, and a CSV statement.

XML is parsed by lxml with a hardened parser: no DTD loaded, no entity resolved, no network, `huge_tree` off, and
a document that declares a DOCTYPE or an ENTITY is refused before parsing (billion laughs, external entities).
Files over MAX_BYTES are refused unread.

The CSV statement (UTF-8, comma or semicolon separated, one header line, one line per entry) has these columns,
named in the header in any order; the first five are required:

    statement_id       the bank's statement id (the same id for the same account is imported once)
    account_iban       our bank account the statement is for
    booking_date       YYYY-MM-DD
    amount             signed, dot or comma as decimal separator: positive = money in, negative = money out
    currency           ISO 4217 code, e.g. EUR
    value_date         YYYY-MM-DD
    entry_reference    the bank's unique reference of the entry (else one is derived from the line)
    counterparty_name  who paid (or, for money out, whose account was debited)
    counterparty_iban
    reference          structured reference given by the payer (our bill number)
    remittance         free remittance text
    end_to_end_id      for a direct-debit return: the end-to-end id of our collection
    return_reason      for a direct-debit return: the ISO reason code (AM04, MD06...)
"""
from __future__ import annotations

import csv
import hashlib
import io
import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from pathlib import Path

MAX_BYTES = 10 * 1024 * 1024
SCHEMA_DIR = Path(__file__).parent / "schemas"
NAMESPACES = {
    "urn:iso:std:iso:20022:tech:xsd:camt.053.001.02": "camt.053.001.02",
    "urn:iso:std:iso:20022:tech:xsd:camt.053.001.08": "camt.053.001.08",
}
CSV_COLUMNS = ("statement_id", "account_iban", "booking_date", "value_date", "amount", "currency",
               "entry_reference", "counterparty_name", "counterparty_iban", "reference", "remittance",
               "end_to_end_id", "return_reason")
CSV_REQUIRED = ("statement_id", "account_iban", "booking_date", "amount", "currency")
CENT = Decimal("0.01")
_DECLARATIONS = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)


class StatementRefused(ValueError):
    """`code` says why the file is refused (the view words it); `detail` says where, for staff."""

    def __init__(self, code: str, detail: str = ""):
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail


@dataclass(frozen=True)
class ParsedEntry:
    entry_key: str
    booked_on: date
    value_on: date | None
    direction: str  # credit, debit
    amount: Decimal
    currency: str
    reversal: bool = False
    return_reason: str | None = None
    end_to_end_id: str | None = None
    reference: str | None = None
    remittance: str | None = None
    counterparty_name: str | None = None
    counterparty_iban: str | None = None
    bank_ref: str | None = None


@dataclass(frozen=True)
class ParsedStatement:
    format: str
    statement_ref: str
    message_ref: str | None
    account_iban: str
    currency: str
    from_date: date | None
    to_date: date | None
    entries: list[ParsedEntry] = field(default_factory=list)


def parse_statement(data: bytes, *, file_name: str = "") -> list[ParsedStatement]:
    """The statements of one file (a camt.053 message may hold several accounts' statements)."""
    if len(data) > MAX_BYTES:
        raise StatementRefused("too_big", f"{len(data)} bytes, at most {MAX_BYTES}")
    if not data.strip():
        raise StatementRefused("empty")
    head = data.lstrip()[:1]
    if head == b"<" or data.startswith(b"\xef\xbb\xbf<") or file_name.lower().endswith(".xml"):
        return parse_camt053(data)
    return [parse_csv(data)]


# --- camt.053 ----------------------------------------------------------------------------------------------------

def _parser():
    from lxml import etree

    return etree.XMLParser(resolve_entities=False, load_dtd=False, no_network=True, dtd_validation=False,
                           huge_tree=False, remove_comments=True, remove_pis=True)


@lru_cache(maxsize=4)
def _schema(version: str):
    from lxml import etree

    return etree.XMLSchema(etree.parse(str(SCHEMA_DIR / f"{version}.xsd"), _parser()))


def parse_camt053(data: bytes) -> list[ParsedStatement]:
    from lxml import etree

    if len(data) > MAX_BYTES:
        raise StatementRefused("too_big", f"{len(data)} bytes, at most {MAX_BYTES}")
    if _DECLARATIONS.search(data):
        raise StatementRefused("hostile", "the document declares a DOCTYPE or entities")
    try:
        root = etree.fromstring(data, _parser())
    except etree.XMLSyntaxError as exc:
        raise StatementRefused("not_xml", str(exc)[:200]) from exc
    tree = root.getroottree()
    if tree.docinfo.doctype or tree.docinfo.internalDTD is not None:  # e.g. declared in UTF-16, unseen above
        raise StatementRefused("hostile", "the document declares a DOCTYPE")
    if any(isinstance(node, etree._Entity) for node in root.iter()):
        raise StatementRefused("hostile", "the document uses entities")
    namespace = etree.QName(root).namespace
    version = NAMESPACES.get(namespace)
    if version is None or etree.QName(root).localname != "Document":
        raise StatementRefused("format", f"not a camt.053.001.02 or .08 document ({namespace})")
    schema = _schema(version)
    if not schema.validate(root):
        error = schema.error_log.last_error
        raise StatementRefused("invalid", f"line {error.line}: {error.message}"[:300] if error else "")
    return _read_camt(root, namespace, version)


def _text(node, path: str, ns: dict) -> str | None:
    found = node.find(path, ns)
    if found is None or found.text is None:
        return None
    text = " ".join(found.text.split())
    return text or None


def _day(node, path: str, ns: dict) -> date | None:
    text = _text(node, f"{path}/c:Dt", ns) or _text(node, f"{path}/c:DtTm", ns)
    return date.fromisoformat(text[:10]) if text else None


def _read_camt(root, namespace: str, version: str) -> list[ParsedStatement]:
    ns = {"c": namespace}
    message_ref = _text(root, "c:BkToCstmrStmt/c:GrpHdr/c:MsgId", ns)
    statements = []
    for stmt in root.iterfind("c:BkToCstmrStmt/c:Stmt", ns):
        statement_ref = _text(stmt, "c:Id", ns)
        iban = _text(stmt, "c:Acct/c:Id/c:IBAN", ns) or _text(stmt, "c:Acct/c:Id/c:Othr/c:Id", ns) or ""
        currency = _text(stmt, "c:Acct/c:Ccy", ns)
        from_text = _text(stmt, "c:FrToDt/c:FrDtTm", ns)
        to_text = _text(stmt, "c:FrToDt/c:ToDtTm", ns)
        entries = []
        for index, ntry in enumerate(stmt.iterfind("c:Ntry", ns)):
            entries.extend(_read_entry(ntry, ns, version, index, statement_ref))
        currency = currency or (entries[0].currency if entries else "EUR")
        statements.append(ParsedStatement(
            format=version, statement_ref=statement_ref, message_ref=message_ref, account_iban=iban.replace(" ", ""),
            currency=currency, from_date=date.fromisoformat(from_text[:10]) if from_text else None,
            to_date=date.fromisoformat(to_text[:10]) if to_text else None, entries=entries))
    return statements


def _party_name(tx, role: str, ns: dict, version: str) -> str | None:
    if version == "camt.053.001.08":
        return _text(tx, f"c:RltdPties/c:{role}/c:Pty/c:Nm", ns) or _text(tx, f"c:RltdPties/c:{role}/c:Nm", ns)
    return _text(tx, f"c:RltdPties/c:{role}/c:Nm", ns)


def _read_entry(ntry, ns: dict, version: str, index: int, statement_ref: str) -> list[ParsedEntry]:
    amount = _cents(_text(ntry, "c:Amt", ns))
    currency = ntry.find("c:Amt", ns).get("Ccy")
    direction = "credit" if _text(ntry, "c:CdtDbtInd", ns) == "CRDT" else "debit"
    reversal = (_text(ntry, "c:RvslInd", ns) or "").lower() == "true"
    booked_on = _day(ntry, "c:BookgDt", ns) or _day(ntry, "c:ValDt", ns)
    value_on = _day(ntry, "c:ValDt", ns)
    entry_ref = _text(ntry, "c:AcctSvcrRef", ns) or _text(ntry, "c:NtryRef", ns)
    details = list(ntry.iterfind("c:NtryDtls/c:TxDtls", ns))
    out = []
    for position, tx in enumerate(details or [None]):
        tx_amount = amount
        if tx is not None and len(details) > 1:
            text = (_text(tx, "c:Amt", ns) or _text(tx, "c:AmtDtls/c:TxAmt/c:Amt", ns))
            tx_amount = _cents(text) if text else amount
        def find(path: str, tx=tx) -> str | None:
            return _text(tx, path, ns) if tx is not None else None
        end_to_end = find("c:Refs/c:EndToEndId")
        if end_to_end == "NOTPROVIDED":
            end_to_end = None
        tx_ref = find("c:Refs/c:AcctSvcrRef")
        ustrd = [" ".join(u.text.split()) for u in tx.iterfind("c:RmtInf/c:Ustrd", ns) if u.text] if tx is not None \
            else []
        reference = find("c:RmtInf/c:Strd/c:CdtrRefInf/c:Ref")
        role = "Dbtr" if direction == "credit" else "Cdtr"
        name = (_party_name(tx, role, ns, version) or _party_name(tx, "Dbtr", ns, version)) if tx is not None \
            else None
        counter_iban = find(f"c:RltdPties/c:{role}Acct/c:Id/c:IBAN") or find("c:RltdPties/c:DbtrAcct/c:Id/c:IBAN")
        reason = find("c:RtrInf/c:Rsn/c:Cd")
        base = tx_ref if (tx_ref and len(details) > 1) else entry_ref
        key = base if base else _derived_key(statement_ref, index, position, booked_on, amount, direction,
                                             end_to_end, reference, " ".join(ustrd))
        if base and len(details) > 1 and not tx_ref:
            key = f"{base}/{position + 1}"
        out.append(ParsedEntry(
            entry_key=key[:80], booked_on=booked_on, value_on=value_on, direction=direction,
            amount=tx_amount.quantize(CENT), currency=currency, reversal=reversal,
            return_reason=(reason or "").upper()[:4] or None, end_to_end_id=end_to_end and end_to_end[:35],
            reference=reference and reference[:140], remittance=" ".join(ustrd)[:255] or None,
            counterparty_name=name and name[:140], counterparty_iban=counter_iban and counter_iban[:34],
            bank_ref=(tx_ref or entry_ref or None) and (tx_ref or entry_ref)[:35]))
    return out


def _cents(text: str) -> Decimal:
    """An amount of the statement; the schema allows five decimals, our ledger has cents: refuse rather than round."""
    amount = Decimal(text)
    if amount != amount.quantize(CENT):
        raise StatementRefused("invalid", f"amount {text} has more than two decimals")
    return amount


def _derived_key(*parts) -> str:
    """An entry with no bank reference: a key from what identifies it in its statement (stable on re-import)."""
    return "h:" + hashlib.sha256("|".join(str(p) for p in parts).encode()).hexdigest()[:40]


# --- CSV -----------------------------------------------------------------------------------------------------------

def _csv_date(text: str, line: int, column: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError as exc:
        raise StatementRefused("csv_value", f"line {line}: {column} {text!r} is not a date YYYY-MM-DD") from exc


def parse_csv(data: bytes) -> ParsedStatement:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise StatementRefused("csv_encoding", "the file is not UTF-8") from exc
    first = text.split("\n", 1)[0]
    delimiter = ";" if first.count(";") > first.count(",") else ","
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter)
    header = [(name or "").strip().lower() for name in (reader.fieldnames or [])]
    missing = [c for c in CSV_REQUIRED if c not in header]
    if missing:
        raise StatementRefused("csv_columns", ", ".join(missing))
    reader.fieldnames = header
    statement_ref = iban = currency = None
    entries = []
    for line, row in enumerate(reader, start=2):
        row = {k: (v or "").strip() for k, v in row.items() if k in CSV_COLUMNS}
        if not any(row.values()):
            continue
        for column in CSV_REQUIRED:
            if not row.get(column):
                raise StatementRefused("csv_value", f"line {line}: {column} is empty")
        if statement_ref is None:
            statement_ref, iban, currency = row["statement_id"], row["account_iban"].replace(" ", ""), row["currency"]
        elif (row["statement_id"], row["account_iban"].replace(" ", "")) != (statement_ref, iban):
            raise StatementRefused("csv_value", f"line {line}: another statement or account in the same file")
        try:
            signed = Decimal(row["amount"].replace(" ", "").replace(",", "."))
        except InvalidOperation as exc:
            raise StatementRefused("csv_value", f"line {line}: amount {row['amount']!r}") from exc
        if not signed.is_finite() or signed == 0 or signed != signed.quantize(CENT):
            raise StatementRefused("csv_value", f"line {line}: amount {row['amount']!r}")
        if not re.fullmatch(r"[A-Z]{3}", row["currency"]):
            raise StatementRefused("csv_value", f"line {line}: currency {row['currency']!r}")
        booked_on = _csv_date(row["booking_date"], line, "booking_date")
        value_on = _csv_date(row["value_date"], line, "value_date") if row.get("value_date") else None
        key = row.get("entry_reference") or _derived_key(statement_ref, line, booked_on, signed,
                                                        row.get("end_to_end_id"), row.get("reference"),
                                                        row.get("remittance"))
        entries.append(ParsedEntry(
            entry_key=key[:80], booked_on=booked_on, value_on=value_on,
            direction="credit" if signed > 0 else "debit", amount=abs(signed), currency=row["currency"],
            return_reason=(row.get("return_reason") or "").upper()[:4] or None,
            end_to_end_id=(row.get("end_to_end_id") or None) and row["end_to_end_id"][:35],
            reference=(row.get("reference") or None) and row["reference"][:140],
            remittance=(row.get("remittance") or None) and row["remittance"][:255],
            counterparty_name=(row.get("counterparty_name") or None) and row["counterparty_name"][:140],
            counterparty_iban=(row.get("counterparty_iban") or None) and row["counterparty_iban"].replace(" ", "")[:34],
            bank_ref=(row.get("entry_reference") or None) and row["entry_reference"][:35]))
    if statement_ref is None:
        raise StatementRefused("empty")
    if len(statement_ref) > 35 or len(iban) > 34:
        raise StatementRefused("csv_value", "statement_id or account_iban too long")
    dates = [e.booked_on for e in entries]
    return ParsedStatement(format="csv", statement_ref=statement_ref, message_ref=None, account_iban=iban,
                           currency=currency, from_date=min(dates), to_date=max(dates), entries=entries)
