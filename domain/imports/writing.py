"""Writing one chunk of checked rows: load what exists in a handful of queries, compare, write in bulk.

Rows are matched by the utility's external references (readings by meter, register and day; an opening balance
by account): a row already there and the same is left alone, one that differs is updated, a new one is inserted
with multi-row INSERTs (domain/bulk.py; PostgreSQL refuses COPY under row-level security). Unique indexes on the
references make a chunk written twice (a worker killed after its commit, a job given twice) impossible to double.
Each function returns (created, updated, unchanged) counted in rows of the file.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import bindparam, delete, select, text, update

from domain.accounting.models import LedgerEntry
from domain.bulk import insert_columns, insert_rows, is_postgresql, probing
from domain.contracts.models import Contract, CustomerAccount
from domain.db import db, new_uuid
from domain.imports.spec import COLUMN_NAMES
from domain.offers.models import Offer
from domain.parties.models import ContactPoint, Party, PartyRole
from domain.readings.models import MeterReading
from domain.sites.models import ACTIVITY_UNITS, DeliveryPoint, Meter, MeterInstallation, Premise, Register
from tenants.context import require_tenant_id

FILTERED = {"tenant_filtered": True}
REGISTER_LABELS = {"TOTAL": "Total", "PEAK": "Peak", "OFFPEAK": "Off-peak", "DAY": "Day", "NIGHT": "Night"}
OPENING_DESCRIPTION = "Opening balance"


@dataclass(frozen=True)
class ChunkContext:
    tenant_id: int
    now: datetime
    today: date
    currency: str


@dataclass
class Counts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0


def _records(kind: str, rows: list[list[str]]) -> list[dict]:
    names = COLUMN_NAMES[kind]
    return [{name: (value or None) for name, value in zip(names, row, strict=True)} for row in rows]


def _d(text):
    return date.fromisoformat(text) if text else None


def _n(text):
    return Decimal(text) if text else None


def _select(table, *columns, where):
    return db.session.execute(select(*columns).where(table.c.tenant_id == require_tenant_id(), *where)
                              .execution_options(**FILTERED)).all()


def _probe(table, column, keys: list, *columns, where=()):
    """The tenant's rows of `table` whose `column` is one of `keys`, each key looked up by its index."""
    if not keys:
        return []
    return db.session.execute(probing(db.session, column, keys, *columns,
                                      where=[table.c.tenant_id == require_tenant_id(), *where])
                              .execution_options(**FILTERED)).all()


def _by_ref(table, refs: list[str], *columns) -> dict:
    rows = _probe(table, table.c.external_ref, refs, table.c.external_ref, table.c.id, *columns)
    return {row[0]: row for row in rows}


def _update(table, changes: list[dict]) -> None:
    """One executemany UPDATE of the changed rows (each dict: `b_id` and the new values of the same columns)."""
    by_columns: dict[tuple, list[dict]] = {}
    for change in changes:
        by_columns.setdefault(tuple(sorted(k for k in change if k != "b_id")), []).append(change)
    for columns, group in by_columns.items():
        stmt = (update(table).where(table.c.tenant_id == require_tenant_id(), table.c.id == bindparam("b_id"))
                .values({name: bindparam(name) for name in columns}).execution_options(**FILTERED))
        db.session.execute(stmt, group)


def _diff(current, wanted: dict, names: tuple[str, ...]) -> dict:
    return {name: wanted[name] for name in names if getattr(current, name) != wanted[name]}


def _statistics(*tables) -> None:
    """Have PostgreSQL analyse those of `tables` it still believes (nearly) empty (migration 0023): the foreign
    keys of the rows about to be inserted into their children are then checked through the right index, not by
    reading the tenant's every row of the parent for each row."""
    if is_postgresql(db.session):
        db.session.execute(text("SELECT refresh_statistics(:tables)"), {"tables": [t.name for t in tables]})


def write_chunk(kind: str, rows: list[list[str]], ctx: ChunkContext) -> Counts:
    if ctx.tenant_id != require_tenant_id():
        raise ValueError("a chunk is written in its own tenant only")
    if kind == "readings":  # millions of rows: read as lists, not dicts
        return _write_readings(rows, ctx)
    return _WRITERS[kind](_records(kind, rows), ctx)


# -- customers: party, contact points, account, holder role --------------------------------------------------------

_PARTY_FIELDS = ("kind", "title", "first_name", "last_name", "organisation_name")
_ACCOUNT_FIELDS = ("account_number", "payment_method", "billing_cycle", "paperless", "locale", "opened_on")


