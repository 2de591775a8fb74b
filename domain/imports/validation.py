"""Checking import files row by row and across files (pure: rows in, normalised rows and errors out).

Every cell is read by its column's format; then each kind's rules check the row and its references to the other
files of the set and to what the database holds (`Known`, loaded by the service). An error names the file, the
row (as the spreadsheet numbers it), the column and a code with parameters: the page words it in the reader's
language (backoffice/import_texts.py). Checked rows come out normalised (text in a fixed column order: dates ISO,
decimals with a dot, booleans 1/0) for the writer (domain/imports/writing.py).
"""
from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation

from domain.imports.spec import BY_NAME, COLUMN_NAMES, COLUMNS, Column

MAX_STORED_ERRORS = 2000
_REF = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/\-]*$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_COUNTRY = re.compile(r"^[A-Z]{2}$")
_REGISTER_SPLIT = re.compile(r"[\s;,|]+")
_TRUE = {"1", "yes", "y", "true", "oui", "ja", "si", "sí"}
_FALSE = {"0", "no", "n", "false", "non", "nein"}


@dataclass(frozen=True)
class RowError:
    kind: str
    row: int
    column: str
    code: str
    params: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {"kind": self.kind, "row": self.row, "column": self.column, "code": self.code, "params": self.params}


@dataclass
class Known:
    """What rows may refer to, beside their own file: the database's rows and the files checked before.

    Maps of a unique value (account number, serial...) give the external reference that holds it (None: a row
    made without one), so a value may be given again by the row that already has it, and by no other."""
    activities: tuple[str, ...] = ()
    offers: dict[str, str] = field(default_factory=dict)  # active offer code -> activity
    customers: set[str] = field(default_factory=set)
    account_numbers: dict[str, str | None] = field(default_factory=dict)
    pods: dict[str, str] = field(default_factory=dict)  # pod ref -> activity
    pod_identifiers: dict[str, str | None] = field(default_factory=dict)
    meters: dict[str, tuple[str, int, frozenset]] = field(default_factory=dict)  # ref -> activity, digits, registers
    serials: dict[str, str | None] = field(default_factory=dict)
    contract_numbers: dict[str, str | None] = field(default_factory=dict)
    frequencies: tuple[str, ...] = ("monthly",)  # the billing frequencies the utility offers
    default_frequency: str = "monthly"


class ErrorSink:
    """Collects errors: all of them counted, the first MAX_STORED_ERRORS kept."""

    def __init__(self, limit: int = MAX_STORED_ERRORS):
        self.limit = limit
        self.count = 0
        self.kept: list[RowError] = []

    def add(self, error: RowError) -> None:
        self.count += 1
        if len(self.kept) < self.limit:
            self.kept.append(error)


# -- cells -------------------------------------------------------------------------------------------------------

class _Bad(Exception):
    def __init__(self, code: str, **params):
        self.code = code
        self.params = params


def _decimal(text: str) -> Decimal:
    try:
        value = Decimal(text.replace(",", ".").replace(" ", ""))
    except InvalidOperation as exc:
        raise _Bad("bad_number") from exc
    if not value.is_finite():
        raise _Bad("bad_number")
    return value


