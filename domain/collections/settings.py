"""A tenant's dunning levels and arrangement limits: the platform's defaults until its administrator saves its own."""
from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from sqlalchemy import select

from domain.collections.models import DunningLevel, DunningSettings
from domain.collections.rules import DEFAULT_LEVELS, DEFAULT_LIMITS, Level, Limits, ScheduleRefused, check_levels
from domain.db import db


def current_levels() -> list[Level]:
    rows = list(db.session.scalars(select(DunningLevel).order_by(DunningLevel.position)))
    if not rows:
        return list(DEFAULT_LEVELS)
    return [Level(r.position, r.delay_days, Decimal(r.fee).quantize(Decimal("0.01")), r.channel) for r in rows]


def current_limits() -> Limits:
    row = db.session.scalar(select(DunningSettings))
    if row is None:
        return DEFAULT_LIMITS
    return Limits(portal_arrangements=row.portal_arrangements, max_instalments=row.max_instalments,
                  max_days=row.max_days, min_instalment=Decimal(row.min_instalment).quantize(Decimal("0.01")),
                  grace_days=row.grace_days)


LIMIT_RANGES = {"max_instalments": (2, 24), "max_days": (7, 730), "grace_days": (0, 60)}


def check_limits(limits: Limits) -> None:
    for name, (low, high) in LIMIT_RANGES.items():
        if not low <= getattr(limits, name) <= high:
            raise ScheduleRefused("limit_range", field=name, low=low, high=high)
    if limits.min_instalment < 0 or limits.min_instalment > Decimal("10000") or \
            limits.min_instalment != limits.min_instalment.quantize(Decimal("0.01")):
        raise ScheduleRefused("limit_range", field="min_instalment", low=0, high=10000)


def save_settings(*, levels: Sequence[Level], limits: Limits) -> bool:
    """Store the tenant's levels and limits (checked first: LevelsRefused / ScheduleRefused, nothing written);
    True when something changed. Steps already taken stay as they were."""
    check_levels(levels)
    check_limits(limits)
    changed = False
    existing = {r.position: r for r in db.session.scalars(select(DunningLevel))}
    for level in levels:
        row = existing.get(level.position)
        if row is None:
            db.session.add(DunningLevel(position=level.position, delay_days=level.delay_days, fee=level.fee,
                                        channel=level.channel))
            changed = True
        elif (row.delay_days, Decimal(row.fee), row.channel) != (level.delay_days, level.fee, level.channel):
            row.delay_days, row.fee, row.channel = level.delay_days, level.fee, level.channel
            changed = True
    row = db.session.scalar(select(DunningSettings))
    values = dict(portal_arrangements=limits.portal_arrangements, max_instalments=limits.max_instalments,
                  max_days=limits.max_days, min_instalment=limits.min_instalment, grace_days=limits.grace_days)
    if row is None:
        db.session.add(DunningSettings(**values))
        changed = True
    else:
        for key, value in values.items():
            current = getattr(row, key)
            if (Decimal(current) if key == "min_instalment" else current) != value:
                setattr(row, key, value)
                changed = True
    db.session.flush()
    return changed
