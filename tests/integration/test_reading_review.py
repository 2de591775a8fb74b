"""Staff review of readings to check, on the database: what accepting, rejecting and correcting change, for
billing (its loader reads valid readings only), the staff task, the audit trail and who is told."""
from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from domain.audit.models import AuditEvent
from domain.billing.chunk_inputs import readings_by_register
from domain.contracts.models import CustomerAccount
from domain.db import db
from domain.identity.models import CustomerUser, StaffUser
from domain.readings import review
from domain.readings.models import MeterReading
from domain.tasks.models import Task
from tenants.context import tenant_scope
from tests.integration.test_reading_services import ONE_A_DAY, TODAY, prepare_meter, submit

LATER = datetime(2026, 11, 22, 8, 30, tzinfo=UTC)


def _staff_id(data) -> int:
    return db.session.scalar(select(StaffUser.id).where(StaffUser.email == data.staff_emails["agent"]))


def _pending(data, value="526", **kwargs) -> MeterReading:
    """The customer's reading of TODAY, 61 m3 where 20 were expected: stored "to be checked" with a task."""
    serial = prepare_meter(data, readings=ONE_A_DAY, **kwargs)
    submission = submit(data, serial, value)
    assert submission.task is not None
    return submission.outcomes[0].reading


def _task_of(reading_id: int) -> Task:
    return db.session.scalar(select(Task).where(Task.kind == "reading_check", Task.subject_id == reading_id))


def _billable(tenant_id: int, register_id: int) -> list:
    """What the billing run would read for the register in November."""
    found = readings_by_register(tenant_id, [register_id], date(2026, 11, 1), date(2026, 11, 30))
    return [(read_on, value) for read_on, value, _estimated in found.get(register_id, [])]


def test_a_pending_reading_is_not_billed_until_staff_accept_it(ctx, two_tenants):
    a, _b = two_tenants
    with tenant_scope(a.tenant_id):
        reading = _pending(a)
        assert _billable(a.tenant_id, reading.register_id) == [(date(2026, 11, 1), Decimal("465.000"))]

        done = review.accept_reading(reading_id=reading.id, staff_user_id=_staff_id(a), now=LATER)

        assert done.decision == "accepted" and reading.status == "valid"
        assert _billable(a.tenant_id, reading.register_id)[-1] == (TODAY, Decimal("526.000"))
        task = _task_of(reading.id)
        assert (task.status, task.done_at, task.assignee_id) == ("done", LATER, _staff_id(a))
        assert done.task_closed and [r.email for r in done.recipients] == [a.customer_email]  # told the outcome


def test_the_queue_shows_the_reading_with_its_previous_one_and_the_expected_consumption(ctx, two_tenants):
    a, _b = two_tenants
    with tenant_scope(a.tenant_id):
        reading = _pending(a)

        page = review.readings_to_check(page=1)

        assert (page.total, page.pages) == (1, 1)
        item = page.items[0]
        assert item.reading.id == reading.id and item.account.account_number == a.account_number
        assert (item.previous.read_on, item.previous.value) == (date(2026, 11, 1), Decimal("465.000"))
        assert (item.consumption, item.expected) == (Decimal("61.000"), Decimal("20.000"))
        assert not item.plausibility.plausible and item.plausibility.high == Decimal("60.000")
        assert item.delivery_point.identifier == a.delivery_point_identifier


def test_rejecting_keeps_the_reading_out_of_billing_and_names_the_customer_in_their_language(ctx, two_tenants):
    a, _b = two_tenants
    with tenant_scope(a.tenant_id):
        db.session.scalar(select(CustomerUser).where(CustomerUser.email == a.customer_email)).locale = "de"
        reading = _pending(a)

        done = review.reject_reading(reading_id=reading.id, reason="  The photo shows 465,  not 526. ",
                                     staff_user_id=_staff_id(a), now=LATER)

        assert (reading.status, reading.rejection_reason) == ("rejected", "The photo shows 465, not 526.")
        assert _billable(a.tenant_id, reading.register_id) == [(date(2026, 11, 1), Decimal("465.000"))]
        assert done.recipients == (review.Recipient(a.customer_email, "de"),)
        assert _task_of(reading.id).status == "done"
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "reading_rejected"))
        account_id = db.session.scalar(select(CustomerAccount.id).where(
            CustomerAccount.account_number == a.account_number))
        assert (event.entity_type, event.entity_id) == ("CustomerAccount", account_id)
        assert event.changes["reason"] == "The photo shows 465, not 526." and event.changes["value"] == "526.000"