def _customer_values(r: dict) -> tuple[dict, dict, dict]:
    party = {name: r[name] for name in _PARTY_FIELDS}
    account = {"account_number": r["account_number"], "payment_method": r["payment_method"] or "transfer",
               "billing_cycle": r["billing_cycle"] or "A", "paperless": r["paperless"] == "1",
               "locale": r["locale"], "opened_on": _d(r["opened_on"])}
    contacts = {}
    if r["email"]:
        contacts["email"] = {"value": r["email"], "address_line1": None, "address_line2": None, "postcode": None,
                             "city": None, "country": None}
    if r["phone"]:
        contacts["phone"] = {"value": r["phone"], "address_line1": None, "address_line2": None, "postcode": None,
                             "city": None, "country": None}
    if r["address_line1"]:
        contacts["postal"] = {"value": None, "address_line1": r["address_line1"], "address_line2": r["address_line2"],
                              "postcode": r["postcode"], "city": r["city"], "country": r["country"]}
    return party, account, contacts


_CONTACT_FIELDS = ("value", "address_line1", "address_line2", "postcode", "city", "country")


def _write_customers(records: list[dict], ctx: ChunkContext) -> Counts:
    parties, accounts, contacts_t = Party.__table__, CustomerAccount.__table__, ContactPoint.__table__
    refs = [r["customer_ref"] for r in records]
    old_parties = _by_ref(parties, refs, *(parties.c[n] for n in _PARTY_FIELDS))
    old_accounts = _by_ref(accounts, refs, *(accounts.c[n] for n in _ACCOUNT_FIELDS))
    old_contacts: dict[tuple[int, str], object] = {}
    if old_parties:
        for row in _probe(contacts_t, contacts_t.c.party_id, [p.id for p in old_parties.values()],
                          contacts_t.c.party_id, contacts_t.c.kind, contacts_t.c.id,
                          *(contacts_t.c[n] for n in _CONTACT_FIELDS), where=[contacts_t.c.is_primary.is_(True)]):
            old_contacts.setdefault((row.party_id, row.kind), row)
    counts = Counts()
    new_records, party_changes, account_changes, contact_changes, contact_inserts = [], [], [], [], []
    for r in records:
        ref = r["customer_ref"]
        party, account, contacts = _customer_values(r)
        old_party, old_account = old_parties.get(ref), old_accounts.get(ref)
        if old_party is None or old_account is None:
            new_records.append((r, party, account, contacts, old_party))
            continue
        changed = False
        if diff := _diff(old_party, party, _PARTY_FIELDS):
            party_changes.append({"b_id": old_party.id, **diff})
            changed = True
        if diff := _diff(old_account, account, _ACCOUNT_FIELDS):
            account_changes.append({"b_id": old_account.id, **diff})
            changed = True
        for kind, values in contacts.items():
            current = old_contacts.get((old_party.id, kind))
            if current is None:
                contact_inserts.append({"tenant_id": ctx.tenant_id, "party_id": old_party.id, "kind": kind,
                                        "is_primary": True, **values})
                changed = True
            elif diff := _diff(current, values, _CONTACT_FIELDS):
                contact_changes.append({"b_id": current.id, **diff})
                changed = True
        if changed:
            counts.updated += 1
        else:
            counts.unchanged += 1
    _update(parties, party_changes)
    _update(accounts, account_changes)
    _update(contacts_t, contact_changes)
    if new_records:
        missing_parties = [(r, party) for r, party, _a, _c, old in new_records if old is None]
        party_rows = [{"tenant_id": ctx.tenant_id, "external_ref": r["customer_ref"], "party_number":
                       r["account_number"], "created_at": ctx.now, **party} for r, party in missing_parties]
        new_party_ids = dict(zip([r["customer_ref"] for r, _p in missing_parties],
                                 insert_rows(db.session, parties, party_rows, return_ids=True), strict=True))
        party_id = {ref: row.id for ref, row in old_parties.items()} | new_party_ids
        _statistics(parties)
        account_rows = [{"tenant_id": ctx.tenant_id, "external_ref": r["customer_ref"],
                         "holder_party_id": party_id[r["customer_ref"]], "status": "active",
                         "created_at": ctx.now, **account} for r, _p, account, _c, _o in new_records]
        account_ids = insert_rows(db.session, accounts, account_rows, return_ids=True)
        _statistics(accounts)
        role_rows = []
        for (r, _p, account, contacts, old), account_id in zip(new_records, account_ids, strict=True):
            owner = party_id[r["customer_ref"]]
            role_rows.append({"tenant_id": ctx.tenant_id, "party_id": owner, "role": "holder",
                              "account_id": account_id, "start_date": account["opened_on"]})
            if old is None:
                contact_inserts.extend({"tenant_id": ctx.tenant_id, "party_id": owner, "kind": kind,
                                        "is_primary": True, **values} for kind, values in contacts.items())
        insert_rows(db.session, PartyRole.__table__, role_rows)
        counts.created += len(new_records)
    insert_rows(db.session, contacts_t, contact_inserts)
    return counts


