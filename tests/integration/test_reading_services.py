"""Self-reading services on the database: statuses, the staff task, nothing stored on error, photos per tenant."""
from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import delete, func, select

from domain.contracts.models import CustomerAccount
from domain.db import db
from domain.identity.models import CustomerUser
from domain.readings import services
from domain.readings.models import MeterReading
from domain.readings.services import MeterNotFound, ReadingRefused
from domain.sites.models import Register
from domain.storage import storage
from domain.tasks.models import Task, WorkGroup
from tenants.context import tenant_scope
from tenants.models import Tenant
from tests.factories import MeterReadingFactory, RegisterFactory

TODAY = date(2026, 11, 21)
NOW = datetime(2026, 11, 21, 10, 0, tzinfo=UTC)
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
GIF = b"GIF89a" + b"\x00" * 64


def prepare_meter(data, *, activity="water", digits=6, readings=(), codes=None, annual=None, start=None,
                  billed_until=None):
    """Make the customer's meter of `data` a fresh one: activity, digits, registers, readings
    [(day, value, source[, status])], annual estimate. Call inside the tenant's scope; returns the serial."""
    account = db.session.scalar(select(CustomerAccount).where(CustomerAccount.account_number == data.account_number))
    contract = account.contracts[0]
    dp = contract.delivery_point
    meter = dp.current_meter
    dp.activity = meter.activity = activity
    meter.unit = "m3" if activity in ("water", "gas") else "kWh"
    meter.digits = digits
    contract.estimated_annual_consumption = annual
    contract.billed_until = billed_until
    if start is not None:
        contract.start_date = start
        for inst in dp.installations:
            inst.installed_on = start
    register_ids = [r.id for r in meter.registers]
    db.session.execute(delete(MeterReading).where(MeterReading.register_id.in_(register_ids)))
    registers = {r.code: r for r in meter.registers}
    for code in codes or ():
        if code not in registers:
            registers[code] = RegisterFactory(meter=meter, code=code, label=code.title())
    if codes:
        for code in list(registers):
            if code not in codes:
                db.session.delete(registers.pop(code))
    for row in readings:
        day, value, source, *rest = row
        code = rest[1] if len(rest) > 1 else next(iter(registers))
        MeterReadingFactory(register=registers[code], read_on=day, value=Decimal(value), source=source,
                            status=rest[0] if rest else "valid")
    db.session.flush()
    db.session.expire_all()
    return meter.serial_number


def customer_id(data) -> int:
    return db.session.scalar(select(CustomerUser.id).where(CustomerUser.email == data.customer_email))


def tenant_of(data) -> Tenant:
    from tenants.context import platform_scope

    with platform_scope("test: tenant settings"):
        return db.session.get(Tenant, data.tenant_id)


def submit(data, serial, value, *, rollover=False, photo=None, today=TODAY, values=None):
    return services.submit_reading(
        customer_user_id=customer_id(data), serial=serial, values=values or {"TOTAL": Decimal(value)},
        rollover_confirmed=rollover, photo=photo, tenant=tenant_of(data), today=today, now=NOW,
    )


# A water meter read at 1 m3 a day for a year: 20 m3 expected between 1 and 21 November.
ONE_A_DAY = [(date(2025, 11, 1), "100", "agent"), (date(2026, 11, 1), "465", "agent")]


def _files() -> set[Path]:
    return {path for path in Path(storage().root).rglob("*") if path.is_file()}


def _count(model, *where) -> int:
    return db.session.scalar(select(func.count(model.id)).where(*where))


def test_plausible_reading_is_valid_and_opens_no_task(ctx, two_tenants):
    a, _b = two_tenants
    with tenant_scope(a.tenant_id):
        serial = prepare_meter(a, readings=ONE_A_DAY)
        tasks_before = _count(Task, Task.kind == "reading_check")

        submission = submit(a, serial, "485")

        outcome = submission.outcomes[0]
        assert (outcome.reading.status, outcome.check.consumption, outcome.expected) == (
            "valid", Decimal("20.000"), Decimal("20.000"))
        assert outcome.reading.source == "customer" and outcome.reading.read_on == TODAY
        assert submission.task is None
        assert _count(Task, Task.kind == "reading_check") == tasks_before


def test_reading_far_from_expected_is_pending_with_a_task_for_the_metering_team(ctx, two_tenants):
    a, _b = two_tenants
    with tenant_scope(a.tenant_id):
        serial = prepare_meter(a, readings=ONE_A_DAY)
        db.session.execute(delete(WorkGroup).where(WorkGroup.code == "metering"))  # created again when missing

        submission = submit(a, serial, "526")  # 61 m3 where 20 were expected: above 3 x 20

        reading = submission.outcomes[0].reading
        assert reading.status == "pending"
        task = db.session.scalar(select(Task).where(Task.subject_type == "meter_reading",
                                                    Task.subject_id == reading.id))
        assert task.kind == "reading_check" and task.status == "open"
        assert task.work_group.code == "metering"
        assert "given index 526" in task.details and "consumption 61.000" in task.details
        assert "expected 20.000" in task.details and "between 6.667 and 60.000" in task.details


