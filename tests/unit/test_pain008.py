"""pain.008.001.02: exact values of a built message, valid against the official ISO 20022 schema; the SEPA
character set; the creditor identifier's check digits."""
from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest

from domain.payments import pain008
from domain.payments.creditor import InvalidCreditorId, check_digits, normalise_creditor_id

NS = {"p": pain008.NAMESPACE}
CREDITOR = pain008.Creditor(name="Lumen Énergie SA", iban="FR7630006000011234567890189", bic="AGRIFRPP",
                            creditor_id="FR72ZZZ123456")
COLLECTION = date(2026, 12, 7)


def _tx(e2e, amount, seq="RCUR", *, day=COLLECTION, name="Jane Doe", bic=None, remittance="Bill F2026-000123"):
    return pain008.DirectDebit(end_to_end_id=e2e, amount=Decimal(amount), sequence_type=seq, collection_date=day,
                               mandate_id="MD-C000123-20260105-01", mandate_signed_on=date(2026, 1, 5),
                               debtor_name=name, debtor_iban="DE89370400440532013000", debtor_bic=bic,
                               remittance=remittance)


def _message(*transactions, message_id="DD20261207-01"):
    return pain008.Message(message_id=message_id, created_at=datetime(2026, 12, 1, 9, 30, 15, 123, tzinfo=UTC),
                           creditor=CREDITOR, transactions=tuple(transactions))


def _parse(xml: bytes) -> ET.Element:
    return ET.fromstring(xml)


def _schema():
    etree = pytest.importorskip("lxml.etree")
    sepaxml = pytest.importorskip("sepaxml")
    path = Path(sepaxml.__file__).parent / "schemas" / "pain.008.001.02.xsd"
    return etree, etree.XMLSchema(etree.parse(str(path)))


def test_group_header_counts_every_transaction_and_sums_the_amounts():
    xml = pain008.build_pain008(_message(_tx("DD20261207-01-00001", "10.10", "FRST"),
                                         _tx("DD20261207-01-00002", "20.25"), _tx("DD20261207-01-00003", "0.65")))

    header = _parse(xml).find("p:CstmrDrctDbtInitn/p:GrpHdr", NS)
    assert header.findtext("p:MsgId", namespaces=NS) == "DD20261207-01"
    assert header.findtext("p:CreDtTm", namespaces=NS) == "2026-12-01T09:30:15+00:00"
    assert header.findtext("p:NbOfTxs", namespaces=NS) == "3"
    assert header.findtext("p:CtrlSum", namespaces=NS) == "31.00"
    assert header.findtext("p:InitgPty/p:Nm", namespaces=NS) == "Lumen Energie SA"
    assert xml.startswith(b"<?xml version='1.0' encoding='UTF-8'?>")


def test_one_payment_block_per_sequence_type_and_date_first_collections_first():
    xml = pain008.build_pain008(_message(
        _tx("E-1", "5.00", "RCUR"), _tx("E-2", "7.00", "FRST"), _tx("E-3", "1.50", "RCUR"),
        _tx("E-4", "2.00", "RCUR", day=date(2026, 12, 14))))

    blocks = _parse(xml).findall("p:CstmrDrctDbtInitn/p:PmtInf", NS)
    summary = [(b.findtext("p:PmtInfId", namespaces=NS), b.findtext("p:PmtTpInf/p:SeqTp", namespaces=NS),
                b.findtext("p:ReqdColltnDt", namespaces=NS), b.findtext("p:NbOfTxs", namespaces=NS),
                b.findtext("p:CtrlSum", namespaces=NS),
                [t.findtext("p:PmtId/p:EndToEndId", namespaces=NS) for t in b.findall("p:DrctDbtTxInf", NS)])
               for b in blocks]
    assert summary == [
        ("DD20261207-01-FRST-20261207", "FRST", "2026-12-07", "1", "7.00", ["E-2"]),
        ("DD20261207-01-RCUR-20261207", "RCUR", "2026-12-07", "2", "6.50", ["E-1", "E-3"]),
        ("DD20261207-01-RCUR-20261214", "RCUR", "2026-12-14", "1", "2.00", ["E-4"]),
    ]