# -- premises and points of delivery -------------------------------------------------------------------------------

_PREMISE_FIELDS = ("address_line1", "address_line2", "postcode", "city", "country")
_POD_FIELDS = ("premise_id", "activity", "identifier", "subscribed_power")


def _write_premises(records: list[dict], ctx: ChunkContext) -> Counts:
    premises, pods = Premise.__table__, DeliveryPoint.__table__
    wanted_premises: dict[str, dict] = {}
    for r in records:
        wanted_premises.setdefault(r["premise_ref"], {
            "address_line1": r["address_line1"], "address_line2": r["address_line2"], "postcode": r["postcode"],
            "city": r["city"], "country": r["country"] or "FR"})
    old_premises = _by_ref(premises, list(wanted_premises), *(premises.c[n] for n in _PREMISE_FIELDS))
    old_pods = _by_ref(pods, [r["pod_ref"] for r in records], *(pods.c[n] for n in _POD_FIELDS))
    changed_premises = set()
    changes = []
    for ref, values in wanted_premises.items():
        old = old_premises.get(ref)
        if old is not None and (diff := _diff(old, values, _PREMISE_FIELDS)):
            changes.append({"b_id": old.id, **diff})
            changed_premises.add(ref)
    _update(premises, changes)
    new_refs = [ref for ref in wanted_premises if ref not in old_premises]
    new_ids = insert_rows(db.session, premises, [
        {"tenant_id": ctx.tenant_id, "external_ref": ref, "public_id": new_uuid(), **wanted_premises[ref]}
        for ref in new_refs], return_ids=True)
    premise_id = {ref: row.id for ref, row in old_premises.items()} | dict(zip(new_refs, new_ids, strict=True))
    _statistics(premises)
    counts = Counts()
    inserts, changes = [], []
    for r in records:
        values = {"premise_id": premise_id[r["premise_ref"]], "activity": r["activity"],
                  "identifier": r["pod_identifier"], "subscribed_power": _n(r["subscribed_power"])}
        old = old_pods.get(r["pod_ref"])
        if old is None:
            inserts.append({"tenant_id": ctx.tenant_id, "external_ref": r["pod_ref"], "status": "active", **values})
            counts.created += 1
        elif diff := _diff(old, values, _POD_FIELDS):
            changes.append({"b_id": old.id, **diff})
            counts.updated += 1
        elif r["premise_ref"] in changed_premises:
            counts.updated += 1
        else:
            counts.unchanged += 1
    _update(pods, changes)
    insert_rows(db.session, pods, inserts)
    return counts


# -- meters, registers, installations --------------------------------------------------------------------------------

_METER_FIELDS = ("serial_number", "activity", "digits", "multiplier", "is_smart", "model", "unit")


def _pod_ids(refs: set[str]) -> dict[str, int]:
    pods = DeliveryPoint.__table__
    return {row[0]: row[1] for row in _by_ref(pods, sorted(refs)).values()} if refs else {}


