""""Download all my data" (GDPR): what the portal knows about a customer, as tables, written to a ZIP of JSON and CSV.

`collect_customer_data` reads everything in a handful of queries, limited to the accounts the login may see
and, for meter readings, to the periods of this customer's own contracts (a previous occupant's readings of
the same meter are not theirs). `zip_chunks` is pure: it streams the archive from those tables.
"""
from __future__ import annotations

import csv
import io
import json
import zipfile
from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import and_, or_, select, true

from domain.accounting.models import Payment
from domain.audit.models import AuditEvent
from domain.billing.models import Bill, BillLine
from domain.contracts.models import Contract, CustomerAccount
from domain.db import db
from domain.identity.models import CustomerAccess, CustomerUser
from domain.parties.models import ContactPoint, Party
from domain.readings.models import MeterReading
from domain.requests.models import RequestMessage, ServiceRequest
from domain.sites.models import DeliveryPoint, Meter, MeterInstallation, Premise, Register

Tables = dict[str, list[dict]]

TABLE_ORDER = ("login", "party", "contact_points", "accounts", "contracts", "points_of_delivery",
               "meter_readings", "bills", "bill_lines", "payments", "requests", "request_messages", "consents")


def _plain(value):
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return value


def _row(obj, fields: tuple[str, ...], **extra) -> dict:
    out = {name: _plain(getattr(obj, name)) for name in fields}
    out.update({k: _plain(v) for k, v in extra.items()})
    return out


def collect_customer_data(*, user: CustomerUser) -> Tables:
    """Every table of the export for this login, each a list of plain rows."""
    party = db.session.get(Party, user.party_id)
    accounts = list(db.session.scalars(
        select(CustomerAccount)
        .join(CustomerAccess, CustomerAccess.account_id == CustomerAccount.id)
        .where(CustomerAccess.customer_user_id == user.id)
        .order_by(CustomerAccount.account_number)))
    by_account = {a.id: a.account_number for a in accounts}
    ids = list(by_account)
    tables: Tables = {
        "login": [_row(user, ("email", "locale", "created_at", "email_verified_at", "last_login_at",
                              "password_changed_at", "marketing_consent", "marketing_consent_at",
                              "closure_requested_at"))],
        "party": [_row(party, ("party_number", "kind", "title", "first_name", "last_name", "organisation_name",
                               "registration_number", "birth_date", "created_at"))],
        "contact_points": [
            _row(c, ("kind", "value", "address_line1", "address_line2", "postcode", "city", "country",
                     "is_primary", "verified_at"))
            for c in db.session.scalars(select(ContactPoint).where(ContactPoint.party_id == party.id)
                                        .order_by(ContactPoint.id))],
        "accounts": [_row(a, ("account_number", "status", "billing_cycle", "payment_method", "paperless",
                              "locale", "opened_on", "closed_on")) for a in accounts],
    }
    contracts = list(db.session.scalars(
        select(Contract).where(Contract.account_id.in_(ids)).order_by(Contract.account_id, Contract.start_date)))
    points = {p.id: (p, premise) for p, premise in db.session.execute(
        select(DeliveryPoint, Premise).join(Premise, Premise.id == DeliveryPoint.premise_id)
        .where(DeliveryPoint.id.in_({c.delivery_point_id for c in contracts})))}
    tables["contracts"] = [
        _row(c, ("contract_number", "start_date", "end_date", "status", "billing_frequency",
                 "estimated_annual_consumption"),
             account_number=by_account[c.account_id], point_of_delivery=points[c.delivery_point_id][0].identifier,
             offer=c.offer.name)
        for c in contracts]
    tables["points_of_delivery"] = [
        _row(p, ("identifier", "activity", "status"), address_line1=premise.address_line1,
             address_line2=premise.address_line2, postcode=premise.postcode, city=premise.city,
             country=premise.country)
        for p, premise in points.values()]
    tables["meter_readings"] = _readings(contracts, points)
    bills = list(db.session.scalars(
        select(Bill).where(Bill.account_id.in_(ids), Bill.status != "draft").order_by(Bill.issued_at, Bill.id)))
    bill_numbers = {b.id: b.number for b in bills}
    tables["bills"] = [
        _row(b, ("number", "kind", "status", "period_start", "period_end", "issued_at", "due_date", "currency",
                 "total_excl_tax", "total_tax", "total_incl_tax", "estimated", "cancelled_at"),
             account_number=by_account[b.account_id])
        for b in bills]
    tables["bill_lines"] = [
        _row(line, ("position", "component", "description", "period_start", "period_end", "quantity", "unit",
                    "unit_price", "amount", "tax_rate", "amount_incl_tax"), bill_number=bill_numbers[line.bill_id])
        for line in db.session.scalars(select(BillLine).where(BillLine.bill_id.in_(bill_numbers))
                                       .order_by(BillLine.bill_id, BillLine.position))]
    tables["payments"] = [
        _row(p, ("public_id", "amount", "currency", "method", "status", "created_at", "received_at",
                 "failure_reason"), account_number=by_account[p.account_id])
        for p in db.session.scalars(select(Payment).where(Payment.account_id.in_(ids))
                                    .order_by(Payment.created_at, Payment.id))]
    requests = list(db.session.scalars(
        select(ServiceRequest).where(ServiceRequest.account_id.in_(ids)).order_by(ServiceRequest.opened_at)))
    references = {r.id: r.reference for r in requests}
    tables["requests"] = [
        _row(r, ("reference", "kind", "status", "subject", "description", "opened_at", "due_at", "closed_at",
                 "effective_on"), account_number=by_account[r.account_id])
        for r in requests]
    tables["request_messages"] = [
        _row(m, ("author_kind", "body", "sent_at"), request_reference=references[m.request_id])
        for m in db.session.scalars(
            select(RequestMessage)
            .where(RequestMessage.request_id.in_(references), RequestMessage.internal.is_(False))
            .order_by(RequestMessage.sent_at, RequestMessage.id))]  # staff's internal notes are not sent
    tables["consents"] = _consents(user, accounts)
    return tables


