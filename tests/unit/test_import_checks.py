"""Reading and checking import files, without a database: formats, every error with its row and column."""
from __future__ import annotations

import io
from datetime import date, datetime

from openpyxl import Workbook

from domain.imports.parsing import UnreadableFile, read_rows
from domain.imports.validation import ErrorSink, Known, check_file

TODAY = date(2026, 11, 28)


def _check(kind: str, text: str, known: Known | None = None):
    header, rows = read_rows(text.encode("utf-8-sig"), "csv")
    errors, emitted = ErrorSink(), []
    known = known or Known(activities=("electricity", "gas"), offers={"BASE": "electricity"})
    check_file(kind, header, rows, known=known, today=TODAY, errors=errors, emit=lambda row, group: emitted.append(row))
    return {(e.row, e.column, e.code) for e in errors.kept}, emitted, known


def test_reads_semicolon_separated_csv_with_a_bom_and_skips_blank_rows():
    header, rows = read_rows("customer_ref;last_name\r\nC1;Martin\r\n;\r\nC2;Weber\r\n".encode("utf-8-sig"), "csv")

    assert header == ["customer_ref", "last_name"]
    assert list(rows) == [(2, ["C1", "Martin"]), (4, ["C2", "Weber"])]


def test_reads_the_first_sheet_of_a_workbook_with_dates_and_numbers_as_text():
    book = Workbook()
    book.active.append(["meter_ref", "read_on", "value"])
    book.active.append(["M1", datetime(2026, 10, 1), 1234.5])
    book.active.append(["M1", date(2026, 11, 1), 1300])
    data = io.BytesIO()
    book.save(data)

    header, rows = read_rows(data.getvalue(), "xlsx")

    assert header == ["meter_ref", "read_on", "value"]
    assert list(rows) == [(2, ["M1", "2026-10-01", "1234.5"]), (3, ["M1", "2026-11-01", "1300"])]


def test_a_file_that_is_not_utf8_or_not_a_workbook_is_refused_with_a_reason():
    for data, fmt, code in ((b"name\n\xe9t\xe9\n", "csv", "encoding"), (b"not a zip", "xlsx", "xlsx")):
        try:
            read_rows(data, fmt)
        except UnreadableFile as exc:
            assert exc.code == code
        else:
            raise AssertionError(f"{fmt} accepted")


def test_header_errors_are_on_row_1_and_stop_the_rows_being_checked():
    errors, emitted, _known = _check("customers", "customer_ref,last_name,last_name,colour\nC1,Martin,Martin,red\n")

    assert errors == {(1, "last_name", "duplicate_column"), (1, "colour", "unknown_column")}
    assert emitted == []


def test_each_bad_cell_is_reported_with_its_row_and_column():
    errors, emitted, _known = _check("customers", "customer_ref,kind,last_name,email,opened_on,paperless\n"
                                                  "C1,person,Martin,c1@example.com,2019-03-01,yes\n"
                                                  "C 2,robot,,not-mail,01/03/2019,maybe\n"
                                                  "C1,organisation,,,2030-01-01,no\n")

    assert errors == {
        (3, "customer_ref", "bad_ref"), (3, "kind", "bad_choice"), (3, "email", "bad_email"),
        (3, "opened_on", "bad_date"), (3, "paperless", "bad_bool"),
        (3, "last_name", "required"),  # a kind not understood is read as the default, a person
        (4, "customer_ref", "duplicate"), (4, "organisation_name", "required"), (4, "opened_on", "future_date"),
    }
    assert emitted == [["C1", "person", "", "", "Martin", "", "c1@example.com", "", "", "", "", "", "", "C1", "",
                        "", "", "1", "2019-03-01"]]


def test_references_resolve_against_earlier_files_and_the_database():
    known = Known(activities=("electricity",), offers={"BASE": "electricity", "GAS": "gas"}, customers={"OLD"})
    _check("customers", "customer_ref,last_name\nC1,Martin\n", known)
    _check("premises", "premise_ref,address_line1,postcode,city,pod_ref,activity\nP1,1 rue,69001,Lyon,D1,electricity\n",
           known)

    errors, emitted, _known = _check("contracts", "contract_ref,customer_ref,pod_ref,offer_code,start_date,end_date\n"
                                                  "K1,C1,D1,BASE,2024-01-01,\n"
                                                  "K2,OLD,D1,BASE,2023-01-01,2024-06-01\n"
                                                  "K3,C9,D9,GAS,2024-01-01,2023-01-01\n"
                                                  "K4,C1,D1,GAS,2025-01-01,\n", known)

    assert errors == {
        (2, "start_date", "overlap"),  # K2 supplies D1 until 2024-06-01, K1 from 2024-01-01: the later start
        (4, "customer_ref", "unknown_customer"), (4, "pod_ref", "unknown_pod"), (4, "end_date", "end_before_start"),
        (5, "offer_code", "offer_activity"), (5, "start_date", "overlap"),
    }
    assert [row[0] for row in emitted] == ["K1", "K2"]


def test_readings_are_checked_against_their_meter_and_never_twice_a_day():
    known = Known(activities=("electricity",), meters={"M1": ("electricity", 5, frozenset({"PEAK", "OFFPEAK"}))})

    errors, emitted, _known = _check("readings", "meter_ref,register,read_on,value\n"
                                                 "M1,PEAK,2026-10-01,12345.5\n"
                                                 "M1,peak,2026-10-01,12400\n"
                                                 "M1,TOTAL,2026-10-01,1\n"
                                                 "M2,PEAK,2026-10-01,1\n"
                                                 "M1,OFFPEAK,2026-12-01,100000\n"
                                                 "M1,OFFPEAK,2026-11-01,99.5\n", known)

    assert errors == {(3, "read_on", "duplicate_reading"), (4, "register", "unknown_register"),
                      (5, "meter_ref", "unknown_meter"), (6, "read_on", "future_date"),
                      (6, "value", "too_many_digits")}
    assert emitted == [["M1", "PEAK", "2026-10-01", "12345.5", "agent"],
                       ["M1", "OFFPEAK", "2026-11-01", "99.5", "agent"]]
