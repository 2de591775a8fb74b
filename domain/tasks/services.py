"""Services over work queues: counts per group, closing the tasks a process opened."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select

from domain.db import db
from domain.tasks.models import Task, WorkGroup


def open_tasks_by_group() -> list[tuple[WorkGroup, int]]:
    rows = db.session.execute(
        select(WorkGroup, func.count(Task.id))
        .outerjoin(Task, (Task.work_group_id == WorkGroup.id) & (Task.status.in_(("open", "in_progress"))))
        .group_by(WorkGroup.id)
        .order_by(WorkGroup.name)
    )
    return [(group, count) for group, count in rows]


def work_group_by_code(code: str) -> WorkGroup | None:
    return db.session.scalar(select(WorkGroup).where(WorkGroup.code == code))


def open_tasks(*, group: WorkGroup, limit: int = 200) -> list[Task]:
    """The group's tasks still to do, the most urgent first (no due date last, then the oldest)."""
    return list(db.session.scalars(
        select(Task).where(Task.work_group_id == group.id, Task.status.in_(("open", "in_progress")))
        .order_by(Task.due_at.is_(None), Task.due_at, Task.created_at, Task.id).limit(limit)))


def close_tasks(*, kind: str, subject_type: str, subject_ids: set[int], staff_user_id: int | None,
                now: datetime) -> list[Task]:
    """Mark the open tasks of `kind` about these subjects done by a staff member; returns them (none: nothing)."""
    if not subject_ids:
        return []
    tasks = list(db.session.scalars(select(Task).where(
        Task.kind == kind, Task.subject_type == subject_type, Task.subject_id.in_(subject_ids),
        Task.status.in_(("open", "in_progress")))))
    for task in tasks:
        task.status = "done"
        task.done_at = now
        if staff_user_id is not None:
            task.assignee_id = staff_user_id
    db.session.flush()
    return tasks
