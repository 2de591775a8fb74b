"""Request categories in words, for both faces: customers choose one when they open a request, staff file and filter
requests by them (codes in domain/requests/categories.py)."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

CATEGORY_NAMES = {
    "complaint.bill": _l("Bill"), "complaint.payment": _l("Payment"), "complaint.reading": _l("Meter reading"),
    "complaint.supply": _l("Supply interruption"), "complaint.service": _l("Quality of service"),
    "meter_problem.damaged": _l("Damaged meter"), "meter_problem.display": _l("Display cannot be read"),
    "meter_problem.seal": _l("Broken seal"),
    "intervention.connection": _l("Connection"), "intervention.disconnection": _l("Disconnection"),
    "intervention.inspection": _l("Inspection"),
    "offer_change.tariff": _l("Change of tariff"), "offer_change.power": _l("Change of subscribed power"),
    "move_in.new_supply": _l("New supply"), "move_in.takeover": _l("Taking over a supply"),
    "move_out.final_bill": _l("Final bill"), "move_out.keep_supply": _l("Supply kept for the next occupant"),
    "other.information": _l("Information"), "other.documents": _l("Documents"),
}


def category_name(kind: str, category: str | None) -> str:
    if not category:
        return ""
    name = CATEGORY_NAMES.get(f"{kind}.{category}")
    return str(name) if name is not None else category