def _parse(column: Column, text: str):
    fmt = column.fmt
    if column.max_length is not None and len(text) > column.max_length:
        raise _Bad("too_long", max=column.max_length)
    if fmt == "text":
        return text
    if fmt == "ref":
        if not _REF.match(text):
            raise _Bad("bad_ref")
        return text
    if fmt == "date":
        if len(text) != 10:
            raise _Bad("bad_date")
        try:
            return date.fromisoformat(text)
        except ValueError as exc:
            raise _Bad("bad_date") from exc
    if fmt == "decimal":
        value = _decimal(text)
        if value < 0:
            raise _Bad("negative")
        if value.as_tuple().exponent < -3 or abs(value) >= Decimal("1e12"):
            raise _Bad("bad_number")
        return value
    if fmt == "money":
        value = _decimal(text)
        if value.as_tuple().exponent < -2 or abs(value) >= Decimal("1e11"):
            raise _Bad("bad_amount")
        return value
    if fmt == "integer":
        try:
            return int(text)
        except ValueError as exc:
            raise _Bad("bad_integer") from exc
    if fmt == "bool":
        lowered = text.lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
        raise _Bad("bad_bool")
    if fmt == "choice":
        lowered = text.lower()
        if lowered not in column.choices:
            raise _Bad("bad_choice", choices=", ".join(column.choices))
        return lowered
    if fmt == "email":
        if not _EMAIL.match(text):
            raise _Bad("bad_email")
        return text
    if fmt == "country":
        upper = text.upper()
        if not _COUNTRY.match(upper):
            raise _Bad("bad_country")
        return upper
    if fmt == "registers":
        codes = [code.upper() for code in _REGISTER_SPLIT.split(text) if code]
        if not codes or any(len(code) > 16 or not _REF.match(code) for code in codes) or len(set(codes)) != len(codes):
            raise _Bad("bad_registers")
        return tuple(codes)
    raise AssertionError(f"unknown format {fmt}")


def _text(value) -> str:
    """A checked value as the normalised text the writer reads back."""
    if value is None:
        return ""
    if value is True:
        return "1"
    if value is False:
        return "0"
    if isinstance(value, tuple):
        return " ".join(value)
    return str(value)


# -- files -------------------------------------------------------------------------------------------------------

def check_header(kind: str, header: list[str], errors: ErrorSink) -> list[int] | None:
    """Positions of the kind's columns in the file (-1: absent), or None when the header is wrong."""
    known = BY_NAME[kind]
    ok = True
    seen = set()
    for name in header:
        if not name:
            continue
        if name in seen:
            errors.add(RowError(kind, 1, name, "duplicate_column"))
            ok = False
        seen.add(name)
        if name not in known:
            errors.add(RowError(kind, 1, name, "unknown_column"))
            ok = False
    for column in COLUMNS[kind]:
        if column.required and column.name not in seen:
            errors.add(RowError(kind, 1, column.name, "missing_column"))
            ok = False
    if not ok:
        return None
    return [header.index(name) if name in seen else -1 for name in COLUMN_NAMES[kind]]


def check_file(kind: str, header: list[str], rows: Iterable[tuple[int, list[str]]], *, known: Known,
               today: date, errors: ErrorSink, emit: Callable[[list[str], str | None], None]) -> int:
    """Check every row of one file; `emit(normalised row, group)` for each row found right. Returns the row count.

    `known` gains this file's references as they are read (a later file may refer to them), whether or not
    their row is right: an error is reported once, where it is, not again on every row referring to it."""
    positions = check_header(kind, header, errors)
    if positions is None:
        return sum(1 for _ in rows)
    columns = COLUMNS[kind]
    plan = [(position, column) for position, column in zip(positions, columns, strict=True)]
    rule = _RULES[kind](known=known, today=today)
    fast = rule.fast_reader(positions)
    count = 0
    for number, cells in rows:
        count += 1
        if fast is not None:
            row = fast(cells)
            if row is not None:
                emit(row, None)
                continue
        values: dict = {}
        bad = False
        width = len(cells)
        for position, column in plan:
            text = cells[position] if 0 <= position < width else ""
            if not text:
                if column.required:
                    errors.add(RowError(kind, number, column.name, "required"))
                    bad = True
                values[column.name] = None
                continue
            try:
                values[column.name] = _parse(column, text)
            except _Bad as problem:
                errors.add(RowError(kind, number, column.name, problem.code, problem.params))
                values[column.name] = None
                bad = True
        rule.row = number
        found = rule.check(values, bad=bad)
        for column, code, params in found:
            errors.add(RowError(kind, number, column, code, params))
        if not bad and not found:
            emit([_text(values[c.name]) for c in columns], rule.group(values))
    for column, code, params, number in rule.finish():
        errors.add(RowError(kind, number, column, code, params))
    return count


