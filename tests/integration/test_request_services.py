"""Request services on the database: opening, references, move out, messages, unread replies, tasks."""
from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from domain.contracts.models import Contract
from domain.db import db
from domain.identity.models import CustomerUser
from domain.readings.models import MeterReading
from domain.requests import attachments as files
from domain.requests import moves
from domain.requests import services
from domain.requests.models import RequestAttachment, ServiceRequest
from domain.tasks.models import Task
from tenants.context import tenant_scope

PARIS = ZoneInfo("Europe/Paris")
NOW = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)  # a Monday
TODAY = date(2026, 11, 2)
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture
def alpha(ctx, two_tenants):
    a, _b = two_tenants
    with tenant_scope(a.tenant_id):
        yield a


def _customer(data) -> CustomerUser:
    return db.session.scalar(select(CustomerUser).where(CustomerUser.email == data.customer_email))


def _open(data, *, now=NOW, today=TODAY, **fields) -> ServiceRequest:
    new = services.NewRequest(**{"kind": "complaint", "account_number": data.account_number,
                                 "subject": "Bill too high", "description": "Please check my bill.", **fields})
    return services.open_request(customer=_customer(data), new=new, now=now, today=today, answer_days=10,
                                 zone=PARIS, tenant_id=data.tenant_id)


def _contract(data) -> Contract:
    return db.session.scalar(select(Contract))


def _move_out(data, *, on: date, value: str, today: date = TODAY):
    return _open(data, today=today, kind="move_out", point_identifier=data.delivery_point_identifier, effective_on=on,
                 final_readings={"TOTAL": Decimal(value)}, subject="Moving out", description="")


def _count(model) -> int:
    return db.session.scalar(select(func.count(model.id)))


def test_move_out_stores_the_final_reading_and_ends_the_contract_at_the_date(alpha):
    on = TODAY + timedelta(days=20)

    request = _move_out(alpha, on=on, value="1300.5")

    contract = _contract(alpha)
    final = db.session.get(MeterReading, request.final_reading_id)
    assert contract.end_date == on and contract.status == "active"  # ends on the date, not before
    assert (final.read_on, final.value, final.source, final.status) == (on, Decimal("1300.500"), "customer", "valid")
    assert request.kind == "move_out" and request.effective_on == on and request.contract_id == contract.id
    assert moves.end_contracts_reached(today=on - timedelta(days=1)) == 0
    assert moves.end_contracts_reached(today=on) == 1 and contract.status == "ended"


def test_move_out_in_the_past_ends_the_contract_at_once(alpha):
    request = _move_out(alpha, on=TODAY - timedelta(days=3), value="1234")

    assert _contract(alpha).status == "ended"
    assert db.session.get(MeterReading, request.final_reading_id).value == Decimal("1234.000")


def test_a_final_reading_lower_than_the_previous_one_stores_nothing(alpha):
    readings, requests, tasks = _count(MeterReading), _count(ServiceRequest), _count(Task)

    with pytest.raises(moves.MoveOutRefused) as refused:
        _move_out(alpha, on=TODAY + timedelta(days=5), value="1233.999")

    problem, details = refused.value.registers["TOTAL"]
    assert problem == "reading_lower" and details["previous"] == Decimal("1234.000")
    assert (_count(MeterReading), _count(ServiceRequest), _count(Task)) == (readings, requests, tasks)
    assert _contract(alpha).end_date is None and _contract(alpha).status == "active"


def test_an_estimated_reading_is_not_the_previous_actual_reading(alpha):
    register_id = db.session.scalar(select(MeterReading.register_id))
    db.session.add(MeterReading(register_id=register_id, read_on=date(2026, 10, 20), value=Decimal("5000"),
                                source="estimated", status="valid", received_at=NOW))
    db.session.flush()

    request = _move_out(alpha, on=TODAY + timedelta(days=1), value="1250")

    assert db.session.get(MeterReading, request.final_reading_id).value == Decimal("1250.000")