def _readings(contracts: list[Contract], points: dict) -> list[dict]:
    """Readings of the meters at the customer's points of delivery, during their own contracts only."""
    if not contracts:
        return []
    periods = [
        and_(MeterInstallation.delivery_point_id == c.delivery_point_id, MeterReading.read_on >= c.start_date,
             MeterReading.read_on < c.end_date if c.end_date else true())
        for c in contracts]
    rows = db.session.execute(
        select(MeterReading, Register.code, Meter.serial_number, Meter.unit, MeterInstallation.delivery_point_id)
        .join(Register, Register.id == MeterReading.register_id)
        .join(Meter, Meter.id == Register.meter_id)
        .join(MeterInstallation, MeterInstallation.meter_id == Meter.id)
        .where(or_(*periods), MeterReading.read_on >= MeterInstallation.installed_on,
               or_(MeterInstallation.removed_on.is_(None), MeterReading.read_on < MeterInstallation.removed_on))
        .order_by(Meter.serial_number, Register.code, MeterReading.read_on, MeterReading.id))
    seen, out = set(), []
    for reading, code, serial, unit, dp_id in rows:
        if reading.id in seen:  # two contracts on one point of delivery may both cover a date
            continue
        seen.add(reading.id)
        out.append(_row(reading, ("read_on", "value", "source", "status", "received_at", "rollover_confirmed"),
                        point_of_delivery=points[dp_id][0].identifier, meter=serial, register=code, unit=unit))
    return out


def _consents(user: CustomerUser, accounts: list[CustomerAccount]) -> list[dict]:
    rows = [{"consent": "marketing", "account_number": None, "given": user.marketing_consent,
             "recorded_at": _plain(user.marketing_consent_at)}]
    rows += [{"consent": "paperless_billing", "account_number": a.account_number, "given": a.paperless,
              "recorded_at": None} for a in accounts]
    history = db.session.scalars(
        select(AuditEvent)
        .where(AuditEvent.entity_type == "CustomerUser", AuditEvent.entity_id == user.id,
               AuditEvent.action == "update")
        .order_by(AuditEvent.occurred_at, AuditEvent.id))
    for event in history:
        change = (event.changes or {}).get("marketing_consent")
        if change:
            rows.append({"consent": "marketing", "account_number": None, "given": change.get("after"),
                         "recorded_at": _plain(event.occurred_at)})
    return rows


# The archive (pure)


class _Sink(io.RawIOBase):
    """A write-only stream the ZIP writer fills and the generator drains after each file."""

    def __init__(self):
        self._chunks: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        self._chunks.append(bytes(data))
        return len(data)

    def drain(self) -> bytes:
        out = b"".join(self._chunks)
        self._chunks.clear()
        return out


def _csv(rows: list[dict]) -> str:
    buffer = io.StringIO()
    columns = list(dict.fromkeys(key for row in rows for key in row))
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\r\n")
    writer.writeheader()
    writer.writerows({k: ("" if v is None else v) for k, v in row.items()} for row in rows)
    return buffer.getvalue()


README = """Your data, as held by {tenant} on {at}.

Each table is in two forms: json/<table>.json and csv/<table>.csv (UTF-8, comma separated).
Tables: {tables}.
Amounts are in the currency given on each row; times are in UTC.
"""


def zip_chunks(tables: Tables, *, tenant_name: str, generated_at: datetime) -> Iterator[bytes]:
    """The archive, a few kilobytes at a time, without holding it whole in memory."""
    sink = _Sink()
    names = [n for n in TABLE_ORDER if n in tables] + [n for n in tables if n not in TABLE_ORDER]
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("README.txt", README.format(tenant=tenant_name, at=generated_at.isoformat(),
                                                     tables=", ".join(names)))
        yield sink.drain()
        for name in names:
            archive.writestr(f"json/{name}.json", json.dumps(tables[name], ensure_ascii=False, indent=2))
            archive.writestr(f"csv/{name}.csv", "\ufeff" + _csv(tables[name]))
            yield sink.drain()
    yield sink.drain()
