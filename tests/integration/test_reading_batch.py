"""A batch of readings from another system on the database (domain/readings/batch.py): what is stored, the
checks opened, nothing half-written, another tenant's point unknown, a handful of queries whatever the size."""
from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import event, func, select

from domain.db import db
from domain.readings import batch as batch_service
from domain.readings.bulk import RawReading
from domain.readings.models import MeterReading
from domain.sites.models import DeliveryPoint
from domain.tasks.models import Task
from tenants.context import tenant_scope
from tests.factories import (
    ContractFactory,
    DeliveryPointFactory,
    MeterFactory,
    MeterInstallationFactory,
    MeterReadingFactory,
    RegisterFactory,
)
from tests.integration.test_reading_services import ONE_A_DAY, prepare_meter
from tests.webhook_support import documented

TODAY = date(2026, 11, 21)
NOW = datetime(2026, 11, 21, 10, 0, tzinfo=UTC)


def ingest(*readings):
    return batch_service.ingest_batch(readings=[RawReading(**r) for r in readings], today=TODAY, now=NOW)


def stored(serial_or_register_ids) -> list[tuple]:
    rows = db.session.execute(select(MeterReading.read_on, MeterReading.value, MeterReading.status,
                                     MeterReading.source, MeterReading.rollover_confirmed)
                              .where(MeterReading.register_id.in_(serial_or_register_ids))
                              .order_by(MeterReading.read_on, MeterReading.id))
    return [tuple(row) for row in rows]


def point_of(data) -> tuple[str, list[int]]:
    dp = db.session.scalar(select(DeliveryPoint).where(DeliveryPoint.identifier == data.delivery_point_identifier))
    return dp.identifier, [r.id for r in dp.current_meter.registers]


def test_accepted_to_check_and_rejected_readings_are_stored_as_said(ctx, two_tenants):
    a, _b = two_tenants
    with tenant_scope(a.tenant_id):
        serial = prepare_meter(a, readings=ONE_A_DAY)
        identifier, registers = point_of(a)
        db.session.commit()

        result = ingest({"point": identifier, "read_on": "2026-11-11", "value": "475", "external_id": "x1"},
                        {"meter": serial, "read_on": "2026-11-21", "value": "600", "source": "agent"},
                        {"meter": serial, "read_on": "2026-11-20", "value": "400"})
        db.session.commit()

        assert [(o.status, o.reason) for o in result.outcomes] == [
            ("accepted", None), ("to_check", None), ("rejected", "lower_than_previous")]
        assert result.totals == {"received": 3, "accepted": 1, "to_check": 1, "rejected": 1}
        assert stored(registers)[2:] == [(date(2026, 11, 11), Decimal("475.000"), "valid", "smart_meter", False),
                                         (date(2026, 11, 21), Decimal("600.000"), "pending", "agent", False)]
        task = db.session.scalar(select(Task).where(Task.kind == "reading_check", Task.subject_type.is_not(None)))
        pending_id = db.session.scalar(select(MeterReading.id).where(MeterReading.status == "pending"))
        assert (task.subject_type, task.subject_id, task.params) == (
            "meter_reading", pending_id, {"meter": serial, "day": "2026-11-21"})


def test_sending_the_same_batch_again_writes_nothing_more(ctx, two_tenants):
    a, _b = two_tenants
    with tenant_scope(a.tenant_id):
        serial = prepare_meter(a, readings=ONE_A_DAY)
        _identifier, registers = point_of(a)
        readings = ({"meter": serial, "read_on": "2026-11-11", "value": "475"},
                    {"meter": serial, "read_on": "2026-11-21", "value": "600"})
        ingest(*readings)
        db.session.commit()
        before = stored(registers)

        again = ingest(*readings)
        db.session.commit()

        assert [(o.status, o.already_stored) for o in again.outcomes] == [("accepted", True), ("to_check", True)]
        assert stored(registers) == before
        assert db.session.scalar(select(func.count(Task.id)).where(Task.kind == "reading_check",
                                                                   Task.subject_type == "meter_reading")) == 1


def test_another_tenants_point_and_meter_answer_as_unknown_ones(ctx, two_tenants):
    a, b = two_tenants
    with tenant_scope(b.tenant_id):
        serial_b = prepare_meter(b, readings=ONE_A_DAY)
        _identifier, registers_b = point_of(b)
        db.session.commit()
    with tenant_scope(a.tenant_id):
        result = ingest({"point": b.delivery_point_identifier, "read_on": "2026-11-21", "value": "485"},
                        {"meter": serial_b, "read_on": "2026-11-21", "value": "485"},
                        {"point": "NOPE", "read_on": "2026-11-21", "value": "485"},
                        {"meter": "NOPE", "read_on": "2026-11-21", "value": "485"},
                        {"point": "PDL\x00", "read_on": "2026-11-21", "value": "485"},
                        {"meter": "M\x00", "read_on": "2026-11-21", "value": "485"})
        db.session.commit()

    assert [o.reason for o in result.outcomes] == ["unknown_point", "unknown_meter"] * 3
    assert [o.details for o in result.outcomes] == [{}] * 6
    with tenant_scope(b.tenant_id):
        assert len(stored(registers_b)) == 2


