"""Example files and empty templates of every kind, as CSV or XLSX (pure: the offers and the date come in).

The examples are built for the utility that downloads them, from its own activities and offers, so that the
set of six imports as it is: a customer per activity, its premise and point of delivery, a meter, a contract
under the activity's offer, an opening balance and a few months of readings.
"""
from __future__ import annotations

import csv
import io
from datetime import date

from domain.imports.spec import COLUMN_NAMES, KINDS

_PEOPLE = (
    ("person", "Ms", "Claire", "Martin", "", "12 rue des Lilas", "69003", "Lyon"),
    ("organisation", "", "", "", "Boulangerie Dupont SARL", "3 place du Marché", "69001", "Lyon"),
    ("person", "Mr", "Jonas", "Weber", "", "8 avenue Foch", "69006", "Lyon"),
    ("person", "Ms", "Lucía", "García", "", "27 quai Perrache", "69002", "Lyon"),
)
_READING_STEP = {"electricity": 280, "gas": 95, "water": 9, "heating": 650}


def _months_before(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 - months
    return date(index // 12, index % 12 + 1, 1)


def example_rows(*, offers: dict[str, str], today: date, frequency: str = "") -> dict[str, list[dict[str, str]]]:
    """Rows of each kind (column -> text), one customer per activity of `offers` (activity -> offer code), their
    contracts billed at `frequency` (empty: the utility's default)."""
    start = _months_before(today, 24)
    rows: dict[str, list[dict[str, str]]] = {kind: [] for kind in KINDS}
    for index, (activity, offer_code) in enumerate(sorted(offers.items())[:len(_PEOPLE)], start=1):
        kind, title, first, last, organisation, street, postcode, city = _PEOPLE[index - 1]
        ref = f"CUST-{index:04d}"
        rows["customers"].append({
            "customer_ref": ref, "kind": kind, "title": title, "first_name": first, "last_name": last,
            "organisation_name": organisation,
            "email": f"customer{index}@example.com", "phone": f"+33 6 00 00 00 {index:02d}",
            "address_line1": street, "postcode": postcode, "city": city, "country": "FR",
            "account_number": f"EX{index:05d}", "locale": "fr", "payment_method": "transfer", "billing_cycle": "A",
            "paperless": "no", "opened_on": start.isoformat()})
        rows["premises"].append({
            "premise_ref": f"PREM-{index:04d}", "address_line1": street, "postcode": postcode, "city": city,
            "country": "FR", "pod_ref": f"POD-{index:04d}", "activity": activity,
            "pod_identifier": f"EX-{activity[:4].upper()}-{index:06d}",
            "subscribed_power": "6" if activity in ("electricity", "heating") else ""})
        rows["meters"].append({
            "meter_ref": f"MTR-{index:04d}", "serial_number": f"EX-M{index:06d}", "activity": activity,
            "digits": "6", "multiplier": "1", "registers": "TOTAL", "is_smart": "no",
            "pod_ref": f"POD-{index:04d}", "installed_on": start.isoformat()})
        rows["contracts"].append({
            "contract_ref": f"CTR-{index:04d}", "customer_ref": ref, "pod_ref": f"POD-{index:04d}",
            "offer_code": offer_code, "start_date": start.isoformat(), "billing_frequency": frequency,
            "billed_until": _months_before(today, 0).isoformat(),  # billed by the former system up to this month
            "estimated_annual_consumption": str(_READING_STEP[activity] * 12), "contract_number": f"EXC{index:05d}"})
        rows["balances"].append({
            "customer_ref": ref, "amount": "45.20" if index % 2 else "-12.50", "as_of": _months_before(today, 0)
            .isoformat(), "description": "Balance carried over"})
        value = 1000 * index
        for months in (3, 2, 1):
            value += _READING_STEP[activity]
            rows["readings"].append({
                "meter_ref": f"MTR-{index:04d}", "register": "TOTAL",
                "read_on": _months_before(today, months).isoformat(), "value": str(value), "source": "agent"})
    return rows


def as_table(kind: str, rows: list[dict[str, str]]) -> list[list[str]]:
    names = COLUMN_NAMES[kind]
    return [list(names), *([row.get(name, "") for name in names] for row in rows)]


def to_csv(table: list[list[str]]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(table)
    return buffer.getvalue().encode("utf-8-sig")  # with a BOM: spreadsheets then read it as UTF-8


def to_xlsx(table: list[list[str]], *, sheet: str = "data") -> bytes:
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    worksheet = workbook.create_sheet(sheet[:31])
    for row in table:
        worksheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
