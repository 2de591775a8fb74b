"""Work groups and the tasks that processes create for staff."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from domain.db import BigId, TenantScoped, UTCDateTime, public_id_column, tenant_ref, tenant_table_args

TASK_STATUSES = ("open", "in_progress", "done", "cancelled")
ACTIVE_STATUSES = ("open", "in_progress")
TASK_EVENT_ACTIONS = ("claimed", "released", "assigned", "transferred", "done", "cancelled", "reopened")


class WorkGroup(TenantScoped):
    __tablename__ = "work_groups"
    __table_args__ = tenant_table_args(UniqueConstraint("tenant_id", "code"))

    code: Mapped[str] = mapped_column(String(32), nullable=False)
    name: Mapped[str] = mapped_column(String(120), nullable=False)


class WorkGroupMember(TenantScoped):
    """A staff member belongs to a work group: its queue is theirs to work (set by a tenant administrator)."""

    __tablename__ = "work_group_members"
    __table_args__ = tenant_table_args(
        UniqueConstraint("tenant_id", "work_group_id", "staff_user_id"),
        parents={"work_group_id": "work_groups", "staff_user_id": "staff_users"},
    )

    work_group_id: Mapped[int] = tenant_ref()
    staff_user_id: Mapped[int] = tenant_ref()


class Task(TenantScoped):
    __tablename__ = "tasks"
    __table_args__ = tenant_table_args(
        CheckConstraint("status in ('open', 'in_progress', 'done', 'cancelled')", name="status"),
        Index(None, "tenant_id", "work_group_id", "status", "due_at"),
        Index(None, "tenant_id", "subject_type", "subject_id"),
        Index(None, "tenant_id", "assignee_id", "status"),
        UniqueConstraint("tenant_id", "public_id"),
        parents={"work_group_id": "work_groups", "assignee_id": "staff_users"},
    )

    public_id: Mapped[str] = public_id_column()  # in URLs: never the sequential id

    work_group_id: Mapped[int] = tenant_ref()
    kind: Mapped[str] = mapped_column(String(40), nullable=False)  # reading_check, billing_exception, ...
    title: Mapped[str] = mapped_column(String(200), nullable=False)  # English, as logged; staff read `params`
    # The values the title is made of (kind-specific, JSON-safe), so the back office words it in the staff
    # member's language; tasks without them (made before) show `title`.
    params: Mapped[dict | None] = mapped_column(JSON)
    details: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="open")
    subject_type: Mapped[str | None] = mapped_column(String(40))
    subject_id: Mapped[int | None] = mapped_column(BigId)
    assignee_id: Mapped[int | None] = tenant_ref(nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    work_group: Mapped[WorkGroup] = relationship(
        foreign_keys=[work_group_id], primaryjoin="WorkGroup.id == Task.work_group_id",
    )


class TaskEvent(TenantScoped):
    """One step of a task's history: who claimed, released, assigned, handed it to another group or closed it, when,
    from where to where, and the note they wrote."""

    __tablename__ = "task_events"
    __table_args__ = tenant_table_args(
        CheckConstraint("action in ('claimed', 'released', 'assigned', 'transferred', 'done', 'cancelled', "
                        "'reopened')", name="action"),
        Index(None, "tenant_id", "task_id", "at"),
        parents={"task_id": "tasks", "staff_user_id": "staff_users", "from_group_id": "work_groups",
                 "to_group_id": "work_groups", "from_assignee_id": "staff_users", "to_assignee_id": "staff_users"},
    )
    __audited__ = False  # it is the history

    task_id: Mapped[int] = tenant_ref()
    at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    staff_user_id: Mapped[int | None] = tenant_ref(nullable=True)  # None: a process did it
    action: Mapped[str] = mapped_column(String(16), nullable=False)
    from_group_id: Mapped[int | None] = tenant_ref(nullable=True)
    to_group_id: Mapped[int | None] = tenant_ref(nullable=True)
    from_assignee_id: Mapped[int | None] = tenant_ref(nullable=True)
    to_assignee_id: Mapped[int | None] = tenant_ref(nullable=True)
    note: Mapped[str | None] = mapped_column(Text)


class ServiceLevel(TenantScoped):
    """A tenant's own service level for a kind of task (`scope` task) or a category of request (`scope` request);
    kinds and categories without a row use the product's defaults (domain.tasks.levels)."""

    __tablename__ = "service_levels"
    __table_args__ = tenant_table_args(
        UniqueConstraint("tenant_id", "scope", "code"),
        CheckConstraint("scope in ('task', 'request')", name="scope"),
        CheckConstraint("unit in ('hours', 'days', 'working_days')", name="unit"),
        CheckConstraint("amount > 0", name="amount_positive"),
    )

    scope: Mapped[str] = mapped_column(String(16), nullable=False)
    code: Mapped[str] = mapped_column(String(40), nullable=False)
    amount: Mapped[int] = mapped_column(nullable=False)
    unit: Mapped[str] = mapped_column(String(16), nullable=False)