def test_without_a_customer_language_the_accounts_is_used(ctx, two_tenants):
    a, _b = two_tenants
    with tenant_scope(a.tenant_id):
        account = db.session.scalar(select(CustomerAccount).where(CustomerAccount.account_number == a.account_number))
        account.locale = "es"
        reading = _pending(a)

        done = review.reject_reading(reading_id=reading.id, reason="Illegible photo", staff_user_id=_staff_id(a),
                                     now=LATER)

        assert done.recipients == (review.Recipient(a.customer_email, "es"),)


def test_correcting_rejects_the_customers_reading_and_bills_the_agents(ctx, two_tenants):
    a, _b = two_tenants
    with tenant_scope(a.tenant_id):
        reading = _pending(a)

        done = review.correct_reading(reading_id=reading.id, value=Decimal("485"), rollover_confirmed=False,
                                      reason="Typo: the photo shows 485.", staff_user_id=_staff_id(a), now=LATER)

        corrected = done.corrected_by
        assert (reading.status, reading.rejection_reason) == ("rejected", "Typo: the photo shows 485.")
        assert (corrected.source, corrected.status, corrected.value, corrected.read_on) == (
            "agent", "valid", Decimal("485"), TODAY)
        assert _billable(a.tenant_id, reading.register_id)[-1] == (TODAY, Decimal("485.000"))
        assert _task_of(reading.id).status == "done"
        assert [r.email for r in done.recipients] == [a.customer_email]


def test_a_correction_lower_than_the_previous_reading_is_refused_and_changes_nothing(ctx, two_tenants):
    a, _b = two_tenants
    with tenant_scope(a.tenant_id):
        reading = _pending(a)

        with pytest.raises(review.ReviewRefused) as refused:
            review.correct_reading(reading_id=reading.id, value=Decimal("400"), rollover_confirmed=False, reason=None,
                                   staff_user_id=_staff_id(a), now=LATER)

        assert refused.value.code == "index" and refused.value.problem.reason == "lower_than_previous"
        assert reading.status == "pending" and _task_of(reading.id).status == "open"
        assert db.session.scalar(select(func.count(MeterReading.id)).where(MeterReading.source == "agent",
                                                                            MeterReading.read_on == TODAY)) == 0


def test_a_correction_outside_the_plausible_range_is_refused_until_confirmed_then_recorded(ctx, two_tenants):
    a, _b = two_tenants
    with tenant_scope(a.tenant_id):
        reading = _pending(a)

        with pytest.raises(review.ReviewRefused) as refused:
            review.correct_reading(reading_id=reading.id, value=Decimal("1465"), rollover_confirmed=False,
                                   reason=None, staff_user_id=_staff_id(a), now=LATER)
        judged = refused.value.judged
        unchanged = (reading.status, db.session.scalar(select(func.count(MeterReading.id)).where(
            MeterReading.source == "agent", MeterReading.read_on == TODAY)))
        done = review.correct_reading(reading_id=reading.id, value=Decimal("1465"), rollover_confirmed=False,
                                      reason=None, staff_user_id=_staff_id(a), now=LATER, implausible_confirmed=True)

        # 1,000 m3 since 1 November where 20 were expected: accepted without a check between 6.667 and 60.
        assert refused.value.code == "implausible" and unchanged == ("pending", 0)
        assert (judged.consumption, judged.expected, judged.plausibility.low, judged.plausibility.high) == (
            Decimal("1000.000"), Decimal("20.000"), Decimal("6.667"), Decimal("60.000"))
        assert judged.previous.read_on == date(2026, 11, 1)
        assert (done.corrected_by.value, done.corrected_by.implausible_confirmed) == (Decimal("1465"), True)
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "reading_corrected"))
        assert event.changes["implausible_confirmed"] is True and event.changes["corrected_value"] == "1465"