def test_a_failure_while_writing_leaves_nothing_written(ctx, two_tenants, monkeypatch):
    a, _b = two_tenants
    with tenant_scope(a.tenant_id):
        serial = prepare_meter(a, readings=ONE_A_DAY)
        _identifier, registers = point_of(a)
        db.session.commit()

        def broken(*args, **kwargs):
            raise RuntimeError("task queue down")

        monkeypatch.setattr(batch_service, "_open_checks", broken)
        with pytest.raises(RuntimeError):
            ingest({"meter": serial, "read_on": "2026-11-11", "value": "475"},
                   {"meter": serial, "read_on": "2026-11-21", "value": "600"})
        db.session.rollback()

        assert len(stored(registers)) == 2


def test_exchanged_meter_and_several_readings_of_a_register_use_the_whole_history(ctx, two_tenants):
    a, _b = two_tenants
    with tenant_scope(a.tenant_id):
        dp = DeliveryPointFactory(activity="water")
        ContractFactory(delivery_point=dp, estimated_annual_consumption=None)
        old = MeterFactory(activity="water", unit="m3", digits=5)
        new = MeterFactory(activity="water", unit="m3", digits=5)
        old_register, new_register = RegisterFactory(meter=old), RegisterFactory(meter=new)
        MeterInstallationFactory(meter=old, delivery_point=dp, installed_on=date(2025, 1, 1),
                                 removed_on=date(2026, 6, 1))
        MeterInstallationFactory(meter=new, delivery_point=dp, installed_on=date(2026, 6, 1))
        for day, value in ((date(2025, 6, 1), "1000"), (date(2026, 6, 1), "1365")):
            MeterReadingFactory(register=old_register, read_on=day, value=Decimal(value), source="agent")
        for day, value in ((date(2026, 6, 1), "0"), (date(2026, 11, 1), "153")):
            MeterReadingFactory(register=new_register, read_on=day, value=Decimal(value), source="agent")
        db.session.commit()

        # 1 m3 a day on the old meter and the new: 10 in 10 days is plausible, 10 in a day is not (and a pending
        # reading is nobody's previous one), 100 in 10 days neither.
        result = ingest({"point": dp.identifier, "read_on": "2026-11-21", "value": "263"},
                        {"point": dp.identifier, "read_on": "2026-11-11", "value": "163"},
                        {"meter": new.serial_number, "read_on": "2026-11-12", "value": "173"})
        db.session.commit()

        assert [(o.status, o.expected) for o in result.outcomes] == [
            ("to_check", Decimal("10.000")), ("accepted", Decimal("10.000")), ("to_check", Decimal("1.000"))]
        assert [(o.meter, o.point) for o in result.outcomes] == [(new.serial_number, dp.identifier)] * 3


def test_a_batch_takes_a_handful_of_statements_whatever_its_size(ctx, two_tenants):
    a, _b = two_tenants
    with tenant_scope(a.tenant_id):
        points = []
        for _ in range(30):
            dp = DeliveryPointFactory(activity="water")
            ContractFactory(delivery_point=dp)
            meter = MeterFactory(activity="water", unit="m3", digits=5)
            register = RegisterFactory(meter=meter)
            MeterInstallationFactory(meter=meter, delivery_point=dp, installed_on=date(2025, 1, 1))
            for day, value, source in ONE_A_DAY:
                MeterReadingFactory(register=register, read_on=day, value=Decimal(value), source=source)
            points.append(dp.identifier)
        db.session.commit()

        def count(size):
            statements = []
            listener = lambda *args: statements.append(args[2])  # noqa: E731
            event.listen(db.engine, "before_cursor_execute", listener)
            try:
                result = ingest(*({"point": p, "read_on": "2026-11-21", "value": "485"} for p in points[:size]))
            finally:
                event.remove(db.engine, "before_cursor_execute", listener)
            db.session.rollback()
            assert result.totals["accepted"] == size
            return len(statements)

        assert count(3) == count(30) <= 10


