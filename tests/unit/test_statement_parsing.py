"""Bank statements read without a database: camt.053 .02 and .08 written from the standard are valid against the
official schemas and read to exact entries, hostile and invalid files are refused, the CSV statement's columns;
payer names compared, a payment's allocation planned (exact amounts)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import pytest

from domain.collections.manual_payments import plan_allocations
from domain.collections.statements import parsing
from domain.collections.statements.services import names_match
from tests.statement_samples import BILLION_LAUGHS, EXTERNAL_ENTITY, OUR_IBAN, Line, camt053, csv_statement

BOOKED = date(2026, 11, 27)


@pytest.mark.parametrize("version", ["02", "08"])
def test_a_camt053_statement_reads_to_exact_entries(version):
    data = camt053([Line("120.50", ref="BK-1", name="Jean Dupont", iban="FR7612345678901234567890185",
                         ustrd="Facture F2026-000123", creditor_ref="RF18539007547034"),
                    Line("88.40", ref="RT-1", direction="DBIT", end_to_end="DD20261205-01-00001", reason="AM04",
                         reversal=True)], version=version, booked=BOOKED)

    [statement] = parsing.parse_statement(data)

    assert (statement.format, statement.statement_ref, statement.account_iban, statement.currency) == (
        f"camt.053.001.{version}", "STMT-2026-001", OUR_IBAN, "EUR")
    credit, debit = statement.entries
    assert (credit.entry_key, credit.direction, credit.amount, credit.booked_on) == (
        "BK-1", "credit", Decimal("120.50"), BOOKED)
    assert (credit.counterparty_name, credit.counterparty_iban, credit.reference, credit.remittance) == (
        "Jean Dupont", "FR7612345678901234567890185", "RF18539007547034", "Facture F2026-000123")
    assert (debit.direction, debit.amount, debit.end_to_end_id, debit.return_reason, debit.reversal) == (
        "debit", Decimal("88.40"), "DD20261205-01-00001", "AM04", True)


def test_an_entry_without_bank_reference_gets_the_same_key_on_every_read():
    data = camt053([Line("10.00", name="A"), Line("10.00", name="A")], booked=BOOKED)

    first = [e.entry_key for e in parsing.parse_statement(data)[0].entries]
    second = [e.entry_key for e in parsing.parse_statement(data)[0].entries]

    assert first == second and len(set(first)) == 2


@pytest.mark.parametrize("data, code", [
    (BILLION_LAUGHS, "hostile"), (EXTERNAL_ENTITY, "hostile"),
    ('<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE d [<!ENTITY x "y">]><d>&x;</d>'.encode("utf-16"), "hostile"),
    (b"<not-closed", "not_xml"),
    (camt053([Line("1.001", ref="X")], booked=BOOKED), "invalid"),  # three decimals: more than our ledger's cents
    (b"<Document xmlns='urn:iso:std:iso:20022:tech:xsd:camt.052.001.02'/>", "format"),
    (b"x" * (parsing.MAX_BYTES + 1), "too_big"),
    (b"", "empty"),
])
def test_hostile_invalid_and_huge_files_are_refused(data, code):
    with pytest.raises(parsing.StatementRefused) as refused:
        parsing.parse_statement(data, file_name="s.xml")

    assert refused.value.code == code


def test_the_csv_statement_reads_its_documented_columns_in_any_order():
    data = csv_statement([{"booking_date": "2026-11-27", "amount": "42.10", "entry_reference": "C-1",
                           "counterparty_name": "Durand", "reference": "F2026-000001"},
                          {"booking_date": "2026-11-27", "amount": "-3.50", "entry_reference": "C-2",
                           "end_to_end_id": "E2E", "return_reason": "md06"}], delimiter=";")

    statement = parsing.parse_statement(data, file_name="s.csv")[0]

    assert [(e.entry_key, e.direction, e.amount, e.reference, e.return_reason) for e in statement.entries] == [
        ("C-1", "credit", Decimal("42.10"), "F2026-000001", None), ("C-2", "debit", Decimal("3.50"), None, "MD06")]


@pytest.mark.parametrize("data, code", [
    (b"statement_id,amount\nS,1\n", "csv_columns"),
    (b"statement_id,account_iban,booking_date,amount,currency\nS,FR76,27/11/2026,1.00,EUR\n", "csv_value"),
    (b"statement_id,account_iban,booking_date,amount,currency\nS,FR76,2026-11-27,1.005,EUR\n", "csv_value"),
    (b"statement_id,account_iban,booking_date,amount,currency\nS,FR76,2026-11-27,1.00,EUR\nT,FR76,2026-11-27,1,EUR\n",
     "csv_value"),
    ("statement_id;account_iban;booking_date;amount;currency\nS;FR76;2026-11-27;1;EUR\n".encode("latin-1")
     + b"\xe9", "csv_encoding"),
])
def test_a_wrong_csv_statement_is_refused(data, code):
    with pytest.raises(parsing.StatementRefused) as refused:
        parsing.parse_statement(data, file_name="s.csv")

    assert refused.value.code == code


@pytest.mark.parametrize("holder, payer, same", [
    ("Camille Durand", "DURAND CAMILLE", True), ("Louis Martin", "M. Louis MARTIN", True),
    ("Jürgen Groß", "Jurgen Gross", False), ("Jürgen Groß", "JURGEN GROß", True),
    ("Jean Dupont", "Marie Dupont", False), ("Jean Dupont", None, False),
])
def test_payer_names_match_the_holder_by_their_words(holder, payer, same):
    assert names_match(holder, payer) is same


@dataclass(frozen=True)
class _Bill:
    id: int


@dataclass(frozen=True)
class _View:
    bill: _Bill
    outstanding: Decimal


def test_a_payment_settles_oldest_first_or_the_chosen_bills_and_keeps_the_rest():
    views = [_View(_Bill(1), Decimal("80.00")), _View(_Bill(2), Decimal("45.10")), _View(_Bill(3), Decimal("20.00"))]

    assert plan_allocations(open_views=views, amount=Decimal("100.00")) == [(1, Decimal("80.00")),
                                                                             (2, Decimal("20.00"))]
    assert plan_allocations(open_views=views, amount=Decimal("100.00"), chosen_bill_ids=[3, 2]) == [
        (3, Decimal("20.00")), (2, Decimal("45.10"))]
    assert plan_allocations(open_views=views, amount=Decimal("5.00"), chosen_bill_ids=[99]) == []