# -- rules per kind ----------------------------------------------------------------------------------------------

class _Rule:
    def __init__(self, *, known: Known, today: date):
        self.known = known
        self.today = today
        self.row = 0

    def group(self, values: dict) -> str | None:
        return None

    def fast_reader(self, positions: list[int]):
        """A check of the common right row, much cheaper than the general one (None: there is none). It answers the
        normalised row, or None for any row it does not find plainly right: the general check then says why."""
        return None

    def finish(self) -> list[tuple[str, str, dict, int]]:
        return []

    @staticmethod
    def _from_ref(v: dict, column: str, ref, limit: int, found: list) -> None:
        """A number (account, contract, serial, point-of-delivery identifier) left empty is the row's own
        reference, when that fits the column."""
        if ref is None or v[column] is not None:
            return
        if len(ref) > limit:
            found.append((column, "required_long_ref", {"max": limit}))
        else:
            v[column] = ref

    @staticmethod
    def _unique(value, ref, in_file: dict, in_db: dict, column: str, found: list) -> None:
        """`value` (an account number, a serial...) may belong to `ref` only: not to another row of the file,
        nor to another row of the database."""
        if value is None:
            return
        holder = in_file.get(value)
        if holder is not None and holder != ref:
            found.append((column, "duplicate", {}))
            return
        in_file[value] = ref
        if value in in_db and in_db[value] != ref:
            found.append((column, "taken", {}))


class _Customers(_Rule):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.refs: set[str] = set()
        self.numbers: dict[str, str] = {}

    def check(self, v: dict, *, bad: bool) -> list:
        found = []
        ref = v["customer_ref"]
        if ref is not None:
            if ref in self.refs:
                found.append(("customer_ref", "duplicate", {}))
            self.refs.add(ref)
            self.known.customers.add(ref)
        kind = v["kind"] or "person"
        v["kind"] = kind
        if v["opened_on"] is None:
            v["opened_on"] = self.today
        elif v["opened_on"] > self.today:
            found.append(("opened_on", "future_date", {}))
        if kind == "person" and not v["last_name"]:
            found.append(("last_name", "required", {}))
        if kind == "organisation" and not v["organisation_name"]:
            found.append(("organisation_name", "required", {}))
        self._from_ref(v, "account_number", ref, 20, found)
        self._unique(v["account_number"], ref, self.numbers, self.known.account_numbers, "account_number", found)
        return found


class _Premises(_Rule):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.pods: set[str] = set()
        self.premises: dict[str, tuple] = {}
        self.activities: set[tuple[str, str]] = set()
        self.identifiers: dict[str, str] = {}

    def group(self, values: dict) -> str | None:
        return values["premise_ref"]

    def check(self, v: dict, *, bad: bool) -> list:
        found = []
        pod, premise, activity = v["pod_ref"], v["premise_ref"], v["activity"]
        if pod is not None:
            if pod in self.pods:
                found.append(("pod_ref", "duplicate", {}))
            self.pods.add(pod)
            if activity is not None:
                self.known.pods[pod] = activity
        if activity is not None and activity not in self.known.activities:
            found.append(("activity", "activity_not_supplied", {}))
        if premise is not None:
            address = (v["address_line1"], v["address_line2"], v["postcode"], v["city"], v["country"])
            if self.premises.setdefault(premise, address) != address:
                found.append(("address_line1", "premise_differs", {}))
            if activity is not None:
                if (premise, activity) in self.activities:
                    found.append(("activity", "activity_twice", {}))
                self.activities.add((premise, activity))
        self._from_ref(v, "pod_identifier", pod, 40, found)
        self._unique(v["pod_identifier"], pod, self.identifiers, self.known.pod_identifiers, "pod_identifier", found)
        return found