def test_reading_below_a_third_of_expected_is_pending(ctx, two_tenants):
    a, _b = two_tenants
    with tenant_scope(a.tenant_id):
        serial = prepare_meter(a, readings=ONE_A_DAY)

        submission = submit(a, serial, "471")  # 6 m3 < 20 / 3

        assert submission.outcomes[0].reading.status == "pending"
        assert submission.task is not None


def test_lower_reading_is_refused_and_nothing_is_stored(ctx, two_tenants):
    a, _b = two_tenants
    with tenant_scope(a.tenant_id):
        serial = prepare_meter(a, readings=ONE_A_DAY)
        before = _count(MeterReading)
        files_before = _files()

        with pytest.raises(ReadingRefused) as refused:
            submit(a, serial, "400", photo=PNG)

        assert refused.value.problems["TOTAL"].reason == "lower_than_previous"
        assert refused.value.problems["TOTAL"].details["previous"] == Decimal("465.000")
        assert _count(MeterReading) == before
        assert _count(Task, Task.kind == "reading_check", Task.subject_type == "meter_reading") == 0
        assert _files() == files_before


def test_rollover_confirmed_on_a_five_digit_meter_is_accepted(ctx, two_tenants):
    a, _b = two_tenants
    with tenant_scope(a.tenant_id):
        serial = prepare_meter(a, digits=5, readings=[(date(2026, 11, 1), "99850", "agent")])

        submission = submit(a, serial, "120", rollover=True)

        outcome = submission.outcomes[0]
        assert outcome.check.consumption == Decimal("270.000") and outcome.check.rolled_over
        stored = db.session.scalar(select(MeterReading).where(MeterReading.read_on == TODAY))
        assert stored.value == Decimal("120.000") and stored.rollover_confirmed and stored.status == "valid"


def test_rollover_the_dial_cannot_explain_is_refused(ctx, two_tenants):
    a, _b = two_tenants
    with tenant_scope(a.tenant_id):
        serial = prepare_meter(a, digits=5, readings=[(date(2026, 11, 1), "50", "agent")])

        with pytest.raises(ReadingRefused) as refused:
            submit(a, serial, "40", rollover=True)

        assert refused.value.problems["TOTAL"].reason == "rollover_not_possible"
        assert _count(MeterReading, MeterReading.read_on == TODAY) == 0


def test_photo_is_stored_under_the_tenants_prefix(ctx, two_tenants):
    a, b = two_tenants
    with tenant_scope(a.tenant_id):
        serial = prepare_meter(a, readings=ONE_A_DAY)

        submission = submit(a, serial, "485", photo=PNG)

        key = submission.outcomes[0].reading.photo_path
        assert key.startswith(f"tenants/{a.tenant_id}/readings/") and key.endswith("-meter.png")
        assert storage().read(tenant_id=a.tenant_id, key=key) == PNG
        assert not storage().exists(tenant_id=b.tenant_id, key=key)
        data, content_type = services.customer_photo(customer_user_id=customer_id(a),
                                                     token=key.rsplit("/", 1)[1][:32], tenant_id=a.tenant_id)
        assert (data, content_type) == (PNG, "image/png")


def test_photo_that_is_not_an_image_is_refused_whatever_its_name(ctx, two_tenants):
    a, _b = two_tenants
    with tenant_scope(a.tenant_id):
        serial = prepare_meter(a, readings=ONE_A_DAY)

        with pytest.raises(ReadingRefused) as refused:
            submit(a, serial, "485", photo=GIF)

        assert refused.value.problems["photo"].reason == "type"
        assert _count(MeterReading, MeterReading.read_on == TODAY) == 0


def test_second_reading_the_same_day_replaces_the_first_and_cancels_its_task(ctx, two_tenants):
    a, _b = two_tenants
    with tenant_scope(a.tenant_id):
        serial = prepare_meter(a, readings=ONE_A_DAY)
        first = submit(a, serial, "565")  # a typo: 100 m3
        first_task = first.task

        second = submit(a, serial, "485")

        rows = db.session.scalars(select(MeterReading).where(MeterReading.read_on == TODAY)).all()
        assert [(r.value, r.status) for r in rows] == [(Decimal("485.000"), "valid")]
        assert second.replaced and rows[0].id == first.outcomes[0].reading.id
        assert first_task.status == "cancelled"


