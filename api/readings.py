"""`POST /readings/batch`: up to 10,000 meter readings at once, as JSON or CSV, each answered on its own."""
from __future__ import annotations

import csv
import io
from datetime import date

from flask import current_app, g, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from api.errors import ApiError
from api.registry import operation
from api.schemas.readings import CSV_COLUMNS, BatchResult, BatchSent
from app.i18n import UNIT_LABELS, quantity, tenant_today
from app.i18n import _date as format_day
from domain.db import utcnow
from domain.readings import batch as batch_service
from domain.readings.bulk import MAX_BATCH, MAX_DAYS_PAST, REJECTED, TO_CHECK, Outcome, RawReading
from tenants.operation_settings import plausibility_factor as tenant_plausibility_factor

CSV = "text/csv"
CSV_HEADER = ",".join(CSV_COLUMNS)
_TRUE, _FALSE = {"true", "1", "yes", "y"}, {"false", "0", "no", "n", ""}
NOT_A_NUMBER = _l("Enter the reading as a number, for example 12345 or 12345.6 (at most three decimals).")

DESCRIPTION = f"""Each reading is checked as a customer's reading in the portal is: the index must fit the meter's
dial, be at least the previous actual reading of the register (or say `rollover` when the meter went back to zero,
if its dial allows it), and give a consumption near the one expected from the register's history (else the
contract's annual estimate). The answer says, per reading and in the order sent: `accepted` (stored, valid),
`to_check` (stored, pending until staff check it: the consumption is far from the expected one) or `rejected`
(nothing stored, with a `reason` code and a message).

- The batch is one transaction: every accepted or to-check reading is stored, or none (an error answer).
- Readings of one register are weighed in date order, each on the one before it.
- A second reading of the same register and day in the batch is rejected (`duplicate_in_batch`).
- A reading equal to one already stored (same register, day and index) is answered as the stored one is, with
  `already_stored: true`, and not written again; another index on that day is rejected (`conflict`).
- A reading dated before the register's latest actual reading is rejected (`later_reading`); so is a date in
  the future or more than {MAX_DAYS_PAST} days ago.
- With an `Idempotency-Key`, a retried batch returns the first answer and changes nothing.

As CSV (`Content-Type: text/csv`, UTF-8, comma- or semicolon-separated), the first line names the columns, in any
order, among `{CSV_HEADER}`; `rollover` is `true` or `false` (empty: false).
Events `reading.accepted` and `reading.rejected` follow for the readings stored valid and those rejected."""

_NAMES = "(?:" + "|".join(CSV_COLUMNS) + ")"
# What can be read at all: a first line naming known columns (comma- or semicolon-separated), then at least one line
# that is not blank. A line that does not fit the first is answered as a rejected reading, not refused.
CSV_PATTERN = (rf"^\ufeff?(?:{_NAMES}(?:,{_NAMES})*|{_NAMES}(?:;{_NAMES})+)"
               r"(?:\r?\n[^\r\n\x00]*)*\r?\n[^\r\n\x00]*[^\s\x00][^\r\n\x00]*(?:\r?\n[^\r\n\x00]*)*$")
CSV_SCHEMA = {"schema": {"type": "string", "pattern": CSV_PATTERN,
                         "description": f"Header line then one reading per line: {CSV_HEADER}"},
              "example": f"{CSV_HEADER}\nPDL00000000012,,TOTAL,2026-11-21,12345.678,smart_meter,false,r-1\n"}


@operation("POST", "/readings/batch", scope="readings:write", response=BatchResult, body=BatchSent,
           extra_content={CSV: CSV_SCHEMA}, tags=["Readings"], summary="Send up to 10,000 meter readings",
           description=DESCRIPTION, errors=(400, 413, 415, 422), idempotent=True, bulk=True)
def readings_batch(*, body: BatchSent | None = None):
    readings = _from_json(body) if body is not None else _from_csv(request.get_data(cache=True))
    factor = tenant_plausibility_factor(g.tenant, current_app.config.get("READING_PLAUSIBILITY_FACTOR"))
    result = batch_service.ingest_batch(readings=readings, today=tenant_today(), now=utcnow(),
                                        plausibility_factor=factor)
    # The answer as built here is BatchResult's shape (the schema tests check it): validating 10,000 rows of our
    # own making again would cost more than judging them.
    return {"totals": result.totals, "readings": [_result(o) for o in result.outcomes]}


def _from_json(body: BatchSent) -> list[RawReading]:
    return [RawReading(r.point, r.meter, r.register_code, r.read_on, _value_text(r.value), r.source, r.rollover,
                       r.external_id) for r in body.readings]


def _value_text(value) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value)
    text = repr(value)
    return text if "e" not in text and "inf" not in text and "nan" not in text else format(value, "f")


def _csv_problem(message: str, **details) -> ApiError:
    return ApiError(422, "invalid_csv", message, details=details or None)


