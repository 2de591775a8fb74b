"""Services over work queues: creating a task with its due date from the service level of its kind, claiming,
releasing, assigning, handing it to another group and closing it (each step kept in the task's history), the
queues' lists and counts."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import and_, case, func, insert, or_, select, update

from domain.db import db, new_uuid
from domain.identity.models import StaffUser
from domain.tasks import levels
from domain.tasks.models import ACTIVE_STATUSES, Task, TaskEvent, WorkGroup, WorkGroupMember
from tenants.context import require_tenant_id

log = logging.getLogger("tasks")

QUEUE_FILTERS = ("all", "mine", "unassigned", "overdue")
NOTE_MAX = 2000


class TaskRefused(ValueError):
    """A step that cannot be taken on a task; `code` says why (taken, not_yours, closed, not_member, same_group,
    note_missing, note_long, group)."""

    def __init__(self, code: str, *, holder: str | None = None):
        super().__init__(code)
        self.code = code
        self.holder = holder


# --- creating ---------------------------------------------------------------------------------------------------------

def _tenant_zone() -> ZoneInfo:
    from tenants.models import Tenant

    tenant = db.session.get(Tenant, require_tenant_id())
    return ZoneInfo(tenant.timezone if tenant is not None and tenant.timezone else "UTC")


def create_task(*, group_id: int, kind: str, title: str, now: datetime, params: dict | None = None,
                details: str | None = None, subject_type: str | None = None, subject_id: int | None = None,
                due_at: datetime | None = None, status: str = "open", assignee_id: int | None = None,
                created_at: datetime | None = None, level: levels.Level | None = None) -> Task:
    """Add a task to a group's queue, due by its kind's service level (the tenant's own, else the default).

    `due_at` is given only by a process whose task follows another clock (a service request's task is due when the
    request's answer is). The task is added to the session, not flushed: a process creating many flushes once, and
    passes `level` (`levels.task_level(kind)`, read once): reading it per task would query, and autoflush, each time."""
    created_at = created_at or now
    if due_at is None:
        due_at = levels.due_at(level or levels.task_level(kind), start=created_at, zone=_tenant_zone())
    task = Task(work_group_id=group_id, kind=kind, title=title[:200], params=params, details=details,
                subject_type=subject_type, subject_id=subject_id, created_at=created_at, due_at=due_at,
                status=status, assignee_id=assignee_id)
    db.session.add(task)
    return task


def add_tasks(*, group_id: int, kind: str, tasks: list[dict], now: datetime, level: levels.Level | None = None) -> None:
    """Many open tasks of one kind in one multi-row INSERT (a batch of readings' checks), each dict giving `title`,
    `params`, `details`, `subject_type` and `subject_id`; all due by the kind's service level from `now`. No ORM
    object per task, so no audit row per task either: the caller records the batch."""
    if not tasks:
        return
    due_at = levels.due_at(level or levels.task_level(kind), start=now, zone=_tenant_zone())
    tenant_id = require_tenant_id()
    db.session.execute(insert(Task.__table__), [
        {"tenant_id": tenant_id, "public_id": new_uuid(), "work_group_id": group_id, "kind": kind,
         "title": task["title"][:200], "params": task.get("params"), "details": task.get("details"),
         "status": "open", "subject_type": task.get("subject_type"), "subject_id": task.get("subject_id"),
         "created_at": now, "due_at": due_at} for task in tasks])


# --- reading ----------------------------------------------------------------------------------------------------------

def work_group_by_code(code: str) -> WorkGroup | None:
    return db.session.scalar(select(WorkGroup).where(WorkGroup.code == code))


def work_groups() -> list[WorkGroup]:
    return list(db.session.scalars(select(WorkGroup).order_by(WorkGroup.name)))


def task_by_public_id(public_id: str) -> Task | None:
    return db.session.scalar(select(Task).where(Task.public_id == public_id))


@dataclass
class QueueCount:
    group: WorkGroup
    open: int
    overdue: int
    mine: int


def open_tasks_by_group(*, staff_id: int | None = None, now: datetime | None = None) -> list[QueueCount]:
    """Every group with its tasks still to do, how many are overdue and how many are this staff member's."""
    active = Task.status.in_(ACTIVE_STATUSES)
    overdue = and_(active, Task.due_at < now) if now is not None else False
    rows = db.session.execute(
        select(WorkGroup, func.count(Task.id),
               func.coalesce(func.sum(case((overdue, 1), else_=0)), 0),
               func.coalesce(func.sum(case((Task.assignee_id == staff_id, 1), else_=0)), 0) if staff_id else 0)
        .outerjoin(Task, (Task.work_group_id == WorkGroup.id) & active)
        .group_by(WorkGroup.id)
        .order_by(WorkGroup.name)
    )
    return [QueueCount(group, count, int(late or 0), int(mine or 0)) for group, count, late, mine in rows]


def _queue_query(*, group: WorkGroup, show: str, staff_id: int, now: datetime):
    stmt = select(Task).where(Task.work_group_id == group.id, Task.status.in_(ACTIVE_STATUSES))
    if show == "mine":
        stmt = stmt.where(Task.assignee_id == staff_id)
    elif show == "unassigned":
        stmt = stmt.where(Task.assignee_id.is_(None))
    elif show == "overdue":
        stmt = stmt.where(Task.due_at < now)
    return stmt.order_by(Task.due_at.is_(None), Task.due_at, Task.created_at, Task.id)


def queue_tasks(*, group: WorkGroup, show: str = "all", staff_id: int, now: datetime,
                limit: int | None = 200) -> list[Task]:
    """The group's tasks still to do under a filter (all, mine, unassigned, overdue), the earliest due first (no due
    date last); `limit` None for an export."""
    return list(db.session.scalars(_queue_query(group=group, show=show, staff_id=staff_id, now=now).limit(limit)))


def is_overdue(task: Task, *, now: datetime) -> bool:
    return task.status in ACTIVE_STATUSES and task.due_at is not None and task.due_at < now


def history_of(task: Task) -> list[TaskEvent]:
    return list(db.session.scalars(select(TaskEvent).where(TaskEvent.task_id == task.id)
                                   .order_by(TaskEvent.at, TaskEvent.id)))


def staff_names(ids) -> dict[int, str]:
    ids = {i for i in ids if i}
    if not ids:
        return {}
    return dict(db.session.execute(select(StaffUser.id, StaffUser.full_name).where(StaffUser.id.in_(ids))).all())


def group_names(ids) -> dict[int, WorkGroup]:
    ids = {i for i in ids if i}
    if not ids:
        return {}
    return {g.id: g for g in db.session.scalars(select(WorkGroup).where(WorkGroup.id.in_(ids)))}


def members_of(group: WorkGroup) -> list[StaffUser]:
    """The active staff members of a group, by name: whom a task of its queue can be assigned to."""
    return list(db.session.scalars(
        select(StaffUser).join(WorkGroupMember, WorkGroupMember.staff_user_id == StaffUser.id)
        .where(WorkGroupMember.work_group_id == group.id, StaffUser.is_active.is_(True))
        .order_by(StaffUser.full_name, StaffUser.id)))


# --- steps ------------------------------------------------------------------------------------------------------------

def _event(task: Task, *, action: str, staff_id: int | None, now: datetime, note: str | None = None,
           from_group: int | None = None, to_group: int | None = None, from_assignee: int | None = None,
           to_assignee: int | None = None) -> TaskEvent:
    event = TaskEvent(task_id=task.id, at=now, staff_user_id=staff_id, action=action, note=note or None,
                      from_group_id=from_group, to_group_id=to_group, from_assignee_id=from_assignee,
                      to_assignee_id=to_assignee)
    db.session.add(event)
    return event


def _note(note: str | None, *, required: bool) -> str | None:
    note = (note or "").strip()
    if required and not note:
        raise TaskRefused("note_missing")
    if len(note) > NOTE_MAX:
        raise TaskRefused("note_long")
    return note or None


def _holder_name(task: Task) -> str | None:
    return staff_names([task.assignee_id]).get(task.assignee_id) if task.assignee_id else None


def claim(*, task: Task, staff_id: int, now: datetime) -> Task:
    """Take a task: it becomes this staff member's, in progress. One conditional update decides between two staff
    claiming at once (the second finds the row changed and is refused with the name of who has it)."""
    result = db.session.execute(
        update(Task)
        .where(Task.tenant_id == require_tenant_id(), Task.id == task.id, Task.status == "open",
               or_(Task.assignee_id.is_(None), Task.assignee_id == staff_id))
        .values(status="in_progress", assignee_id=staff_id)
        .execution_options(synchronize_session=False))
    db.session.refresh(task)
    if result.rowcount != 1:
        if task.status not in ACTIVE_STATUSES:
            raise TaskRefused("closed")
        if task.assignee_id == staff_id:
            return task  # already theirs and in progress: nothing to do
        raise TaskRefused("taken", holder=_holder_name(task))
    _event(task, action="claimed", staff_id=staff_id, now=now, to_assignee=staff_id)
    db.session.flush()
    log.info("task claimed tenant=%s task=%s staff=%s", task.tenant_id, task.public_id, staff_id)
    return task


def _lock(task: Task) -> Task:
    """Re-read the task with its row locked (PostgreSQL) so a step decides on what is stored, not on a stale copy."""
    return db.session.scalar(select(Task).where(Task.id == task.id).with_for_update()
                             .execution_options(populate_existing=True))


def _check_may_act(task: Task, *, staff_id: int, may_assign: bool) -> None:
    if task.status not in ACTIVE_STATUSES:
        raise TaskRefused("closed")
    if task.assignee_id not in (None, staff_id) and not may_assign:
        raise TaskRefused("not_yours", holder=_holder_name(task))


def release(*, task: Task, staff_id: int, may_assign: bool, now: datetime) -> Task:
    """Give a task back to the queue: nobody's, to do."""
    task = _lock(task)
    _check_may_act(task, staff_id=staff_id, may_assign=may_assign)
    if task.assignee_id is None and task.status == "open":
        return task
    before = task.assignee_id
    task.assignee_id, task.status = None, "open"
    _event(task, action="released", staff_id=staff_id, now=now, from_assignee=before)
    db.session.flush()
    return task


def assign(*, task: Task, staff_id: int, assignee_id: int, now: datetime) -> Task:
    """Give a task to a member of its group (a supervisor's step: the caller checks tasks.assign)."""
    task = _lock(task)
    if task.status not in ACTIVE_STATUSES:
        raise TaskRefused("closed")
    group = db.session.get(WorkGroup, task.work_group_id)
    if assignee_id not in {m.id for m in members_of(group)}:
        raise TaskRefused("not_member")
    if task.assignee_id == assignee_id:
        return task
    before = task.assignee_id
    task.assignee_id, task.status = assignee_id, "open"
    _event(task, action="assigned", staff_id=staff_id, now=now, from_assignee=before, to_assignee=assignee_id)
    db.session.flush()
    return task


def transfer(*, task: Task, staff_id: int, to_group: WorkGroup | None, note: str | None, may_assign: bool,
             now: datetime) -> Task:
    """Hand a task to another work group with a note saying why; it waits there for someone to take it."""
    note = _note(note, required=True)
    task = _lock(task)
    _check_may_act(task, staff_id=staff_id, may_assign=may_assign)
    if to_group is None:
        raise TaskRefused("group")
    if to_group.id == task.work_group_id:
        raise TaskRefused("same_group")
    before_group, before_assignee = task.work_group_id, task.assignee_id
    task.work_group_id, task.assignee_id, task.status = to_group.id, None, "open"
    _event(task, action="transferred", staff_id=staff_id, now=now, note=note, from_group=before_group,
           to_group=to_group.id, from_assignee=before_assignee)
    db.session.flush()
    db.session.expire(task, ["work_group"])
    log.info("task transferred tenant=%s task=%s from=%s to=%s staff=%s", task.tenant_id, task.public_id,
             before_group, to_group.id, staff_id)
    return task


def close(*, task: Task, staff_id: int, outcome: str, note: str | None, may_assign: bool, now: datetime) -> Task:
    """Finish a task (`done`) or drop it (`cancelled`, which needs a note saying why)."""
    if outcome not in ("done", "cancelled"):
        raise TaskRefused("outcome")
    note = _note(note, required=outcome == "cancelled")
    task = _lock(task)
    _check_may_act(task, staff_id=staff_id, may_assign=may_assign)
    task.status, task.done_at = outcome, now
    if task.assignee_id is None:
        task.assignee_id = staff_id
    _event(task, action=outcome, staff_id=staff_id, now=now, note=note)
    db.session.flush()
    return task


def close_tasks(*, kind: str, subject_type: str, subject_ids: set[int], staff_user_id: int | None,
                now: datetime) -> list[Task]:
    """Mark the open tasks of `kind` about these subjects done by a staff member; returns them (none: nothing)."""
    if not subject_ids:
        return []
    tasks = list(db.session.scalars(select(Task).where(
        Task.kind == kind, Task.subject_type == subject_type, Task.subject_id.in_(subject_ids),
        Task.status.in_(ACTIVE_STATUSES))))
    for task in tasks:
        task.status = "done"
        task.done_at = now
        if staff_user_id is not None:
            task.assignee_id = staff_user_id
        _event(task, action="done", staff_id=staff_user_id, now=now)
    db.session.flush()
    return tasks


def follow_subject(*, task: Task, done: bool, now: datetime, staff_id: int | None = None) -> None:
    """A process closed (or reopened) what the task is about: the task follows, and its history says so."""
    if done and task.status in ACTIVE_STATUSES:
        task.status, task.done_at = "done", now
        _event(task, action="done", staff_id=staff_id, now=now)
    elif not done and task.status == "done":
        task.status, task.done_at = "open", None
        _event(task, action="reopened", staff_id=staff_id, now=now)
