"""Meter endpoints of the integration API: a field-service tool reporting a meter exchange, a smart-meter data
platform sending interval (half-hourly) data. Each parses its body, makes one domain call (the back office's meter
exchange service; domain/readings/intervals for interval data) and words the domain's refusals in the error shape.
A point of delivery or meter of another tenant answers 404 exactly as a missing one."""
from __future__ import annotations

from decimal import Decimal

from flask import g
from sqlalchemy.exc import IntegrityError
from flask_babel import gettext as _

from api.errors import ApiError
from api.registry import operation
from api.schemas.meters import (
    InstalledMeterOut,
    IntervalDataIn,
    IntervalDataOut,
    IntervalDayOut,
    MeterExchangeIn,
    MeterExchangeOut,
    InstalledRegisterOut,
    RemovalReadingOut,
    RemovedMeterOut,
)
from app.i18n import tenant_today, tenant_zone
from domain.db import db, utcnow
from domain.entry import services as entry
from domain.field_errors import FieldErrors
from domain.readings import intervals
from domain.sites.services import MeterSpec, delivery_point_by_identifier, layout_of, normalise_reference

TAGS = ["Meters"]
THOUSANDTH, RATIO = Decimal("0.001"), Decimal("0.00001")  # as the database keeps them (NUMERIC(16, 3), (8, 5))


# --- meter exchanges ---------------------------------------------------------------------------------------------

def _exchange_field(field: str) -> str:
    """A domain field of the exchange as the request's JSON path names it."""
    if field.startswith("removal_"):
        return f"removed_meter.readings.{field.removeprefix('removal_')}"
    if field.startswith("index_"):
        return f"installed_meter.registers.{field.removeprefix('index_')}"
    return {"exchange_on": "exchange_date", "removed_serial": "removed_meter.serial_number",
            "layout": "installed_meter.registers"}.get(field, f"installed_meter.{field}")


def _exchange_message(field: str, code: str, details: dict) -> str:
    if field == "removed_serial":
        return _("This meter is not the one installed at the point of delivery.")
    if field == "layout":
        return _("Give the registers TOTAL alone, or PEAK and OFFPEAK.")
    if field == "exchange_on":
        return {
            "required": _("Give the date of the exchange."),
            "no_meter": _("No meter is installed at this point of delivery."),
            "future": _("The date cannot be in the future."),
            "too_old": _("The date is more than 60 days ago."),
            "before_installation": _("The exchange must be after the day the meter was installed (%(date)s).",
                                     date=str(details.get("date"))),
            "billed": _("A bill already covers this date (until %(date)s): the exchange must be on or after it.",
                        date=str(details.get("date"))),
            "later_reading": _("The meter has a reading dated %(date)s, after this date.",
                               date=str(details.get("date"))),
            "no_contract": _("No contract supplies this point of delivery on that date."),
        }.get(code, _("Check this value."))
    return {
        "missing": _("Give the index of this register."),
        "too_many_digits": _("The meter shows at most %(digits)s digits before the decimal point.",
                             digits=details.get("digits")),
        "lower_than_previous": _("This index is lower than the previous one (%(previous)s). If the meter went back "
                                 "to zero, set rollover_confirmed.", previous=str(details.get("previous"))),
        "rollover_not_possible": _("A meter with %(digits)s digits cannot reach this index from %(previous)s by "
                                   "going back to zero.", digits=details.get("digits"),
                                   previous=str(details.get("previous"))),
        "implausible": _("This index means %(consumption)s used, far from the %(expected)s or so expected. If it is "
                         "right, set implausible_confirmed.", consumption=str(details.get("consumption")),
                         expected=str(details.get("expected"))),
        "required": _("Give this value."),
        "too_long": _("Use at most 40 characters."),
        "taken": _("A meter with this serial number already exists at this utility."),
        "range": _("This value is outside the range allowed."),
    }.get(code, _("Check this value."))