def _from_csv(raw: bytes) -> list[RawReading]:
    """The readings of a CSV body. Refused whole (422) only when it cannot be read at all: not UTF-8, a first line
    naming no known column, no reading, more than MAX_BATCH; a line that does not fit its header is a rejected
    reading like any other."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise _csv_problem(_("The CSV file must be encoded in UTF-8.")) from exc
    first = text.split("\n", 1)[0]
    delimiter = ";" if first.count(";") > first.count(",") else ","
    try:
        rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    except csv.Error as exc:
        raise _csv_problem(_("The first line must name the columns, among: %(columns)s.", columns=CSV_HEADER),
                           expected=list(CSV_COLUMNS)) from exc
    header = [name.strip().lower() for name in rows[0]] if rows else []
    unknown = [name for name in header if name not in CSV_COLUMNS]
    if not header or unknown:
        raise _csv_problem(_("The first line must name the columns, among: %(columns)s.", columns=CSV_HEADER),
                           unknown=unknown, expected=list(CSV_COLUMNS))
    where = {name: header.index(name) if name in header else None for name in CSV_COLUMNS}
    width = len(header)
    readings = []
    for line, row in enumerate(rows[1:], start=2):
        if not row:  # a blank line
            continue
        if len(readings) >= MAX_BATCH:
            raise ApiError(422, "invalid_request",
                           _("A batch holds at most %(count)s readings.", count=f"{MAX_BATCH:,}"),
                           details=[{"field": "body.readings", "problem": "too_long",
                                     "message": f"at most {MAX_BATCH} readings"}])
        if len(row) != width:
            readings.append(RawReading(problem="invalid_line",
                                       problem_details=(("line", line), ("found", len(row)), ("expected", width))))
            continue
        cell = {name: (row[index].strip() or None) if index is not None else None for name, index in where.items()}
        rollover = (cell["rollover"] or "").lower()
        problem = None if rollover in _TRUE or rollover in _FALSE else "invalid_rollover"
        readings.append(RawReading(cell["point"], cell["meter"], cell["register"], cell["read_on"], cell["value"],
                                   cell["source"], rollover in _TRUE, cell["external_id"], problem,
                                   (("line", line),)))
    if not readings:
        raise _csv_problem(_("The CSV file has no reading under its first line."))
    return readings


def _q(value) -> str | None:
    return None if value is None else f"{value:.3f}"


def _result(outcome: Outcome) -> dict:
    return {
        "position": outcome.position,
        "external_id": outcome.raw.external_id,
        "status": outcome.status,
        "already_stored": outcome.already_stored,
        "point": outcome.point,
        "meter": outcome.meter,
        "register": outcome.register,
        "read_on": outcome.read_on.isoformat() if isinstance(outcome.read_on, date) else None,
        "value": _q(outcome.value),
        "consumption": _q(outcome.consumption),
        "expected": _q(outcome.expected),
        "reason": outcome.reason,
        "message": reason_message(outcome),
    }


def reason_message(outcome: Outcome) -> str | None:
    """Why a reading was rejected or is to be checked, in the caller's language (the portal's and back office's
    wording where they say the same)."""
    status, reason, details = outcome.status, outcome.reason, outcome.details
    if status == TO_CHECK:
        if outcome.already_stored:
            return _("This reading is already stored and waits for staff to check it.")
        unit = UNIT_LABELS.get(outcome.unit, outcome.unit or "")
        return _("This index means %(consumption)s used, far from the %(expected)s or so expected (accepted "
                 "between %(low)s and %(high)s): staff will check it.",
                 consumption=quantity(outcome.consumption, unit), expected=quantity(outcome.expected, unit),
                 low=quantity(outcome.low, unit), high=quantity(outcome.high, unit))
    if status != REJECTED:
        return None
    unit = UNIT_LABELS.get(outcome.unit, outcome.unit or "")
    simple = {
        "invalid_line": lambda: _("Line %(line)s has %(found)s fields, the first line %(expected)s.",
                                  line=details["line"], found=details["found"], expected=details["expected"]),
        "invalid_rollover": lambda: _("Line %(line)s: rollover must be true or false.", line=details["line"]),
        "missing_identifier": lambda: _("Give the point of delivery (point) or the meter's serial number (meter)."),
        "invalid_date": lambda: _("Enter a date as YYYY-MM-DD."),
        "invalid_source": lambda: _("The source must be one of: %(sources)s.", sources="smart_meter, agent, customer"),
        "not_a_number": lambda: str(NOT_A_NUMBER),
        "future": lambda: _("The date cannot be in the future."),
        "too_old": lambda: _("The date is more than 60 days ago."),
        "unknown_point": lambda: _("No point of delivery has this identifier."),
        "unknown_meter": lambda: _("No meter has this serial number."),
        "meter_mismatch": lambda: _("The meter in service at this point of delivery on that date is %(serial)s.",
                                    serial=details["serial"]),
        "not_in_service": lambda: (
            _("No meter is installed at this point of delivery on that date.") if outcome.raw.point else
            _("This meter is not installed at a point of delivery on that date.")),
        "register_required": lambda: _("This meter has several registers (%(registers)s): give the register.",
                                       registers=", ".join(details["registers"])),
        "unknown_register": lambda: _("This meter has no register %(register)s (it has %(registers)s).",
                                      register=outcome.register, registers=", ".join(details["registers"])),
        "duplicate_in_batch": lambda: _("The batch already has a reading of this register on this date (position "
                                        "%(position)s).", position=details["position"]),
        "conflict": lambda: _("Another index (%(value)s) is already stored for this register on this date.",
                              value=quantity(details["value"], unit)),
        "later_reading": lambda: _("The meter has a reading dated %(date)s, after this date.",
                                   date=format_day(details["date"])),
        "too_many_digits": lambda: _("The meter shows at most %(digits)s digits before the decimal point.",
                                     digits=details["digits"]),
        "lower_than_previous": lambda: _("This index is lower than the previous one (%(previous)s). If the meter "
                                         "went back to zero, send the reading with rollover set to true.",
                                         previous=quantity(details["previous"], unit)),
        "rollover_not_possible": lambda: _("A meter with %(digits)s digits cannot reach this index from "
                                           "%(previous)s by going back to zero.", digits=details["digits"],
                                           previous=quantity(details["previous"], unit)),
    }
    return simple[reason]()
