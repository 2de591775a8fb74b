"""Case work services on the database: due dates from service levels (exact, across a weekend), every process's task
created through one service, claiming raced by two staff, the history of a task handed between groups, request
categories and escalation, reply templates filled in the customer's language."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from domain.db import db
from domain.identity.models import CustomerUser, StaffUser
from domain.requests import replies
from domain.requests import services as requests_service
from domain.requests.models import ServiceRequest
from domain.tasks import levels
from domain.tasks import services as tasks
from domain.tasks.models import Task, TaskEvent, WorkGroup, WorkGroupMember
from tenants.context import tenant_scope

PARIS = ZoneInfo("Europe/Paris")
FRIDAY = datetime(2026, 11, 27, 15, 0, tzinfo=UTC)  # 16:00 in Paris, a Friday
SATURDAY = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)


@pytest.fixture
def alpha(ctx, two_tenants):
    a, _b = two_tenants
    with tenant_scope(a.tenant_id):
        yield a


def _group(code: str) -> WorkGroup:
    return db.session.scalar(select(WorkGroup).where(WorkGroup.code == code))


def _staff(data, role: str) -> StaffUser:
    return db.session.scalar(select(StaffUser).where(StaffUser.email == data.staff_emails[role]))


def _task(kind="reading_check", group="metering", now=FRIDAY) -> Task:
    task = tasks.create_task(group_id=_group(group).id, kind=kind, title="Check a reading", now=now)
    db.session.flush()
    return task


def test_a_task_in_working_days_is_due_at_the_end_of_the_day_after_the_weekend(alpha):
    friday = _task(now=FRIDAY)  # reading checks: 5 working days by default
    saturday = _task(now=SATURDAY)

    # Friday 27 → Mon 30, Tue 1, Wed 2, Thu 3, Fri 4 December, end of the day in Paris (23:00 UTC).
    assert friday.due_at == datetime(2026, 12, 4, 22, 59, 59, 999999, tzinfo=UTC)
    # From a Saturday the first working day is Monday: Mon 30 … Fri 4 December as well.
    assert saturday.due_at == datetime(2026, 12, 4, 22, 59, 59, 999999, tzinfo=UTC)


def test_a_tenants_own_level_in_hours_or_calendar_days_sets_the_due_date(alpha):
    levels.save_levels(scope="task", levels={"reading_check": levels.Level(36, "hours"),
                                             "billing_exception": levels.Level(3, "days")})

    check = _task(now=FRIDAY)
    exception = _task(kind="billing_exception", group="billing", now=FRIDAY)
    unknown = _task(kind="meter_exchange", group="metering", now=FRIDAY)  # a kind with no level: 5 working days

    assert check.due_at == datetime(2026, 11, 29, 3, 0, tzinfo=UTC)
    assert exception.due_at == datetime(2026, 11, 30, 15, 0, tzinfo=UTC)
    assert unknown.due_at == datetime(2026, 12, 4, 22, 59, 59, 999999, tzinfo=UTC)


def test_a_level_out_of_range_is_refused_and_nothing_is_stored(alpha):
    from domain.tasks.models import ServiceLevel

    with pytest.raises(levels.LevelRefused) as refused:
        levels.save_levels(scope="task", levels={"reading_check": levels.Level(2, "hours"),
                                                 "billing_exception": levels.Level(0, "working_days")})

    assert refused.value.key == "billing_exception"
    assert db.session.scalars(select(ServiceLevel)).all() == []


def test_every_process_creates_its_task_through_the_service_with_its_level(alpha):
    from domain.identity.profile import request_closure

    user = db.session.scalar(select(CustomerUser).where(CustomerUser.email == alpha.customer_email))

    task = request_closure(user=user, now=FRIDAY)
    db.session.flush()

    assert task.due_at == FRIDAY + timedelta(days=30) and task.public_id


def test_two_staff_claiming_the_same_task_one_wins_the_other_is_told_who(app, two_tenants):
    a, _b = two_tenants
    with app.app_context(), tenant_scope(a.tenant_id):
        public_id = _task().public_id
        agent_id, supervisor_id = _staff(a, "agent").id, _staff(a, "supervisor").id
        db.session.commit()

    with app.app_context(), tenant_scope(a.tenant_id):  # the agent's request, which read the task first
        stale = tasks.task_by_public_id(public_id)
        with app.app_context(), tenant_scope(a.tenant_id):  # the supervisor's, a moment later, claims first
            tasks.claim(task=tasks.task_by_public_id(public_id), staff_id=supervisor_id, now=SATURDAY)
            db.session.commit()
        assert stale.status == "open"  # what the agent's page showed

        with pytest.raises(tasks.TaskRefused) as refused:
            tasks.claim(task=stale, staff_id=agent_id, now=SATURDAY)

        assert refused.value.code == "taken" and refused.value.holder == "Supervisor"
        assert (stale.status, stale.assignee_id) == ("in_progress", supervisor_id)
        events = db.session.scalars(select(TaskEvent).where(TaskEvent.task_id == stale.id)).all()
        assert [(e.action, e.staff_user_id) for e in events] == [("claimed", supervisor_id)]


def test_a_transfer_keeps_who_when_from_to_and_the_note_in_the_history(alpha):
    task = _task()
    agent = _staff(alpha, "agent")
    tasks.claim(task=task, staff_id=agent.id, now=SATURDAY)

    tasks.transfer(task=task, staff_id=agent.id, to_group=_group("billing"), note="The index is a billing matter.",
                   may_assign=False, now=SATURDAY + timedelta(hours=1))

    assert (task.work_group_id, task.assignee_id, task.status) == (_group("billing").id, None, "open")
    last = tasks.history_of(task)[-1]
    assert (last.action, last.staff_user_id, last.at) == ("transferred", agent.id, SATURDAY + timedelta(hours=1))
    assert (last.from_group_id, last.to_group_id, last.from_assignee_id) == (
        _group("metering").id, _group("billing").id, agent.id)
    assert last.note == "The index is a billing matter."


def test_a_transfer_without_a_note_or_to_the_same_group_changes_nothing(alpha):
    task = _task()
    agent = _staff(alpha, "agent")

    for group, note, code in ((_group("billing"), "  ", "note_missing"), (_group("metering"), "Why", "same_group")):
        with pytest.raises(tasks.TaskRefused) as refused:
            tasks.transfer(task=task, staff_id=agent.id, to_group=group, note=note, may_assign=False, now=SATURDAY)
        assert refused.value.code == code

    assert task.work_group_id == _group("metering").id and tasks.history_of(task) == []


def test_someone_elses_task_is_only_closed_by_them_or_a_supervisor(alpha):
    task = _task()
    agent, billing, supervisor = (_staff(alpha, r) for r in ("agent", "billing", "supervisor"))
    tasks.claim(task=task, staff_id=agent.id, now=SATURDAY)

    with pytest.raises(tasks.TaskRefused) as refused:
        tasks.close(task=task, staff_id=billing.id, outcome="done", note=None, may_assign=False, now=SATURDAY)
    with pytest.raises(tasks.TaskRefused) as no_note:
        tasks.close(task=task, staff_id=supervisor.id, outcome="cancelled", note="", may_assign=True, now=SATURDAY)
    tasks.close(task=task, staff_id=supervisor.id, outcome="cancelled", note="Duplicate of another check.",
                may_assign=True, now=SATURDAY)

    assert refused.value.code == "not_yours" and no_note.value.code == "note_missing"
    assert (task.status, task.done_at) == ("cancelled", SATURDAY)
    assert tasks.history_of(task)[-1].note == "Duplicate of another check."


def test_a_task_is_assigned_only_to_a_member_of_its_group(alpha):
    task = _task()
    agent, supervisor = _staff(alpha, "agent"), _staff(alpha, "supervisor")

    with pytest.raises(tasks.TaskRefused):
        tasks.assign(task=task, staff_id=supervisor.id, assignee_id=agent.id, now=SATURDAY)
    db.session.add(WorkGroupMember(work_group_id=_group("metering").id, staff_user_id=agent.id))
    db.session.flush()
    tasks.assign(task=task, staff_id=supervisor.id, assignee_id=agent.id, now=SATURDAY)

    assert (task.assignee_id, task.status) == (agent.id, "open")
    assert [(e.action, e.to_assignee_id) for e in tasks.history_of(task)] == [("assigned", agent.id)]
    mine = tasks.queue_tasks(group=_group("metering"), show="mine", staff_id=agent.id, now=SATURDAY)
    assert mine == [task]


def test_queue_counts_overdue_and_mine(alpha):
    agent = _staff(alpha, "agent")
    late = _task(now=FRIDAY - timedelta(days=20))
    _task(now=FRIDAY)
    tasks.claim(task=late, staff_id=agent.id, now=FRIDAY)

    counts = {c.group.code: c for c in tasks.open_tasks_by_group(staff_id=agent.id, now=SATURDAY)}

    assert (counts["metering"].open, counts["metering"].overdue, counts["metering"].mine) == (2, 1, 1)
    overdue = tasks.queue_tasks(group=_group("metering"), show="overdue", staff_id=agent.id, now=SATURDAY)
    assert overdue == [late]


def _request(data) -> ServiceRequest:
    return db.session.scalar(select(ServiceRequest).where(ServiceRequest.reference == data.request_reference))


def test_a_requests_category_sets_its_answer_date_from_when_it_was_opened(alpha):
    request = _request(alpha)
    request.opened_at = FRIDAY
    task = tasks.create_task(group_id=_group("front_office").id, kind="service_request", title="x", now=FRIDAY,
                             subject_type="service_request", subject_id=request.id, due_at=request.due_at)
    db.session.flush()

    requests_service.set_category(request=request, category="supply", answer_days=10, zone=PARIS, now=SATURDAY)

    # A supply interruption: 2 working days from Friday 27 → Tuesday 1 December, end of the day in Paris.
    assert request.due_at == task.due_at == datetime(2026, 12, 1, 22, 59, 59, 999999, tzinfo=UTC)
    with pytest.raises(requests_service.RequestRefused):
        requests_service.set_category(request=request, category="damaged", answer_days=10, zone=PARIS, now=SATURDAY)


def test_escalation_puts_a_task_in_the_supervisors_queue_with_the_reason(alpha):
    request = _request(alpha)
    agent, supervisor = _staff(alpha, "agent"), _staff(alpha, "supervisor")

    task = requests_service.escalate(request=request, staff_id=agent.id, reason="The customer threatens to sue.",
                                     to_staff_id=supervisor.id, allowed_staff_ids={supervisor.id}, now=SATURDAY)

    assert (task.kind, task.assignee_id, task.details) == ("request_escalation", supervisor.id,
                                                            "The customer threatens to sue.")
    assert _group("supervisors").id == task.work_group_id
    assert task.due_at == SATURDAY + timedelta(hours=4)
    assert requests_service.escalations_of(request) == [task]
    with pytest.raises(requests_service.RequestRefused):
        requests_service.escalate(request=request, staff_id=agent.id, reason="x", to_staff_id=agent.id,
                                  allowed_staff_ids={supervisor.id}, now=SATURDAY)


def test_a_reply_template_is_filled_in_the_customers_language(alpha):
    staff = _staff(alpha, "supervisor")
    english = replies.save_template(template=None, name="Meter check", locale="en", staff_id=staff.id, now=SATURDAY,
                                    body="Dear {customer_name}, {request_reference}: answer by {answer_due_date}.")
    replies.save_template(template=None, name="Meter check", locale="fr", staff_id=staff.id, now=SATURDAY,
                          body="Bonjour {customer_name}, votre demande {request_reference} : réponse le "
                               "{answer_due_date}.")
    request = _request(alpha)
    request.due_at = datetime(2026, 12, 1, 22, 59, tzinfo=UTC)

    filled = replies.fill_for(template=english, request=request, customer_name="Camille Durand",
                              customer_locale="fr", tenant_locale="en", utility_name="Alpha", staff_name="S",
                              zone=PARIS)

    assert filled.template.locale == "fr"
    assert filled.text == (f"Bonjour Camille Durand, votre demande {request.reference} : réponse le "
                           "1 décembre 2026.")


def test_a_template_with_an_unknown_placeholder_or_a_taken_name_is_refused(alpha):
    staff = _staff(alpha, "supervisor")
    replies.save_template(template=None, name="Thanks", locale="en", body="Thanks", staff_id=staff.id, now=SATURDAY)

    with pytest.raises(replies.TemplateRefused) as unknown:
        replies.save_template(template=None, name="Other", locale="en", body="{customer_name} {secret.__class__}",
                              staff_id=staff.id, now=SATURDAY)
    with pytest.raises(replies.TemplateRefused) as taken:
        replies.save_template(template=None, name="Thanks", locale="en", body="Again", staff_id=staff.id,
                              now=SATURDAY)

    assert unknown.value.code == "placeholder" and taken.value.code == "taken"
    assert [t.name for t in replies.templates()] == ["Thanks"]