def _exchange_refused(refused: FieldErrors) -> ApiError:
    details = []
    for field, code in refused.errors.items():
        figures = refused.details.get(field, {})
        details.append({"field": _exchange_field(field), "code": code,
                        "message": _exchange_message(field, code, figures),
                        **{k: str(v) for k, v in figures.items() if v is not None}})
    return ApiError(422, "invalid_exchange", _("The meter exchange cannot be recorded: nothing was changed."),
                    details=details)


@operation("POST", "/meter-exchanges", scope="readings:write", body=MeterExchangeIn, response=MeterExchangeOut,
           status=201, errors=(404, 422), idempotent=True, tags=TAGS,
           summary="Record a meter exchange: the old meter's removal readings, the new meter and its first indexes",
           description="Checked as the back office checks an exchange: the date is today or up to 60 days back, "
                       "after the old meter's installation and latest reading, not inside a billed period; each "
                       "removal index against the register's previous reading (dial, rollover, plausibility); the "
                       "new meter's serial unique, its dial and registers. Any problem: 422 `invalid_exchange` "
                       "listing each field (`details[].field`, `code`, `message`), nothing changed. A point of "
                       "delivery this utility does not have: 404.")
def meter_exchange(*, query=None, body: MeterExchangeIn):
    if delivery_point_by_identifier(body.point) is None:
        raise ApiError(404, "not_found", _("No point of delivery has this identifier."))
    account = entry.account_at_point(identifier=body.point, day=body.exchange_date)
    if account is None:
        raise ApiError(422, "invalid_exchange", _("The meter exchange cannot be recorded: nothing was changed."),
                       details=[{"field": "exchange_date", "code": "no_contract",
                                 "message": _exchange_message("exchange_on", "no_contract", {})}])
    new = body.installed_meter
    codes = [r.code.strip().upper() for r in new.registers]
    layout = layout_of(codes) or "unknown"
    spec = MeterSpec(serial_number=new.serial_number, digits=new.digits, multiplier=new.multiplier, layout=layout,
                     is_smart=new.is_smart, model=new.model)
    try:
        exchange = entry.exchange_meter(
            account=account, identifier=normalise_reference(body.point),
            exchange_on=body.exchange_date,
            removal_values={code.strip().upper(): value for code, value in body.removed_meter.readings.items()},
            rollover_confirmed=body.rollover_confirmed, implausible_confirmed=body.implausible_confirmed,
            new_meter=spec, installation_values={r.code.strip().upper(): r.index for r in new.registers},
            tenant=g.tenant, staff_user_id=None, today=tenant_today(), now=utcnow(),
            removed_serial=body.removed_meter.serial_number)
    except LookupError as exc:  # pragma: no cover - account_at_point found the point just before
        raise ApiError(404, "not_found", _("No point of delivery has this identifier.")) from exc
    except FieldErrors as refused:
        raise _exchange_refused(refused) from refused
    except IntegrityError as exc:  # the same new serial recorded by a request running beside this one
        db.session.rollback()
        raise _exchange_refused(FieldErrors({"serial_number": "taken"})) from exc
    meter = exchange.delivery_point.current_meter
    fitted = {r.register_id: r.value for r in exchange.installation}
    return MeterExchangeOut(
        point=exchange.delivery_point.identifier, exchange_date=body.exchange_date,
        removed_meter=RemovedMeterOut(
            serial_number=exchange.old_serial, removed_on=body.exchange_date,
            readings=[RemovalReadingOut(register_code=r.register.code, index=r.value.quantize(THOUSANDTH),
                                        rolled_over=r.rollover_confirmed,
                                        implausible_confirmed=r.implausible_confirmed) for r in exchange.removal]),
        installed_meter=InstalledMeterOut(
            serial_number=meter.serial_number, digits=meter.digits, multiplier=meter.multiplier.quantize(RATIO),
            unit=meter.unit,
            is_smart=meter.is_smart, model=meter.model, installed_on=body.exchange_date,
            registers=[InstalledRegisterOut(code=r.code, label=r.label,
                                   installation_index=fitted[r.id].quantize(THOUSANDTH)) for r in meter.registers]),
    )


# --- interval data -----------------------------------------------------------------------------------------------

def _positions(details: dict) -> str:
    return ", ".join(str(n) for n in details.get("intervals", []))


