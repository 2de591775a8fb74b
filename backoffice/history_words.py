"""How the customer's own changes in the portal that are not details of the customer (a direct-debit mandate signed
or ended, a meter reading given) read in the history of the customer file: what happened and its details in the
staff member's language, never a column name or a code."""
from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal

from flask_babel import gettext as _
from sqlalchemy import select

from app.i18n import REGISTER_NAMES, UNIT_LABELS, quantity
from app.i18n import _date as format_day
from domain.db import db
from domain.payments.models import DirectDebitMandate
from domain.readings.models import MeterReading
from domain.sites.models import Meter, Register


def _day(text) -> str:
    try:
        return format_day(date.fromisoformat(str(text)[:10]))
    except ValueError:
        return str(text)


def words_for(events) -> Callable:
    """A function event -> (what, details), or None for the events the page words itself; the mandates and
    readings the events name are read once for all of them."""
    mandate_ids = {e.entity_id for e in events if e.entity_type == "DirectDebitMandate"}
    reading_ids = {e.entity_id for e in events if e.entity_type == "MeterReading"}
    mandates = {m.id: m for m in db.session.scalars(select(DirectDebitMandate).where(
        DirectDebitMandate.id.in_(mandate_ids)))} if mandate_ids else {}
    readings = {}
    if reading_ids:
        for reading_id, serial, code, unit in db.session.execute(
                select(MeterReading.id, Meter.serial_number, Register.code, Meter.unit)
                .join(Register, Register.id == MeterReading.register_id).join(Meter, Meter.id == Register.meter_id)
                .where(MeterReading.id.in_(reading_ids))):
            readings[reading_id] = (serial, code, unit)

    def told(event) -> tuple[str, str] | None:
        online = event.actor_kind == "customer"
        if event.entity_type == "DirectDebitMandate":
            return _mandate(event, mandates.get(event.entity_id), online)
        if event.entity_type == "MeterReading" and event.entity_id in readings:
            return _reading(event, readings[event.entity_id], online)
        return None
    return told


def _mandate(event, mandate, online: bool) -> tuple[str, str]:
    changes = event.changes or {}
    after = changes.get("after") or {}
    reference = mandate.reference if mandate else after.get("reference", "")
    if event.action == "insert":
        what = _("Direct-debit mandate signed in the portal") if online else _("Direct-debit mandate signed")
        holder = mandate.holder_name if mandate else after.get("holder_name", "")
        iban = mandate.iban_masked if mandate else "—"
        return what, _("Mandate %(reference)s, account holder %(holder)s, IBAN %(iban)s", reference=reference,
                       holder=holder, iban=iban)
    if (changes.get("status") or {}).get("after") == "revoked":
        what = _("Direct-debit mandate ended in the portal") if online else _("Direct-debit mandate ended")
        return what, _("Mandate %(reference)s", reference=reference)
    return _("Direct-debit mandate changed"), _("Mandate %(reference)s", reference=reference)


def _reading(event, meter, online: bool) -> tuple[str, str]:
    serial, code, unit = meter
    changes = event.changes or {}
    if event.action == "insert":
        values = changes.get("after") or {}
        what = _("Meter reading given in the portal") if online else _("Meter reading recorded")
    else:
        values = {key: change.get("after") for key, change in changes.items() if isinstance(change, dict)}
        what = _("Meter reading changed in the portal") if online else _("Meter reading changed")
    meter_name = serial if code == "TOTAL" else f"{serial} ({REGISTER_NAMES.get(code, code)})"
    value = values.get("value")
    try:
        shown = quantity(Decimal(str(value)), UNIT_LABELS.get(unit, unit)) if value is not None else "—"
    except (ArithmeticError, TypeError):
        shown = str(value)
    day = _day(values["read_on"]) if values.get("read_on") else "—"
    return what, _("Meter %(serial)s, %(date)s: %(value)s", serial=meter_name, date=day, value=shown)