def test_payment_block_names_the_creditor_its_account_and_scheme_id():
    block = _parse(pain008.build_pain008(_message(_tx("E-1", "5.00")))).find("p:CstmrDrctDbtInitn/p:PmtInf", NS)

    assert block.findtext("p:PmtMtd", namespaces=NS) == "DD"
    assert block.findtext("p:PmtTpInf/p:SvcLvl/p:Cd", namespaces=NS) == "SEPA"
    assert block.findtext("p:PmtTpInf/p:LclInstrm/p:Cd", namespaces=NS) == "CORE"
    assert block.findtext("p:Cdtr/p:Nm", namespaces=NS) == "Lumen Energie SA"
    assert block.findtext("p:CdtrAcct/p:Id/p:IBAN", namespaces=NS) == "FR7630006000011234567890189"
    assert block.findtext("p:CdtrAgt/p:FinInstnId/p:BIC", namespaces=NS) == "AGRIFRPP"
    assert block.findtext("p:ChrgBr", namespaces=NS) == "SLEV"
    scheme = block.find("p:CdtrSchmeId/p:Id/p:PrvtId/p:Othr", NS)
    assert scheme.findtext("p:Id", namespaces=NS) == "FR72ZZZ123456"
    assert scheme.findtext("p:SchmeNm/p:Prtry", namespaces=NS) == "SEPA"


def test_transaction_carries_amount_mandate_debtor_and_bill_number():
    tx = _parse(pain008.build_pain008(_message(_tx("DD20261207-01-00001", "1234.50", name="Jürgen Groß-Ølsen")))) \
        .find("p:CstmrDrctDbtInitn/p:PmtInf/p:DrctDbtTxInf", NS)

    amount = tx.find("p:InstdAmt", NS)
    assert (amount.text, amount.get("Ccy")) == ("1234.50", "EUR")
    assert tx.findtext("p:PmtId/p:EndToEndId", namespaces=NS) == "DD20261207-01-00001"
    assert tx.findtext("p:DrctDbtTx/p:MndtRltdInf/p:MndtId", namespaces=NS) == "MD-C000123-20260105-01"
    assert tx.findtext("p:DrctDbtTx/p:MndtRltdInf/p:DtOfSgntr", namespaces=NS) == "2026-01-05"
    assert tx.findtext("p:DbtrAgt/p:FinInstnId/p:Othr/p:Id", namespaces=NS) == "NOTPROVIDED"
    assert tx.findtext("p:Dbtr/p:Nm", namespaces=NS) == "Jurgen Gross-Olsen"
    assert tx.findtext("p:DbtrAcct/p:Id/p:IBAN", namespaces=NS) == "DE89370400440532013000"
    assert tx.findtext("p:RmtInf/p:Ustrd", namespaces=NS) == "Bill F2026-000123"


@pytest.mark.parametrize(("raw", "clean"), [
    ("Café & Crème <SARL>", "Cafe + Creme (SARL)"),
    ("Łódź Žižkov Ærø", "Lodz Zizkov AEro"),
    ("O’Brien “quoted” — ok", "O'Brien 'quoted' - ok"),
    ("  many   spaces\tand\nlines ", "many spaces and lines"),
    ("漢字 only", "only"),
    ("a_b@c#d", "a-b(at)cd"),
])
def test_free_text_is_transliterated_to_the_sepa_character_set(raw, clean):
    assert pain008.sepa_text(raw, 70) == clean


def test_names_are_cut_to_seventy_characters():
    assert pain008.sepa_text("x" * 80, 70) == "x" * 70


def test_valid_against_the_official_schema_with_awkward_names():
    etree, schema = _schema()
    xml = pain008.build_pain008(_message(
        _tx("E-1", "10.00", "FRST", name="Müller & Söhne <GmbH>", bic="COBADEFFXXX"),
        _tx("E-2", "0.01", name="Σοφία Papadopoulou", remittance="Facture n° 12 — été"),
        _tx("E-3", "999999999.99", day=date(2027, 1, 4))))

    document = etree.fromstring(xml)
    assert schema.validate(document), schema.error_log