def test_a_history_whose_index_went_round_is_weighed_on_every_reading_as_the_portal_does(ctx, two_tenants):
    from domain.billing.engine.model import MeterIn, ReadingIn
    from domain.readings.validation import expected_consumption

    a, _b = two_tenants
    history = [(date(2025, 11, 1), "99800"), (date(2026, 5, 1), "82"), (date(2026, 11, 1), "265")]
    with tenant_scope(a.tenant_id):
        serial = prepare_meter(a, digits=5, readings=[(day, value, "agent") for day, value in history])
        db.session.commit()

        result = ingest({"meter": serial, "read_on": "2026-11-21", "value": "290"})

        # The engine's own expectation over the whole history (the dial went round in May): not the
        # (265 - 99800) a summary of the span's ends would give.
        meter = MeterIn(serial, 5, Decimal(1), "m3", date(2024, 1, 1))
        readings = tuple(ReadingIn("TOTAL", day, Decimal(value), False, serial) for day, value in history)
        expected = expected_consumption(activity="water", meters=(meter,), readings=readings, register_code="TOTAL",
                                        share=1, since=date(2026, 11, 1), day=TODAY,
                                        estimated_annual_consumption=None)
        (outcome,) = result.outcomes
        assert expected is not None and expected > 0
        assert (outcome.status, outcome.expected, outcome.consumption) == ("accepted", expected, Decimal("25.000"))


def test_a_batch_publishes_its_accepted_and_rejected_readings_only_to_listeners(ctx, two_tenants):
    import json

    from domain.webhooks.models import WebhookEvent
    from tests.factories import make_webhook_subscription

    a, _b = two_tenants
    with tenant_scope(a.tenant_id):
        serial = prepare_meter(a, readings=ONE_A_DAY)
        db.session.commit()
        ingest({"meter": serial, "read_on": "2026-11-10", "value": "465"})
        db.session.commit()
        assert db.session.scalar(select(func.count(WebhookEvent.id))) == 0  # nobody listens: nothing recorded

        make_webhook_subscription(url="https://hooks.example.invalid/in",
                                  event_types=("reading.accepted", "reading.rejected"))
        db.session.commit()
        ingest({"meter": serial, "read_on": "2026-11-11", "value": "475", "external_id": "x1"},
               {"meter": serial, "read_on": "2026-11-21", "value": "600"},
               {"meter": serial, "read_on": "2026-11-20", "value": "400", "external_id": "x3"})
        db.session.commit()

        events = {e.event_type: documented(e.event_type, json.loads(e.payload))
                  for e in db.session.scalars(select(WebhookEvent))}
        assert set(events) == {"reading.accepted", "reading.rejected"}  # the one to check waits for staff
        accepted, rejected = events["reading.accepted"], events["reading.rejected"]
        assert (accepted["external_id"], accepted["value"], accepted["status"]) == ("x1", "475.000", "accepted")
        assert (accepted["meter"], accepted["read_on"], accepted["reason"]) == (serial, "2026-11-11", None)
        assert accepted["point"] == db.session.scalar(select(DeliveryPoint.identifier))
        assert (rejected["external_id"], rejected["status"], rejected["reason"]) == (
            "x3", "rejected", "lower_than_previous")


def test_a_register_with_one_reading_is_weighed_on_its_contracts_annual_estimate(ctx, two_tenants):
    """No history span to average (one actual reading): the contract's annual estimate gives the expectation, as
    in the portal; a history of a year gives it otherwise, whatever the estimate says."""
    a, b = two_tenants
    with tenant_scope(a.tenant_id):
        one = prepare_meter(a, readings=[(date(2026, 11, 1), "100", "agent")], annual=Decimal("3650"))
        db.session.commit()
    with tenant_scope(b.tenant_id):
        year = prepare_meter(b, readings=ONE_A_DAY, annual=Decimal("36500"))
        db.session.commit()

    with tenant_scope(a.tenant_id):
        # 3,650 m3 a year is 10 a day: 200 over the 20 days, accepted between 66.667 and 600.
        (outcome,) = ingest({"meter": one, "read_on": "2026-11-21", "value": "150"}).outcomes
        assert (outcome.status, outcome.expected, outcome.consumption) == ("to_check", Decimal("200.000"),
                                                                           Decimal("50.000"))
        db.session.rollback()
        (outcome,) = ingest({"meter": one, "read_on": "2026-11-21", "value": "290"}).outcomes
        assert (outcome.status, outcome.expected) == ("accepted", Decimal("200.000"))
        db.session.rollback()
    with tenant_scope(b.tenant_id):
        # 365 m3 over the year before: 1 a day, 20 expected (not the estimate's 2,000).
        (outcome,) = ingest({"meter": year, "read_on": "2026-11-21", "value": "485"}).outcomes
        assert (outcome.status, outcome.expected, outcome.consumption) == ("accepted", Decimal("20.000"),
                                                                           Decimal("20.000"))
        db.session.rollback()