class _Meters(_Rule):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.refs: set[str] = set()
        self.serials: dict[str, str] = {}
        self.pods: set[str] = set()

    def check(self, v: dict, *, bad: bool) -> list:
        found = []
        ref, activity, pod = v["meter_ref"], v["activity"], v["pod_ref"]
        if v["digits"] is None:
            v["digits"] = 6
        elif not 3 <= v["digits"] <= 12:
            found.append(("digits", "bad_digits", {"low": 3, "high": 12}))
        if v["multiplier"] is None:
            v["multiplier"] = Decimal("1")
        elif v["multiplier"] <= 0:
            found.append(("multiplier", "bad_multiplier", {}))
        if v["registers"] is None:
            v["registers"] = ("TOTAL",)
        if v["is_smart"] is None:
            v["is_smart"] = False
        if ref is not None:
            if ref in self.refs:
                found.append(("meter_ref", "duplicate", {}))
            self.refs.add(ref)
            if activity is not None:
                self.known.meters[ref] = (activity, v["digits"], frozenset(v["registers"]))
        if activity is not None and activity not in self.known.activities:
            found.append(("activity", "activity_not_supplied", {}))
        self._from_ref(v, "serial_number", ref, 40, found)
        self._unique(v["serial_number"], ref, self.serials, self.known.serials, "serial_number", found)
        if pod is not None:
            pod_activity = self.known.pods.get(pod)
            if pod_activity is None:
                found.append(("pod_ref", "unknown_pod", {}))
            elif activity is not None and pod_activity != activity:
                found.append(("activity", "activity_mismatch", {"expected": pod_activity}))
            if pod in self.pods:
                found.append(("pod_ref", "pod_has_meter", {}))
            self.pods.add(pod)
            if v["installed_on"] is None:
                found.append(("installed_on", "required", {}))
            elif v["installed_on"] > self.today:
                found.append(("installed_on", "future_date", {}))
        elif v["installed_on"] is not None:
            found.append(("pod_ref", "required", {}))
        return found


class _Contracts(_Rule):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.refs: set[str] = set()
        self.numbers: dict[str, str] = {}
        self.periods: dict[str, list[tuple[date, date | None, int]]] = {}

    def check(self, v: dict, *, bad: bool) -> list:
        found = []
        ref, pod, offer = v["contract_ref"], v["pod_ref"], v["offer_code"]
        if ref is not None:
            if ref in self.refs:
                found.append(("contract_ref", "duplicate", {}))
            self.refs.add(ref)
        if v["customer_ref"] is not None and v["customer_ref"] not in self.known.customers:
            found.append(("customer_ref", "unknown_customer", {}))
        pod_activity = self.known.pods.get(pod) if pod is not None else None
        if pod is not None and pod_activity is None:
            found.append(("pod_ref", "unknown_pod", {}))
        if offer is not None:
            offer_activity = self.known.offers.get(offer)
            if offer_activity is None:
                found.append(("offer_code", "unknown_offer", {}))
            elif pod_activity is not None and offer_activity != pod_activity:
                found.append(("offer_code", "offer_activity", {"activity": pod_activity}))
        start, end, billed = v["start_date"], v["end_date"], v["billed_until"]
        if start is not None and end is not None and end <= start:
            found.append(("end_date", "end_before_start", {}))
        if start is not None and billed is not None and (billed < start or (end is not None and billed > end)):
            found.append(("billed_until", "billed_until_range", {}))
        if v["billing_frequency"] is None:
            v["billing_frequency"] = self.known.default_frequency
        elif v["billing_frequency"] not in self.known.frequencies:
            found.append(("billing_frequency", "frequency_not_offered",
                          {"offered": ", ".join(self.known.frequencies)}))
        self._from_ref(v, "contract_number", ref, 24, found)
        self._unique(v["contract_number"], ref, self.numbers, self.known.contract_numbers, "contract_number", found)
        if pod is not None and start is not None:
            self.periods.setdefault(pod, []).append((start, end, self.row))
        return found

    def finish(self):
        """Two contracts of the file supplying one point of delivery at the same time: the later row is wrong."""
        out = []
        for periods in self.periods.values():
            if len(periods) < 2:
                continue
            periods.sort(key=lambda p: (p[0], p[2]))
            for (_s1, end1, _r1), (start2, _e2, row2) in zip(periods, periods[1:], strict=False):
                if end1 is None or start2 < end1:
                    out.append(("start_date", "overlap", {}, row2))
        return out


