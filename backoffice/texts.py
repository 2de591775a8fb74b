"""Texts the product stores in English (task titles, work-group names, billing-exception details), worded again
at display time in the staff member's language from their code and values. Unknown ones show what is stored."""
from __future__ import annotations

import re
from datetime import date
from decimal import Decimal, InvalidOperation

from babel.numbers import format_decimal
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext

from app.i18n import EXCEPTION_NAMES, format_day, format_locale

# The groups the product creates (tenants.services.DEFAULT_WORK_GROUPS and the processes that re-create them).
# A tenant that named a group itself keeps its name: only the product's own English name is translated.
# A context: "Collections" here is the team that recovers debts, not the direct-debit collections of the menus.
WORK_GROUP_NAMES = {
    "front_office": ("Front office", lazy_pgettext("work group", "Front office")),
    "billing": ("Billing", lazy_pgettext("work group", "Billing")),
    "collections": ("Collections", lazy_pgettext("work group", "Collections")),
    "metering": ("Metering", lazy_pgettext("work group", "Metering")),
    "supervisors": ("Supervisors", lazy_pgettext("work group", "Supervisors")),  # escalated requests
}

# Why a budget-billing true-up failed (domain.billing.down_payments.PlanRefused codes), beside the engine's codes.
TRUE_UP_PROBLEMS = {"engine": _l("The true-up cannot be computed"), "estimate": _l("No estimate of the consumption"),
                    "state": _l("The plan is not active")}

# Titles stored before tasks kept their values (migration 0008): the values are read back from the English title.
_LEGACY_TITLES = {
    "access_closure": re.compile(r"Close the online access of (?P<email>.+)"),
    "reading_check": re.compile(r"Check reading of meter (?P<meter>.+) \((?P<day>\d{4}-\d{2}-\d{2})\)"),
    "billing_exception": re.compile(
        r"Billing run (?P<run_date>\d{4}-\d{2}-\d{2}): (?P<code>\w+) on contract (?P<contract>.+)"
        r"|Budget billing true-up on (?P<true_up_on>\d{4}-\d{2}-\d{2}): (?P<true_up_code>\w+)"),
}


def work_group_name(group) -> str:
    """The group's name in the staff member's language when it is the product's own, else as the tenant named it."""
    known = WORK_GROUP_NAMES.get(group.code)
    if known is not None and group.name == known[0]:
        return str(known[1])
    return group.name


def _problem_name(code: str) -> str:
    name = EXCEPTION_NAMES.get(code) or TRUE_UP_PROBLEMS.get(code)
    return str(name) if name is not None else code


def _day(value) -> str:
    if isinstance(value, str):
        value = date.fromisoformat(value)
    return format_day(value, "medium")


def task_title(task) -> str:
    """The task's title in the staff member's language, from its kind and values; the stored title otherwise."""
    params = task.params
    if not params:
        legacy = _LEGACY_TITLES.get(task.kind)
        match = legacy.fullmatch(task.title) if legacy is not None else None
        if match is None:
            return task.title
        params = {key: value for key, value in match.groupdict().items() if value is not None}
        if "true_up_code" in params:
            params["code"] = params.pop("true_up_code")
    try:
        if task.kind == "access_closure":
            return _("Close the online access of %(email)s", email=params["email"])
        if task.kind == "dunning_formal_notice":
            return _("Formal notice sent for bill %(bill)s (customer %(account)s): decide what follows",
                     bill=params["bill"], account=params["account"])
        if task.kind == "reading_check":
            return _("Check the reading of meter %(meter)s (%(date)s)", meter=params["meter"],
                     date=_day(params["day"]))
        if task.kind == "billing_exception" and "run_date" in params:
            return _("Billing run of %(date)s: %(problem)s on contract %(contract)s", date=_day(params["run_date"]),
                     problem=_problem_name(params["code"]), contract=params["contract"])
        if task.kind == "request_escalation":
            return _("Escalated request %(reference)s: %(subject)s", reference=params["reference"],
                     subject=params["subject"])
        if task.kind == "billing_exception" and "true_up_on" in params:
            return _("Budget billing true-up of %(date)s: %(problem)s", date=_day(params["true_up_on"]),
                     problem=_problem_name(params["code"]))
    except (KeyError, TypeError, ValueError):
        pass  # values of another shape than this version knows: the stored title still says it
    return task.title


# --- billing exceptions ----------------------------------------------------------------------------------------------

_DATES = ("start", "end", "day", "since", "installed_on")
_QUANTITIES = ("quantity", "expected", "low", "high", "factor")

DETAILS = {
    "no_tariff": lambda p: _("No tariff is in force from %(start)s to %(end)s.", **p),
    "overlapping_tariffs": lambda p: _("Two tariffs are in force from %(start)s to %(end)s.", **p),
    "rollover_implausible": lambda p: _("Register %(register)s: the index went down; read as a rollover, "
                                        "%(quantity)s would be implausible.", **p),
    "implausible": lambda p: _("Register %(register)s: %(quantity)s is more than %(factor)s times the expected "
                               "%(expected)s.", **p),
    "contract_runs": lambda p: (_("The contract runs from %(start)s to %(end)s.", **p) if p.get("end")
                                else _("The contract runs from %(start)s.", start=p["start"])),
    "prior_charges_needed": lambda p: _("The bill regularises the consumption since %(since)s: the lines of the "
                                        "estimated bills are needed.", **p),
    "meter_without_register": lambda p: _("Meter %(meter)s has no register to read.", **p),
    "meter_units": lambda p: _("Meters in %(unit)s and in %(other_unit)s in the period.", **p),
    "calorific_value": lambda p: _("Gas needs a calorific value to be billed in kWh."),
    "unpriced_register": lambda p: _("Tariff %(tariff)s prices by register, but not register %(register)s.", **p),
    "subscribed_power": lambda p: _("Tariff %(tariff)s prices a subscribed power, and the contract has none.", **p),
    "no_meter": lambda p: _("No meter in service between %(start)s and %(end)s.", **p),
    "overlapping_meters": lambda p: _("Meter %(meter)s was installed on %(installed_on)s while another was in "
                                      "service.", **p),
    "index_digits": lambda p: _("An index of meter %(meter)s between %(start)s and %(end)s does not fit its "
                                "%(digits)s digits (%(low)s, %(high)s).", **p),
    "index_went_down": lambda p: _("The index of register %(register)s of meter %(meter)s went down from "
                                   "%(low)s to %(high)s.", **p),
    "no_reading": lambda p: _("No reading of register %(register)s of meter %(meter)s on %(day)s, and no way to "
                              "estimate it.", **p),
}


def _formatted(params: dict) -> dict:
    locale = format_locale()
    out = {}
    for key, value in params.items():
        if value is None:
            out[key] = None
        elif key in _DATES:
            out[key] = _day(value)
        elif key in _QUANTITIES:
            out[key] = format_decimal(Decimal(str(value)), format="#,##0.###", locale=locale)
        elif key == "digits":
            out[key] = format_decimal(int(value), locale=locale)
        else:
            out[key] = value
    return out


def exception_detail(exception) -> str:
    """What went wrong, in the staff member's language with the locale's dates and numbers; the stored English
    message for exceptions recorded without values (before migration 0008) or of a kind this version lacks."""
    params = exception.params or {}
    wording = DETAILS.get(params.get("detail"))
    if wording is None:
        return exception.message
    try:
        return wording(_formatted(params))
    except (KeyError, TypeError, ValueError, InvalidOperation):
        return exception.message