def test_every_register_is_checked_and_all_are_refused_together(ctx, two_tenants):
    a, _b = two_tenants
    with tenant_scope(a.tenant_id):
        serial = prepare_meter(a, activity="electricity", codes=("PEAK", "OFFPEAK"), readings=[
            (date(2026, 11, 1), "5000", "agent", "valid", "PEAK"),
            (date(2026, 11, 1), "3000", "agent", "valid", "OFFPEAK"),
        ])

        with pytest.raises(ReadingRefused) as refused:
            submit(a, serial, None, values={"PEAK": Decimal("5100")})

        assert refused.value.problems["OFFPEAK"].reason == "missing"
        assert _count(MeterReading, MeterReading.read_on == TODAY) == 0


def test_another_tenants_meter_is_not_found(ctx, two_tenants):
    a, b = two_tenants
    with tenant_scope(b.tenant_id):
        b_serial = prepare_meter(b, readings=ONE_A_DAY)
        db.session.commit()
    with tenant_scope(a.tenant_id):
        with pytest.raises(MeterNotFound):
            submit(a, b_serial, "485")
        with pytest.raises(MeterNotFound):
            services.reading_history(customer_user_id=customer_id(a), serial=b_serial)


def test_history_hides_readings_before_the_customers_contract(ctx, two_tenants):
    a, _b = two_tenants
    with tenant_scope(a.tenant_id):
        serial = prepare_meter(a, start=date(2026, 1, 1), readings=[
            (date(2025, 12, 1), "50", "agent"), (date(2026, 1, 1), "60", "agent"), (date(2026, 6, 1), "80", "customer"),
        ])

        history = services.reading_history(customer_user_id=customer_id(a), serial=serial)

        assert [r.read_on for r in history.readings] == [date(2026, 6, 1), date(2026, 1, 1)]


def test_monthly_consumption_of_a_point_of_delivery_from_its_readings(ctx, two_tenants):
    a, _b = two_tenants
    with tenant_scope(a.tenant_id):
        prepare_meter(a, start=date(2024, 1, 1), readings=[
            (date(2024, 1, 1), "0", "agent"), (date(2025, 1, 1), "366", "agent"),
            (date(2025, 11, 1), "670", "agent"), (date(2026, 11, 1), "1035", "customer"),
            (date(2026, 11, 15), "2000", "customer", "pending"),  # not checked yet: left out
        ])

        points, result = services.point_consumption(customer_user_id=customer_id(a), identifier=None,
                                                    tenant=tenant_of(a), today=TODAY)

        assert [p.identifier for p in points] == [a.delivery_point_identifier] and result.unit == "m3"
        by_month = {m.month: m for m in result.months}
        assert len(result.months) == 24 and result.months[-1].month == date(2026, 10, 1)
        assert by_month[date(2026, 10, 1)].current.quantity == Decimal("31.000")
        assert by_month[date(2026, 10, 1)].year_before.quantity == Decimal("31.000")
        assert by_month[date(2025, 2, 1)].current.quantity == Decimal("28.000")
        assert by_month[date(2025, 2, 1)].year_before.quantity == Decimal("29.000")  # 2024 is a leap year


def test_gas_consumption_is_shown_in_kwh_with_the_tenants_calorific_value(ctx, two_tenants):
    a, _b = two_tenants
    from tenants.context import platform_scope

    with platform_scope("test: calorific value"):
        db.session.get(Tenant, a.tenant_id).gas_calorific_value = Decimal("39.6")
    with tenant_scope(a.tenant_id):
        prepare_meter(a, activity="gas", readings=[(date(2026, 9, 1), "1000", "agent"),
                                                   (date(2026, 11, 1), "1061", "agent")])

        _points, result = services.point_consumption(customer_user_id=customer_id(a), identifier=None,
                                                     tenant=tenant_of(a), today=TODAY)

        october = result.months[-1]
        assert result.unit == "kWh" and result.converted_from_m3
        assert october.current.quantity == Decimal("341.000")  # 31 m3 x 39.6 / 3.6


def test_meters_to_read_show_the_previous_actual_reading_and_the_window(ctx, two_tenants):
    a, _b = two_tenants
    with tenant_scope(a.tenant_id):
        serial = prepare_meter(a, readings=ONE_A_DAY)

        states = services.meters_to_read(customer_user_id=customer_id(a), tenant=tenant_of(a), today=TODAY)

        assert [s.meter.serial_number for s in states] == [serial]
        line = states[0].registers[0]
        assert (line.previous.value, line.previous.read_on, line.previous.source) == (
            Decimal("465.000"), date(2026, 11, 1), "agent")
        assert _count(Register, Register.meter_id == states[0].meter.id) == 1
        assert states[0].window == (date(2026, 11, 24), date(2026, 11, 30))
        assert not states[0].window_open