@pytest.mark.parametrize(("on", "code"), [
    (date(2024, 1, 1), "date_before_start"),
    (TODAY + timedelta(days=moves.MAX_DAYS_AHEAD + 1), "date_too_far"),
    (TODAY - timedelta(days=moves.MAX_DAYS_PAST + 1), "date_too_old"),
])
def test_move_out_dates_out_of_bounds_are_refused(alpha, on, code):
    with pytest.raises(moves.MoveOutRefused) as refused:
        _move_out(alpha, on=on, value="1300")

    assert refused.value.code == code
    assert _count(ServiceRequest) == 1 and _contract(alpha).end_date is None  # only populate_tenant's request


def _off_budget_billing() -> None:
    """populate_tenant puts the contract on budget billing (a plan's factory row): take it off."""
    from domain.billing.plan_models import DownPaymentPlan

    for plan in db.session.scalars(select(DownPaymentPlan)):
        plan.status = "cancelled"
    db.session.flush()


def test_move_out_inside_a_billed_period_is_refused(alpha):
    _off_budget_billing()
    _contract(alpha).billed_until = TODAY + timedelta(days=10)

    with pytest.raises(moves.MoveOutRefused) as refused:
        _move_out(alpha, on=TODAY + timedelta(days=5), value="1300")

    assert refused.value.code == "date_billed"


def test_a_second_move_out_of_the_same_point_is_refused(alpha):
    _move_out(alpha, on=TODAY + timedelta(days=5), value="1300")

    with pytest.raises(moves.MoveOutRefused) as refused:
        _move_out(alpha, on=TODAY + timedelta(days=6), value="1301")

    assert refused.value.code == "already_ending"


def test_references_are_unique_and_numbered_per_tenant_and_year(app, ctx, two_tenants):
    a, b = two_tenants
    with tenant_scope(a.tenant_id):
        refs_a = [_open(a).reference for _ in range(3)]
        next_year = _open(a, now=datetime(2027, 1, 4, 9, tzinfo=UTC)).reference
        db.session.commit()
    with tenant_scope(b.tenant_id):
        ref_b = _open(b).reference
        db.session.commit()

    assert refs_a == ["R2026-000001", "R2026-000002", "R2026-000003"]
    assert next_year == "R2027-000001"
    assert ref_b == "R2026-000001"  # each utility numbers its own requests


def test_the_answer_is_due_after_the_tenants_working_days(alpha):
    friday_evening = datetime(2026, 11, 6, 20, 0, tzinfo=UTC)  # 21:00 in Paris, still Friday

    request = _open(alpha, now=friday_evening)

    # Ten working days after Friday 6 November: Friday 20 November, to the end of that day in Paris.
    assert request.due_at.astimezone(PARIS).date() == date(2026, 11, 20)
    assert request.due_at.astimezone(PARIS).hour == 23
    assert services.add_working_days(date(2026, 11, 6), 1) == date(2026, 11, 9)


def test_a_new_request_gets_its_first_message_attachment_and_a_front_office_task(alpha):
    request = _open(alpha, uploads=[files.Upload(filename="photo.png", data=PNG)])

    task = db.session.scalar(select(Task).where(Task.subject_type == "service_request",
                                                Task.subject_id == request.id))
    attachment = db.session.scalar(select(RequestAttachment).where(RequestAttachment.request_id == request.id))
    assert [m.body for m in request.messages] == ["Please check my bill."]
    assert task.work_group.code == "front_office" and task.due_at == request.due_at and task.status == "open"
    assert attachment.content_type == "image/png" and attachment.message_id == request.messages[0].id
    assert attachment.storage_key.startswith(f"tenants/{alpha.tenant_id}/")
    assert files.content_of(attachment) == PNG


def test_a_file_that_is_not_pdf_jpeg_or_png_is_refused_whatever_its_name(alpha):
    with pytest.raises(files.AttachmentRefused) as refused:
        _open(alpha, uploads=[files.Upload(filename="invoice.pdf", data=b"<html>not a pdf</html>")])

    assert refused.value.code == "type"
    assert _count(ServiceRequest) == 1


def test_move_in_needs_a_date(alpha):
    with pytest.raises(services.RequestRefused) as refused:
        _open(alpha, kind="move_in")

    assert refused.value.code == "date_missing"


