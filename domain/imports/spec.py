"""The import files: their kinds, in the order they are written, and their columns (pure, no I/O).

What each column means is told to administrators by the import page (backoffice/import_texts.py); here is what
the code needs: the name, whether it is required, its format (how a cell is read) and an example value.
"""
from __future__ import annotations

from dataclasses import dataclass

# Written in this order: a contract needs its customer and point of delivery, a reading its meter.
KINDS = ("customers", "premises", "meters", "contracts", "balances", "readings")
PHASES = {kind: index + 1 for index, kind in enumerate(KINDS)}

# Formats (how a cell is read): text, ref (a reference: letters, digits and - _ . /), date (YYYY-MM-DD),
# decimal (dot or comma), integer, bool (yes/no, true/false, 1/0), and closed lists (choice: values).
REF_MAX = 60


@dataclass(frozen=True)
class Column:
    name: str
    fmt: str
    required: bool = False
    example: str = ""
    max_length: int | None = None
    choices: tuple[str, ...] = ()


def _c(name, fmt, required=False, example="", max_length=None, choices=()):
    return Column(name, fmt, required, example, max_length, tuple(choices))


ACTIVITIES = ("water", "gas", "electricity", "heating")
PARTY_KINDS = ("person", "organisation")
PAYMENT_METHODS = ("transfer", "card", "direct_debit")
BILLING_FREQUENCIES = ("monthly", "bimonthly", "quarterly", "biannual", "annual")
READING_SOURCES = ("agent", "customer", "smart_meter", "estimated")
LOCALES = ("en", "fr", "de", "es")

COLUMNS: dict[str, tuple[Column, ...]] = {
    "customers": (
        _c("customer_ref", "ref", True, "CUST-0001", REF_MAX),
        _c("kind", "choice", False, "person", choices=PARTY_KINDS),
        _c("title", "text", False, "Ms", 16),
        _c("first_name", "text", False, "Claire", 100),
        _c("last_name", "text", False, "Martin", 100),
        _c("organisation_name", "text", False, "", 200),
        _c("email", "email", False, "claire.martin@example.com", 254),
        _c("phone", "text", False, "+33 6 12 34 56 78", 40),
        _c("address_line1", "text", False, "12 rue des Lilas", 200),
        _c("address_line2", "text", False, "", 200),
        _c("postcode", "text", False, "69003", 16),
        _c("city", "text", False, "Lyon", 100),
        _c("country", "country", False, "FR"),
        _c("account_number", "ref", False, "C0001", 20),
        _c("locale", "choice", False, "fr", choices=LOCALES),
        _c("payment_method", "choice", False, "transfer", choices=PAYMENT_METHODS),
        _c("billing_cycle", "text", False, "A", 16),
        _c("paperless", "bool", False, "no"),
        _c("opened_on", "date", False, "2019-03-01"),
    ),
    "premises": (
        _c("premise_ref", "ref", True, "PREM-0001", REF_MAX),
        _c("address_line1", "text", True, "12 rue des Lilas", 200),
        _c("address_line2", "text", False, "", 200),
        _c("postcode", "text", True, "69003", 16),
        _c("city", "text", True, "Lyon", 100),
        _c("country", "country", False, "FR"),
        _c("pod_ref", "ref", True, "POD-0001", REF_MAX),
        _c("activity", "choice", True, "electricity", choices=ACTIVITIES),
        _c("pod_identifier", "ref", False, "30001234567890", 40),
        _c("subscribed_power", "decimal", False, "6"),
    ),
    "meters": (
        _c("meter_ref", "ref", True, "MTR-0001", REF_MAX),
        _c("serial_number", "ref", False, "E19-000001", 40),
        _c("activity", "choice", True, "electricity", choices=ACTIVITIES),
        _c("digits", "integer", False, "6"),
        _c("multiplier", "decimal", False, "1"),
        _c("registers", "registers", False, "TOTAL"),
        _c("is_smart", "bool", False, "no"),
        _c("model", "text", False, "Linky", 80),
        _c("pod_ref", "ref", False, "POD-0001", REF_MAX),
        _c("installed_on", "date", False, "2019-03-01"),
    ),
    "contracts": (
        _c("contract_ref", "ref", True, "CTR-0001", REF_MAX),
        _c("customer_ref", "ref", True, "CUST-0001", REF_MAX),
        _c("pod_ref", "ref", True, "POD-0001", REF_MAX),
        _c("offer_code", "text", True, "ELEC-REG-BASE", 40),
        _c("start_date", "date", True, "2019-03-01"),
        _c("end_date", "date", False, ""),
        _c("billing_frequency", "choice", False, "monthly", choices=BILLING_FREQUENCIES),
        _c("estimated_annual_consumption", "decimal", False, "3200"),
        _c("billed_until", "date", False, "2026-11-01"),
        _c("contract_number", "ref", False, "K0001", 24),
    ),
    "balances": (
        _c("customer_ref", "ref", True, "CUST-0001", REF_MAX),
        _c("amount", "money", True, "-12.50"),
        _c("as_of", "date", True, "2026-11-01"),
        _c("description", "text", False, "Balance carried over", 200),
    ),
    "readings": (
        _c("meter_ref", "ref", True, "MTR-0001", REF_MAX),
        _c("register", "ref", False, "TOTAL", 16),
        _c("read_on", "date", True, "2026-10-01"),
        _c("value", "decimal", True, "10234.5"),
        _c("source", "choice", False, "agent", choices=READING_SOURCES),
    ),
}

COLUMN_NAMES = {kind: tuple(c.name for c in columns) for kind, columns in COLUMNS.items()}
BY_NAME = {kind: {c.name: c for c in columns} for kind, columns in COLUMNS.items()}
