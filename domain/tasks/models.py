"""Work groups and the tasks that processes create for staff."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from domain.db import BigId, TenantScoped, UTCDateTime, tenant_ref, tenant_table_args

TASK_STATUSES = ("open", "in_progress", "done", "cancelled")


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
        parents={"work_group_id": "work_groups", "assignee_id": "staff_users"},
    )

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