class _Balances(_Rule):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.refs: set[str] = set()

    def check(self, v: dict, *, bad: bool) -> list:
        found = []
        ref = v["customer_ref"]
        if ref is not None:
            if ref in self.refs:
                found.append(("customer_ref", "duplicate", {}))
            self.refs.add(ref)
            if ref not in self.known.customers:
                found.append(("customer_ref", "unknown_customer", {}))
        if v["as_of"] is not None and v["as_of"] > self.today:
            found.append(("as_of", "future_date", {}))
        return found


class _Readings(_Rule):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        # Hashes of (meter, register, day) seen: a million readings in a few tens of megabytes.
        self.seen: set[int] = set()
        self.today_text = self.today.isoformat()

    def fast_reader(self, positions: list[int]):
        """Millions of rows: a reading of a known meter and register, an ISO date, a plain index."""
        at_meter, at_register, at_day, at_value, at_source = positions
        meters, seen, today_text = self.known.meters, self.seen, self.today_text
        sources = frozenset(BY_NAME["readings"]["source"].choices)
        limits = {digits: Decimal(10) ** digits for digits in range(3, 13)}

        def fast(cells: list[str]) -> list[str] | None:
            width = len(cells)
            if not (at_meter < width and at_day < width and at_value < width):
                return None
            ref, day, text = cells[at_meter], cells[at_day], cells[at_value]
            register = cells[at_register] if 0 <= at_register < width else ""
            source = cells[at_source] if 0 <= at_source < width else ""
            meter = meters.get(ref)
            if meter is None or len(day) != 10 or day[4] != "-" or day[7] != "-" or day > today_text or not text:
                return None
            register = register.upper() if register else "TOTAL"
            source = source.lower() if source else "agent"
            if register not in meter[2] or source not in sources:
                return None
            try:
                date.fromisoformat(day)
                value = Decimal(text)
            except (ValueError, InvalidOperation):
                return None
            if not value.is_finite() or value < 0 or value >= limits.get(meter[1], 0) \
                    or value.as_tuple().exponent < -3:
                return None
            key = hash((ref, register, day))
            if key in seen:
                return None
            seen.add(key)
            return [ref, register, day, text, source]
        return fast

    def check(self, v: dict, *, bad: bool) -> list:
        found = []
        ref, register, day, value = v["meter_ref"], v["register"] or "TOTAL", v["read_on"], v["value"]
        v["register"] = register = register.upper()
        if v["source"] is None:
            v["source"] = "agent"
        meter = self.known.meters.get(ref) if ref is not None else None
        if ref is not None and meter is None:
            found.append(("meter_ref", "unknown_meter", {}))
        elif meter is not None:
            if register not in meter[2]:
                found.append(("register", "unknown_register", {"registers": ", ".join(sorted(meter[2]))}))
            if value is not None and value >= 10 ** meter[1]:
                found.append(("value", "too_many_digits", {"digits": meter[1]}))
        if day is not None:
            if day > self.today:
                found.append(("read_on", "future_date", {}))
            if ref is not None:
                key = hash((ref, register, day.isoformat()))
                if key in self.seen:
                    found.append(("read_on", "duplicate_reading", {}))
                self.seen.add(key)
        return found


_RULES: dict[str, Callable[..., _Rule]] = {
    "customers": _Customers,
    "premises": _Premises,
    "meters": _Meters,
    "contracts": _Contracts,
    "balances": _Balances,
    "readings": _Readings,
}