def test_a_correction_equal_to_the_customers_index_is_refused(ctx, two_tenants):
    a, _b = two_tenants
    with tenant_scope(a.tenant_id):
        reading = _pending(a)

        with pytest.raises(review.ReviewRefused) as refused:
            review.correct_reading(reading_id=reading.id, value=Decimal("526.000"), rollover_confirmed=False,
                                   reason=None, staff_user_id=_staff_id(a), now=LATER)

        assert refused.value.code == "same_value" and reading.status == "pending"


def test_a_rejection_needs_a_reason(ctx, two_tenants):
    a, _b = two_tenants
    with tenant_scope(a.tenant_id):
        reading = _pending(a)

        with pytest.raises(review.ReviewRefused) as refused:
            review.reject_reading(reading_id=reading.id, reason="   ", staff_user_id=_staff_id(a), now=LATER)

        assert refused.value.code == "reason" and reading.status == "pending"


def test_a_reading_already_handled_is_refused_and_nothing_changes_twice(ctx, two_tenants):
    a, _b = two_tenants
    with tenant_scope(a.tenant_id):
        reading = _pending(a)
        review.accept_reading(reading_id=reading.id, staff_user_id=_staff_id(a), now=LATER)
        events = db.session.scalar(select(func.count(AuditEvent.id)))

        for attempt in (
            lambda: review.accept_reading(reading_id=reading.id, staff_user_id=_staff_id(a), now=LATER),
            lambda: review.reject_reading(reading_id=reading.id, reason="late", staff_user_id=_staff_id(a), now=LATER),
            lambda: review.correct_reading(reading_id=reading.id, value=Decimal("500"), rollover_confirmed=False,
                                           reason=None, staff_user_id=_staff_id(a), now=LATER),
        ):
            with pytest.raises(review.ReviewRefused) as refused:
                attempt()
            assert (refused.value.code, refused.value.status) == ("handled", "valid")

        assert reading.status == "valid" and reading.rejection_reason is None
        assert db.session.scalar(select(func.count(AuditEvent.id))) == events
        assert db.session.scalar(select(func.count(MeterReading.id)).where(MeterReading.source == "agent",
                                                                            MeterReading.read_on == TODAY)) == 0


def test_the_task_stays_open_until_every_register_of_the_submission_is_checked(ctx, two_tenants):
    a, _b = two_tenants
    with tenant_scope(a.tenant_id):
        serial = prepare_meter(a, activity="electricity", codes=("PEAK", "OFFPEAK"), annual=Decimal("3650"),
                               readings=[(date(2026, 11, 1), "5000", "agent", "valid", "PEAK"),
                                         (date(2026, 11, 1), "3000", "agent", "valid", "OFFPEAK")])
        submission = submit(a, serial, None, values={"PEAK": Decimal("9000"), "OFFPEAK": Decimal("9000")})
        peak, offpeak = (o.reading for o in submission.outcomes)
        assert peak.status == offpeak.status == "pending"
        staff = _staff_id(a)

        first = review.accept_reading(reading_id=peak.id, staff_user_id=staff, now=LATER)
        assert not first.task_closed and submission.task.status == "open"
        second = review.reject_reading(reading_id=offpeak.id, reason="Off-peak index misread", staff_user_id=staff,
                                       now=LATER)

        assert second.task_closed and submission.task.status == "done"


def test_another_tenants_reading_is_not_found(ctx, two_tenants):
    a, b = two_tenants
    with tenant_scope(b.tenant_id):
        b_reading_id = _pending(b).id
        db.session.commit()
    with tenant_scope(a.tenant_id):
        with pytest.raises(review.ReadingGone):
            review.accept_reading(reading_id=b_reading_id, staff_user_id=_staff_id(a), now=LATER)
        assert review.readings_to_check(page=1).total == 0
    with tenant_scope(b.tenant_id):
        assert db.session.scalar(select(MeterReading.status).where(MeterReading.id == b_reading_id)) == "pending"