def _write_meters(records: list[dict], ctx: ChunkContext) -> Counts:
    meters, registers, installs = Meter.__table__, Register.__table__, MeterInstallation.__table__
    old_meters = _by_ref(meters, [r["meter_ref"] for r in records], *(meters.c[n] for n in _METER_FIELDS))
    old_ids = [row.id for row in old_meters.values()]
    old_registers: dict[int, set[str]] = {}
    old_installs: dict[tuple[int, int], object] = {}
    if old_ids:
        for meter_id, code in _probe(registers, registers.c.meter_id, old_ids, registers.c.meter_id,
                                     registers.c.code):
            old_registers.setdefault(meter_id, set()).add(code)
        for row in _probe(installs, installs.c.meter_id, old_ids, installs.c.meter_id, installs.c.delivery_point_id,
                          installs.c.id, installs.c.installed_on):
            old_installs[(row.meter_id, row.delivery_point_id)] = row
    pod_id = _pod_ids({r["pod_ref"] for r in records if r["pod_ref"]})
    counts = Counts()
    new_meters, changes, register_rows, install_rows, install_changes = [], [], [], [], []
    for r in records:
        values = {"serial_number": r["serial_number"], "activity": r["activity"], "digits": int(r["digits"]),
                  "multiplier": Decimal(r["multiplier"]), "is_smart": r["is_smart"] == "1", "model": r["model"],
                  "unit": ACTIVITY_UNITS[r["activity"]]}
        codes = r["registers"].split(" ")
        old = old_meters.get(r["meter_ref"])
        if old is None:
            new_meters.append((r, values, codes))
            continue
        changed = False
        if diff := _diff(old, values, _METER_FIELDS):
            changes.append({"b_id": old.id, **diff})
            changed = True
        for code in codes:
            if code not in old_registers.get(old.id, ()):
                register_rows.append({"tenant_id": ctx.tenant_id, "meter_id": old.id, "code": code,
                                      "label": REGISTER_LABELS.get(code, code)})
                changed = True
        if r["pod_ref"]:
            installed_on = _d(r["installed_on"])
            current = old_installs.get((old.id, pod_id[r["pod_ref"]]))
            if current is None:
                install_rows.append({"tenant_id": ctx.tenant_id, "meter_id": old.id,
                                     "delivery_point_id": pod_id[r["pod_ref"]], "installed_on": installed_on})
                changed = True
            elif current.installed_on != installed_on:
                install_changes.append({"b_id": current.id, "installed_on": installed_on})
                changed = True
        counts.updated += changed
        counts.unchanged += not changed
    _update(meters, changes)
    _update(installs, install_changes)
    new_ids = insert_rows(db.session, meters, [{"tenant_id": ctx.tenant_id, "external_ref": r["meter_ref"], **values}
                                               for r, values, _codes in new_meters], return_ids=True)
    for (r, _values, codes), meter_id in zip(new_meters, new_ids, strict=True):
        register_rows.extend({"tenant_id": ctx.tenant_id, "meter_id": meter_id, "code": code,
                              "label": REGISTER_LABELS.get(code, code)} for code in codes)
        if r["pod_ref"]:
            install_rows.append({"tenant_id": ctx.tenant_id, "meter_id": meter_id,
                                 "delivery_point_id": pod_id[r["pod_ref"]], "installed_on": _d(r["installed_on"])})
    counts.created += len(new_meters)
    _statistics(meters, DeliveryPoint.__table__)
    insert_rows(db.session, registers, register_rows)
    insert_rows(db.session, installs, install_rows)
    return counts


# -- contracts -----------------------------------------------------------------------------------------------------

_CONTRACT_FIELDS = ("contract_number", "account_id", "delivery_point_id", "offer_id", "start_date", "end_date",
                    "status", "billing_frequency", "estimated_annual_consumption", "billed_until")


def _account_ids(refs: set[str]) -> dict[str, int]:
    accounts = CustomerAccount.__table__
    return {row[0]: row[1] for row in _by_ref(accounts, sorted(refs)).values()} if refs else {}


def _write_contracts(records: list[dict], ctx: ChunkContext) -> Counts:
    contracts, offers = Contract.__table__, Offer.__table__
    _statistics(CustomerAccount.__table__, DeliveryPoint.__table__)
    old = _by_ref(contracts, [r["contract_ref"] for r in records], *(contracts.c[n] for n in _CONTRACT_FIELDS))
    account_id = _account_ids({r["customer_ref"] for r in records})
    pod_id = _pod_ids({r["pod_ref"] for r in records})
    codes = sorted({r["offer_code"] for r in records})
    offer_id = {code: id_ for code, id_ in _select(offers, offers.c.code, offers.c.id,
                                                   where=[offers.c.code.in_(codes)])}
    counts = Counts()
    inserts, changes = [], []
    for r in records:
        end = _d(r["end_date"])
        values = {"contract_number": r["contract_number"], "account_id": account_id[r["customer_ref"]],
                  "delivery_point_id": pod_id[r["pod_ref"]], "offer_id": offer_id[r["offer_code"]],
                  "start_date": _d(r["start_date"]), "end_date": end,
                  "status": "ended" if end is not None and end <= ctx.today else "active",
                  "billing_frequency": r["billing_frequency"],
                  "estimated_annual_consumption": _n(r["estimated_annual_consumption"]),
                  "billed_until": _d(r["billed_until"])}
        current = old.get(r["contract_ref"])
        if current is None:
            inserts.append({"tenant_id": ctx.tenant_id, "external_ref": r["contract_ref"], **values})
            counts.created += 1
        elif diff := _diff(current, values, _CONTRACT_FIELDS):
            changes.append({"b_id": current.id, **diff})
            counts.updated += 1
        else:
            counts.unchanged += 1
    _update(contracts, changes)
    insert_rows(db.session, contracts, inserts)
    return counts


