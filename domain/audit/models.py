"""One audit event per insert, update or delete of a business object."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from domain.db import BigId, TenantScoped, UTCDateTime, tenant_table_args


class AuditEvent(TenantScoped):
    __tablename__ = "audit_events"
    __table_args__ = tenant_table_args(
        Index(None, "tenant_id", "entity_type", "entity_id", "occurred_at"),
        Index(None, "tenant_id", "occurred_at"),
    )
    __audited__ = False

    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    actor_kind: Mapped[str] = mapped_column(String(16), nullable=False)
    actor_id: Mapped[int | None] = mapped_column(BigId)
    actor_label: Mapped[str] = mapped_column(String(255), nullable=False)
    action: Mapped[str] = mapped_column(String(40), nullable=False)  # insert, update, delete, or a business verb
    entity_type: Mapped[str] = mapped_column(String(64), nullable=False)
    entity_id: Mapped[int | None] = mapped_column(BigId)
    changes: Mapped[dict] = mapped_column(JSON, nullable=False, default=dict)
