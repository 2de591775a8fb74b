"""Reading CSV and XLSX import files into rows of cells (pure: bytes in, rows out; no database).

CSV: UTF-8 (a BOM is welcome), separated by commas, semicolons or tabs (found from the header line), as
spreadsheets save them in any country. XLSX: the first sheet, read with openpyxl in read-only mode, so a file of
a million rows is streamed rather than loaded. Row numbers are the spreadsheet's: the header is row 1.
"""
from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import date, datetime

FORMATS = ("csv", "xlsx")


class UnreadableFile(ValueError):
    """The file is not a CSV or XLSX file this import can read; `code` says why."""

    def __init__(self, code: str):
        super().__init__(code)
        self.code = code


def format_of(filename: str) -> str | None:
    lowered = (filename or "").lower()
    for fmt in FORMATS:
        if lowered.endswith("." + fmt):
            return fmt
    return None


def _cell_text(value) -> str:
    """An XLSX cell as the text a CSV would hold: dates ISO, whole numbers without '.0', booleans yes/no."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime):
        return value.date().isoformat() if not (value.hour or value.minute or value.second) else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    return str(value)


def read_rows(data: bytes, fmt: str) -> tuple[list[str], Iterator[tuple[int, list[str]]]]:
    """The header (column names, trimmed, lower-cased) and an iterator of (row number, cells as text).

    Blank rows are skipped (spreadsheets leave them at the end); cells are trimmed."""
    if fmt == "xlsx":
        return _xlsx(data)
    if fmt == "csv":
        return _csv(data)
    raise UnreadableFile("format")


def _csv(data: bytes):
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UnreadableFile("encoding") from exc
    first_line = text.split("\n", 1)[0]
    if not first_line.strip():
        raise UnreadableFile("empty")
    delimiter = max((";", ",", "\t"), key=first_line.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = [name.strip().lower() for name in next(reader)]
    except (StopIteration, csv.Error) as exc:
        raise UnreadableFile("empty") from exc

    def rows():
        number = 1
        try:
            for cells in reader:
                number += 1
                if any(cells):
                    yield number, [cell.strip() for cell in cells]
        except csv.Error as exc:
            raise UnreadableFile("csv") from exc
    return header, rows()


def _xlsx(data: bytes):
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises zipfile, KeyError and its own errors on a file that is not XLSX
        raise UnreadableFile("xlsx") from exc
    if not workbook.worksheets:
        raise UnreadableFile("empty")
    sheet = workbook.worksheets[0]
    values = sheet.iter_rows(values_only=True)
    try:
        header = [_cell_text(v).lower() for v in next(values)]
    except StopIteration as exc:
        raise UnreadableFile("empty") from exc
    while header and not header[-1]:
        header.pop()

    def rows():
        try:
            for number, cells in enumerate(values, start=2):
                texts = [_cell_text(v) for v in cells]
                if any(texts):
                    yield number, texts
        finally:
            workbook.close()
    return header, rows()
