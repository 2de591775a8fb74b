"""Read services over work queues."""
from __future__ import annotations

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
