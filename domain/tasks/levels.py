"""Service levels: how long a kind of task or a category of request may wait, the product's defaults and a tenant's
own (table `service_levels`), and the due date they give."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select

from domain import deadlines
from domain.db import db
from domain.tasks.models import ServiceLevel


@dataclass(frozen=True)
class Level:
    amount: int
    unit: str  # hours, days, working_days


# Task kinds the product creates, with their default level. A service request's task follows the request's own
# answer date (its category's level), so it has none here; a kind not listed gets GENERIC.
TASK_LEVELS: dict[str, Level] = {
    "reading_check": Level(5, "working_days"),
    "billing_exception": Level(2, "working_days"),
    "access_closure": Level(30, "days"),  # the answer the customer is promised
    "request_escalation": Level(4, "hours"),
}
GENERIC = Level(5, "working_days")
MAX_AMOUNT = {"hours": 720, "days": 365, "working_days": 260}


class LevelRefused(ValueError):
    def __init__(self, code: str, key: str):
        super().__init__(f"{key}: {code}")
        self.code = code
        self.key = key


def _own(scope: str) -> dict[str, Level]:
    rows = db.session.scalars(select(ServiceLevel).where(ServiceLevel.scope == scope))
    return {row.code: Level(row.amount, row.unit) for row in rows}


def task_levels() -> dict[str, Level]:
    """Every known task kind's level for the current tenant (its own, else the default)."""
    own = _own("task")
    return {kind: own.get(kind, default) for kind, default in TASK_LEVELS.items()}


def task_level(kind: str) -> Level:
    row = db.session.scalar(select(ServiceLevel).where(ServiceLevel.scope == "task", ServiceLevel.code == kind))
    if row is not None:
        return Level(row.amount, row.unit)
    return TASK_LEVELS.get(kind, GENERIC)


def request_level(code: str, *, default_days: int) -> Level:
    """The level of a request category (`<kind>.<category>`): the tenant's, else the category's default, else the
    tenant's general answer time in working days."""
    from domain.requests.categories import default_days as category_days

    row = db.session.scalar(select(ServiceLevel).where(ServiceLevel.scope == "request", ServiceLevel.code == code))
    if row is not None:
        return Level(row.amount, row.unit)
    days = category_days(code)
    return Level(days if days is not None else default_days, "working_days")


def request_levels(*, default_days: int) -> dict[str, Level]:
    from domain.requests.categories import all_codes, default_days as category_days

    own = _own("request")
    return {code: own.get(code, Level(category_days(code) or default_days, "working_days")) for code in all_codes()}


def due_at(level: Level, *, start: datetime, zone: ZoneInfo) -> datetime:
    return deadlines.due_at(start=start, amount=level.amount, unit=level.unit, zone=zone)


def save_levels(*, scope: str, levels: dict[str, Level]) -> int:
    """Store the tenant's levels of `scope` (every key given); a level equal to the default is stored too, so a
    later change of the product's default does not move the tenant's promise. Returns how many changed."""
    for key, level in levels.items():
        if level.unit not in deadlines.UNITS:
            raise LevelRefused("unit", key)
        if not 1 <= level.amount <= MAX_AMOUNT[level.unit]:
            raise LevelRefused("range", key)
    rows = {row.code: row for row in db.session.scalars(select(ServiceLevel).where(ServiceLevel.scope == scope))}
    changed = 0
    for key, level in levels.items():
        row = rows.get(key)
        if row is None:
            db.session.add(ServiceLevel(scope=scope, code=key, amount=level.amount, unit=level.unit))
            changed += 1
        elif (row.amount, row.unit) != (level.amount, level.unit):
            row.amount, row.unit = level.amount, level.unit
            changed += 1
    db.session.flush()
    return changed