def test_schema_catches_what_the_builder_would_break():
    etree, schema = _schema()
    document = etree.fromstring(pain008.build_pain008(_message(_tx("E-1", "10.00"))))

    document.find(f".//{{{pain008.NAMESPACE}}}SeqTp").text = "LAST"

    assert not schema.validate(document)


@pytest.mark.parametrize(("amount", "error"), [
    (Decimal("10.001"), "more than 2 decimals"), (Decimal("0"), "outside"), (Decimal("-5.00"), "outside"),
    (10.5, "not a Decimal"),
])
def test_refuses_amounts_a_bank_would_reject(amount, error):
    tx = pain008.DirectDebit(end_to_end_id="E-1", amount=amount, sequence_type="RCUR", collection_date=COLLECTION,
                             mandate_id="M-1", mandate_signed_on=date(2026, 1, 5), debtor_name="A",
                             debtor_iban="DE89370400440532013000", remittance="x")
    with pytest.raises(pain008.InvalidMessage, match=error):
        pain008.build_pain008(_message(tx))


@pytest.mark.parametrize("bad", ["", "has space", "x" * 36, "/leading", "trailing/", "dou//ble", "é"])
def test_refuses_identifiers_outside_the_sepa_rules(bad):
    with pytest.raises(pain008.InvalidMessage, match="end-to-end id"):
        pain008.build_pain008(_message(_tx(bad, "1.00")))


def test_refuses_a_repeated_end_to_end_id_and_an_empty_message():
    with pytest.raises(pain008.InvalidMessage, match="appears twice"):
        pain008.build_pain008(_message(_tx("E-1", "1.00"), _tx("E-1", "2.00")))
    with pytest.raises(pain008.InvalidMessage, match="at least one"):
        pain008.build_pain008(_message())


def test_refuses_a_debtor_name_with_nothing_left_in_the_sepa_character_set():
    with pytest.raises(pain008.InvalidMessage, match="debtor name of E-1"):
        pain008.build_pain008(_message(_tx("E-1", "1.00", name="Ω Ψ Σ")))


def test_refuses_a_non_euro_message_and_a_bad_bic():
    with pytest.raises(pain008.InvalidMessage, match="EUR"):
        pain008.build_pain008(pain008.Message(message_id="M", created_at=datetime(2026, 1, 1, tzinfo=UTC),
                                              creditor=CREDITOR, transactions=(_tx("E", "1.00"),), currency="GBP"))
    with pytest.raises(pain008.InvalidMessage, match="debtor BIC"):
        pain008.build_pain008(_message(_tx("E-1", "1.00", bic="NOTABIC")))


# --- creditor identifier ------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("raw", "normalised"), [
    ("DE98ZZZ09999999999", "DE98ZZZ09999999999"),
    ("FR72ZZZ123456", "FR72ZZZ123456"),
    (" de98 zzz 0999-9999-999 ", "DE98ZZZ09999999999"),
    ("DE98ABC09999999999", "DE98ABC09999999999"),  # the business code is not part of the check digits
])
def test_accepts_creditor_identifiers_with_matching_check_digits(raw, normalised):
    assert normalise_creditor_id(raw) == normalised


@pytest.mark.parametrize(("raw", "code"), [
    ("", "empty"), ("DE97ZZZ09999999999", "checksum"), ("FR73ZZZ123456", "checksum"),
    ("DE98ZZ", "format"), ("DEXXZZZ09999999999", "format"), ("US98ZZZ09999999999", "country"),
    ("DE98ZZZ" + "9" * 29, "format"),
])
def test_refuses_creditor_identifiers_that_do_not_check(raw, code):
    with pytest.raises(InvalidCreditorId) as caught:
        normalise_creditor_id(raw)
    assert caught.value.code == code


def test_check_digits_are_computed_over_national_id_and_country():
    assert check_digits(country="DE", national_id="09999999999") == "98"
    assert check_digits(country="FR", national_id="123456") == "72"