def test_staff_replies_are_unread_until_the_customer_looks_and_internal_notes_never_count(alpha):
    request = _open(alpha)
    user_id = _customer(alpha).id

    services.staff_message(request=request, staff_id=1, body="Internal: check the meter", internal=True,
                           uploads=[], now=NOW + timedelta(hours=1))
    after_note = services.unread_replies(user_id)
    services.staff_message(request=request, staff_id=1, body="We are checking.", internal=False, uploads=[],
                           now=NOW + timedelta(hours=2))
    after_reply = services.unread_replies(user_id)
    services.mark_seen(request, now=NOW + timedelta(hours=3))

    assert request not in after_note
    assert request in after_reply and request.status == "open"  # no status chosen: kept as it was
    assert request not in services.unread_replies(user_id)
    assert [m.body for m in services.visible_messages(request)] == ["Please check my bill.", "We are checking."]


def test_resolving_closes_the_task_and_a_customer_reply_reopens_it(alpha):
    request = _open(alpha)
    task = db.session.scalar(select(Task).where(Task.subject_id == request.id, Task.subject_type == "service_request"))

    services.change_status(request=request, status="resolved", now=NOW)
    resolved = (request.status, request.closed_at, task.status)
    services.customer_reply(request=request, customer=_customer(alpha), body="Not solved", uploads=[],
                            now=NOW + timedelta(hours=1))

    assert resolved == ("resolved", NOW, "done")
    assert (request.status, request.closed_at, task.status) == ("in_progress", None, "open")


def test_a_closed_request_takes_no_more_customer_messages(alpha):
    request = _open(alpha)
    services.change_status(request=request, status="closed", now=NOW)

    with pytest.raises(services.RequestRefused) as refused:
        services.customer_reply(request=request, customer=_customer(alpha), body="Hello", uploads=[], now=NOW)

    assert refused.value.code == "closed"


def test_every_register_needs_its_final_reading_and_each_problem_is_reported(alpha):
    from domain.sites.models import Register

    meter_id = db.session.scalar(select(Register.meter_id))
    offpeak = Register(meter_id=meter_id, code="OFFPEAK", label="Off-peak")
    db.session.add(offpeak)
    db.session.flush()
    db.session.add(MeterReading(register_id=offpeak.id, read_on=date(2026, 10, 1), value=Decimal("800"),
                                source="agent", status="valid", received_at=NOW))
    db.session.flush()

    with pytest.raises(moves.MoveOutRefused) as refused:
        _open(alpha, kind="move_out", point_identifier=alpha.delivery_point_identifier,
              effective_on=TODAY + timedelta(days=5), final_readings={"TOTAL": Decimal("1000")},
              subject="Moving out", description="")

    assert refused.value.registers["TOTAL"][0] == "reading_lower"
    assert refused.value.registers["OFFPEAK"] == ("reading_missing", {})
    assert _count(MeterReading) == 3  # the two of populate_tenant and the off-peak one above


def test_the_daily_job_ends_contracts_whose_move_out_date_has_come(app, two_tenants):
    from app.jobs import run_job

    a, _b = two_tenants
    on = TODAY + timedelta(days=10)
    with app.app_context(), tenant_scope(a.tenant_id):
        _move_out(a, on=on, value="1300")
        db.session.commit()

    with app.app_context():
        before = run_job("requests.end_contracts_reached", a.tenant_id, None,
                         {"today_iso": (on - timedelta(days=1)).isoformat()})
        on_the_day = run_job("requests.end_contracts_reached", a.tenant_id, None, {"today_iso": on.isoformat()})
        again = run_job("requests.end_contracts_reached", a.tenant_id, None, {"today_iso": on.isoformat()})

    assert (before, on_the_day, again) == ({"ended": 0}, {"ended": 1}, {"ended": 0})
    with app.app_context(), tenant_scope(a.tenant_id):
        assert db.session.scalar(select(Contract.status)) == "ended"