# -- opening balances ----------------------------------------------------------------------------------------------

def _write_balances(records: list[dict], ctx: ChunkContext) -> Counts:
    entries = LedgerEntry.__table__
    _statistics(CustomerAccount.__table__)
    account_id = _account_ids({r["customer_ref"] for r in records})
    old = {row.account_id: row for row in _probe(
        entries, entries.c.account_id, sorted(account_id.values()), entries.c.account_id, entries.c.id,
        entries.c.direction, entries.c.amount, entries.c.booked_on, entries.c.description,
        where=[entries.c.opening_balance.is_(True)])}
    counts = Counts()
    inserts, changes, removed = [], [], []
    for r in records:
        account = account_id[r["customer_ref"]]
        amount = Decimal(r["amount"])
        current = old.get(account)
        if amount == 0:  # nothing owed either way: no entry
            if current is not None:
                removed.append(current.id)
            counts.updated += current is not None
            counts.unchanged += current is None
            continue
        values = {"direction": "debit" if amount > 0 else "credit", "amount": abs(amount),
                  "booked_on": _d(r["as_of"]), "description": r["description"] or OPENING_DESCRIPTION}
        if current is None:
            inserts.append({"tenant_id": ctx.tenant_id, "account_id": account, "opening_balance": True,
                            "created_at": ctx.now, "currency": ctx.currency, **values})
            counts.created += 1
        elif diff := _diff(current, values, ("direction", "amount", "booked_on", "description")):
            changes.append({"b_id": current.id, **diff})
            counts.updated += 1
        else:
            counts.unchanged += 1
    if removed:
        db.session.execute(delete(entries).where(entries.c.tenant_id == ctx.tenant_id, entries.c.id.in_(removed))
                           .execution_options(**FILTERED))
    _update(entries, changes)
    insert_rows(db.session, entries, inserts)
    return counts


# -- reading history -----------------------------------------------------------------------------------------------

def _write_readings(rows: list[list[str]], ctx: ChunkContext) -> Counts:
    """Rows as checked: meter_ref, register, read_on, value, source."""
    meters, registers, readings = Meter.__table__, Register.__table__, MeterReading.__table__
    _statistics(registers)
    refs = sorted({row[0] for row in rows})
    meter_id = {id_: ref for ref, id_ in _probe(meters, meters.c.external_ref, refs, meters.c.external_ref,
                                                  meters.c.id)}
    register_id = {(meter_id[meter], code): id_ for meter, code, id_ in _probe(
        registers, registers.c.meter_id, sorted(meter_id), registers.c.meter_id, registers.c.code, registers.c.id)}
    old: dict[tuple[int, date], object] = {}
    for row in _probe(readings, readings.c.register_id, sorted(register_id.values()), readings.c.register_id,
                      readings.c.read_on, readings.c.id, readings.c.value, readings.c.source, readings.c.imported):
        key = (row.register_id, row.read_on)
        if key not in old or row.imported:  # the imported reading of the day, if there is one
            old[key] = row
    counts = Counts()
    new_registers, new_days, new_values, new_sources, changes = [], [], [], [], []
    fromisoformat = date.fromisoformat
    for ref, code, day_text, value_text, source in rows:
        register = register_id[(ref, code)]
        day = fromisoformat(day_text)
        value = Decimal(value_text)
        current = old.get((register, day)) if old else None
        if current is None:
            new_registers.append(register)
            new_days.append(day)
            new_values.append(value)
            new_sources.append(source)
        elif current.imported and (current.value != value or current.source != source):
            changes.append({"b_id": current.id, "value": value, "source": source})
        else:  # the same, or a reading the platform itself recorded that day (kept as it is)
            counts.unchanged += 1
    counts.created = len(new_registers)
    counts.updated = len(changes)
    _update(readings, changes)
    if new_registers:
        count = len(new_registers)
        columns = {"register_id": new_registers, "read_on": new_days, "value": new_values, "source": new_sources}
        constants = {"tenant_id": ctx.tenant_id, "status": "valid", "received_at": ctx.now, "imported": True,
                     "rollover_confirmed": False, "implausible_confirmed": False}
        if is_postgresql(db.session):
            insert_columns(db.session, readings, columns, constants=constants)
        else:
            insert_rows(db.session, readings, [
                {**constants, **{name: values[i] for name, values in columns.items()}} for i in range(count)])
    return counts


_WRITERS = {
    "customers": _write_customers,
    "premises": _write_premises,
    "meters": _write_meters,
    "contracts": _write_contracts,
    "balances": _write_balances,
    }
