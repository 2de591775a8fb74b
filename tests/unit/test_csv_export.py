from datetime import date
from decimal import Decimal

from app.csv_export import csv_text


def test_a_list_exports_as_csv_a_spreadsheet_opens_without_running_formulas():
    rows = [("Durand, Camille", Decimal("-12.50"), date(2026, 12, 6), None),
            ("=HYPERLINK(\"http://x\")", 3, date(2027, 1, 1), "@SUM(A1)")]

    text = "".join(csv_text(["Name", "Amount", "Due", "Note"], rows))

    assert text == ("\ufeffName,Amount,Due,Note\r\n"
                    "\"Durand, Camille\",-12.50,2026-12-06,\r\n"
                    "\"'=HYPERLINK(\"\"http://x\"\")\",3,2027-01-01,'@SUM(A1)\r\n")