def test_a_request_rolled_back_gives_its_number_back_so_numbers_have_no_gap(alpha):
    first = _open(alpha).reference
    db.session.commit()
    with pytest.raises(RuntimeError):
        with db.session.begin_nested():
            _open(alpha)  # R2026-000002 taken...
            raise RuntimeError("the request's transaction fails")  # ...and given back
    second = _open(alpha).reference
    db.session.commit()

    assert (first, second) == ("R2026-000001", "R2026-000002")


def test_references_have_one_form_and_the_database_refuses_a_duplicate(alpha):
    from sqlalchemy.exc import IntegrityError

    from tests.factories import ServiceRequestFactory

    opened = _open(alpha)
    db.session.commit()

    assert re.fullmatch(r"R2026-\d{6}", opened.reference)
    with pytest.raises(IntegrityError):
        with db.session.begin_nested():
            ServiceRequestFactory(account_id=opened.account_id, reference=opened.reference)


def test_two_requests_opened_at_once_get_consecutive_numbers(app, two_tenants):
    import threading
    import time

    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        pytest.skip("SQLite has one writer at a time; the row lock is PostgreSQL's")
    a, _b = two_tenants
    first_taken, release, found = threading.Event(), threading.Event(), {}

    def opener(name: str, wait_for: threading.Event | None):
        with app.app_context(), tenant_scope(a.tenant_id):
            try:
                if wait_for is not None:
                    wait_for.wait(10)
                found[name] = _open(a).reference
                found[f"{name}_at"] = time.monotonic()
                if name == "first":
                    first_taken.set()
                    release.wait(10)  # the first transaction holds its number a while
                db.session.commit()
            except Exception as exc:  # noqa: BLE001 - reported by the assertion below
                found[name] = repr(exc)
                first_taken.set()

    threads = [threading.Thread(target=opener, args=("first", None)),
               threading.Thread(target=opener, args=("second", first_taken))]
    for thread in threads:
        thread.start()
    first_taken.wait(10)
    time.sleep(1)
    released_at = time.monotonic()
    release.set()
    for thread in threads:
        thread.join(20)

    assert (found["first"], found["second"]) == ("R2026-000001", "R2026-000002")
    assert found["second_at"] >= released_at  # the second waited for the first's commit


def test_a_legacy_reference_keeps_working_and_the_counter_continues_after_it(app, alpha, browser):
    from domain.requests.models import RequestNumberSequence
    from tests.factories import ServiceRequestFactory

    account_id = _open(alpha).account_id  # R2026-000001
    ServiceRequestFactory(account_id=account_id, reference="SR-2026-00007", subject="Given by the former demo")
    # As the migration leaves it: the counter of 2026 after the highest number of either form.
    db.session.scalar(select(RequestNumberSequence).where(RequestNumberSequence.year == 2026)).next_value = 8
    db.session.commit()

    following = _open(alpha).reference
    db.session.commit()

    assert following == "R2026-000008"
    assert services.request_by_reference(reference="SR-2026-00007").subject == "Given by the former demo"


def test_the_next_billing_run_makes_the_final_bill_up_to_the_move_out_date(app, two_tenants, monkeypatch):
    from domain.billing import runs
    from domain.billing.models import Bill
    from domain.db import utcnow

    monkeypatch.setitem(app.config, "REDIS_URL", None)  # the run's jobs run here, in-process
    a, _b = two_tenants
    move_out_on = date(2026, 11, 20)
    with app.app_context(), tenant_scope(a.tenant_id):
        _off_budget_billing()
        db.session.scalar(select(Contract)).billed_until = date(2026, 11, 1)
        _move_out(a, on=move_out_on, value="1300", today=date(2026, 11, 21))
        db.session.commit()

    with app.app_context(), tenant_scope(a.tenant_id):
        run = runs.create_run(billing_date=date(2026, 11, 21), mode="simulate", scope_activity=None,
                              scope_cycle=None, created_by="test", now=utcnow())
        db.session.commit()
        runs.start(run)

    with app.app_context(), tenant_scope(a.tenant_id):
        bill = db.session.scalar(select(Bill).where(Bill.billing_run_id == run.id))
        assert (bill.kind, bill.period_start, bill.period_end) == ("final", date(2026, 11, 1), move_out_on)
