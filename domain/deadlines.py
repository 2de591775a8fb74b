"""Due dates from a service level (pure): N hours, N calendar days or N working days after a moment.

Working days are Monday to Friday (public holidays are not known to the platform, so they count as working days);
a deadline in working days ends at the end of that day in the tenant's time zone.
"""
from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

UNITS = ("hours", "days", "working_days")
UTC = ZoneInfo("UTC")


def add_working_days(start: date, days: int) -> date:
    """The date `days` working days (Monday to Friday) after `start`."""
    current, left = start, max(0, days)
    while left:
        current += timedelta(days=1)
        if current.weekday() < 5:
            left -= 1
    return current


def end_of_day(day: date, zone: ZoneInfo) -> datetime:
    """The last microsecond of `day` in `zone`, in UTC."""
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone).astimezone(UTC) - timedelta(microseconds=1)


def due_at(*, start: datetime, amount: int, unit: str, zone: ZoneInfo) -> datetime:
    """When something started at `start` is due under a level of `amount` `unit`s."""
    if unit == "hours":
        return start + timedelta(hours=amount)
    if unit == "days":
        return start + timedelta(days=amount)
    if unit == "working_days":
        return end_of_day(add_working_days(start.astimezone(zone).date(), amount), zone)
    raise ValueError(f"unknown unit {unit!r}")
