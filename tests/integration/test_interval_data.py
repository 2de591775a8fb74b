"""Interval data stored on the database: a batch of register-days, a day sent again replacing the stored one,
another tenant's point or meter refused as unknown, every problem listed with nothing written."""
from __future__ import annotations

from datetime import date, datetime, UTC
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from domain.db import db
from domain.readings import intervals
from domain.readings.models import IntervalDay
from domain.sites.models import DeliveryPoint
from tenants.context import tenant_scope
from tests.clock import TODAY

NOW = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)


def _serial(data) -> str:
    dp = db.session.scalar(select(DeliveryPoint).where(DeliveryPoint.identifier == data.delivery_point_identifier))
    return dp.current_meter.serial_number


def _day(data, day, value="0.25", count=48, **kw):
    return intervals.IntervalDayIn(point=kw.pop("point", data.delivery_point_identifier), register_code="TOTAL",
                                   day=day, values=(Decimal(value),) * count, **kw)


def _store(days, source="smart_meter"):
    return intervals.store_interval_days(days=days, source=source, zone="Europe/Paris", today=TODAY, now=NOW)


def test_stores_days_by_point_or_by_meter_with_exact_totals(ctx, two_tenants):
    a, _b = two_tenants
    with tenant_scope(a.tenant_id):
        serial = _serial(a)

        stored = _store([_day(a, date(2026, 11, 20), "0.125"),
                         intervals.IntervalDayIn(meter=serial.lower(), register_code="total", day=date(2026, 10, 25),
                                                 values=(Decimal("0.333"),) * 50)])
        db.session.commit()

        assert [(s.day, s.total, s.interval_count, s.replaced, s.meter) for s in stored] == [
            (date(2026, 11, 20), Decimal("6.000"), 48, False, serial),
            (date(2026, 10, 25), Decimal("16.650"), 50, False, serial)]
        register_id = db.session.scalar(select(IntervalDay.register_id))
        assert intervals.day_values(register_id=register_id, day=date(2026, 10, 25)) == (Decimal("0.333"),) * 50


def test_sending_a_day_again_replaces_it(ctx, two_tenants):
    a, _b = two_tenants
    with tenant_scope(a.tenant_id):
        _store([_day(a, date(2026, 11, 20), "0.5")])
        db.session.commit()

        again = _store([_day(a, date(2026, 11, 20), "0.25")], source="estimated")
        db.session.commit()

        row = db.session.scalar(select(IntervalDay))
        assert again[0].replaced is True and again[0].total == Decimal("12.000")
        assert db.session.scalar(select(func.count(IntervalDay.id))) == 1
        assert (row.total, row.source) == (Decimal("12.000"), "estimated")


def test_another_tenants_point_or_meter_is_unknown_and_nothing_is_written(ctx, two_tenants):
    a, b = two_tenants
    with tenant_scope(b.tenant_id):
        b_serial = _serial(b)
    with tenant_scope(a.tenant_id):
        with pytest.raises(intervals.UnknownReference) as refused:
            _store([_day(a, date(2026, 11, 20)), _day(a, date(2026, 11, 21), point=b.delivery_point_identifier),
                    intervals.IntervalDayIn(meter=b_serial, register_code="TOTAL", day=date(2026, 11, 21),
                                            values=(Decimal(1),) * 48)])
        db.session.rollback()

        assert refused.value.unknown == [(1, "point", b.delivery_point_identifier), (2, "meter", b_serial)]
        assert db.session.scalar(select(func.count(IntervalDay.id))) == 0
    with tenant_scope(b.tenant_id):
        assert db.session.scalar(select(func.count(IntervalDay.id))) == 0


def test_every_problem_of_every_day_is_listed_and_nothing_written(ctx, two_tenants):
    a, _b = two_tenants
    with tenant_scope(a.tenant_id):
        with pytest.raises(intervals.IntervalDataRefused) as refused:
            _store([_day(a, date(2026, 11, 20)),                       # fine
                    _day(a, date(2026, 3, 29), count=48),              # clocks went forward: 46
                    _day(a, date(2023, 12, 1)),                        # before the meter was installed
                    _day(a, date(2026, 11, 20)),                       # twice
                    _day(a, TODAY, value="-1")])                       # not over (nothing else said)
        db.session.rollback()

        assert [(p.index, p.code) for p in refused.value.problems] == [
            (1, "interval_count"), (2, "no_meter_on_day"), (3, "duplicate"), (4, "day_not_over")]
        assert db.session.scalar(select(func.count(IntervalDay.id))) == 0


def test_a_register_the_meter_does_not_have_is_refused(ctx, two_tenants):
    a, _b = two_tenants
    with tenant_scope(a.tenant_id):
        item = intervals.IntervalDayIn(point=a.delivery_point_identifier, register_code="PEAK", day=date(2026, 11, 20),
                                       values=(Decimal(1),) * 48)

        with pytest.raises(intervals.IntervalDataRefused) as refused:
            _store([item])

        assert [(p.code, p.details) for p in refused.value.problems] == [("unknown_register", {"registers": ["TOTAL"]})]