def _interval_message(code: str, details: dict) -> str:
    messages = {
        "interval_count": lambda: _("This day has %(expected)s intervals in the utility's time zone; %(given)s were "
                                    "sent.", expected=details.get("expected"), given=details.get("given")),
        "negative": lambda: _("Intervals %(positions)s are negative: a consumption cannot be below zero.",
                              positions=_positions(details)),
        "too_many_decimals": lambda: _("Intervals %(positions)s have more than three decimals.",
                                       positions=_positions(details)),
        "too_large": lambda: _("Intervals %(positions)s are too large for one interval.",
                               positions=_positions(details)),
        "not_a_number": lambda: _("Intervals %(positions)s are not numbers.", positions=_positions(details)),
        "day_not_over": lambda: _("This day is not over yet in the utility's time zone: send it from the next day."),
        "day_too_old": lambda: _("Interval data can be sent for days from %(day)s on.", day=details.get("earliest")),
        "no_meter_on_day": lambda: _("No meter was installed at this point of delivery on this day."),
        "not_installed_on_day": lambda: _("This meter was not installed at a point of delivery on this day."),
        "unknown_register": lambda: _("The meter has no register with this code (it has %(registers)s).",
                                      registers=", ".join(details.get("registers", []))),
        "duplicate": lambda: _("This register's day is already in the batch, at position %(first)s.",
                               first=details.get("first")),
        "interval_minutes": lambda: _("Intervals last 15, 30 or 60 minutes."),
    }
    return messages.get(code, lambda: _("Check this day."))()


@operation("POST", "/interval-data", scope="readings:write", body=IntervalDataIn, response=IntervalDataOut,
           status=200, errors=(404, 409, 422), idempotent=True, tags=TAGS,
           summary="Store smart meters' interval data, one register's day at a time (a day sent again replaces it)",
           description="Each day is a date in the utility's time zone with one value per interval from local "
                       "midnight: 48 half-hours, 46 on the day clocks go forward, 50 on the day they go back. "
                       "Values are non-negative with at most three decimals; the register's meter must be "
                       "installed that day; the day must be over. A batch is stored whole or not at all: 422 "
                       "`invalid_interval_data` lists every refused day (`details[].field` is `days.<n>`), 404 "
                       "names the points or meters not found. A register's day already stored is replaced "
                       "(`status: replaced` in the answer).")
def interval_data(*, query=None, body: IntervalDataIn):
    days = [intervals.IntervalDayIn(point=d.point, meter=d.meter, register_code=d.register_code, day=d.day,
                                    values=tuple(d.values), interval_minutes=d.interval_minutes) for d in body.days]
    try:
        stored = intervals.store_interval_days(days=days, source=body.source, zone=tenant_zone(),
                                               today=tenant_today(), now=utcnow())
    except IntegrityError as exc:  # the same register's day stored by a request running beside this one
        db.session.rollback()
        raise ApiError(409, "conflict", _("Another request is storing the same days. Send this one again in a "
                                          "moment: it will replace them.")) from exc
    except intervals.UnknownReference as unknown:
        raise ApiError(404, "not_found", _("No point of delivery or meter has this reference."), details=[
            {"field": f"days.{index}.{kind}", "reference": reference} for index, kind, reference in unknown.unknown
        ]) from unknown
    except intervals.IntervalDataRefused as refused:
        raise ApiError(422, "invalid_interval_data", _("Some days cannot be stored: nothing was stored."), details=[
            {"field": f"days.{p.index}", "day": body.days[p.index].day.isoformat(), "code": p.code,
             "message": _interval_message(p.code, p.details)}
            for p in refused.problems
        ]) from refused
    return IntervalDataOut(
        stored=sum(1 for s in stored if not s.replaced), replaced=sum(1 for s in stored if s.replaced),
        days=[IntervalDayOut(point=s.point, meter=s.meter, register_code=s.register_code, day=s.day,
                             interval_minutes=s.interval_minutes, interval_count=s.interval_count, total=s.total,
                             status="replaced" if s.replaced else "stored") for s in stored])
