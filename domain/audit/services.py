"""Reading the audit trail."""
from __future__ import annotations

from sqlalchemy import select

from domain.audit.models import AuditEvent
from domain.db import db


def history_of(*, entity_type: str, entity_id: int, limit: int = 50) -> list[AuditEvent]:
    return list(db.session.scalars(
        select(AuditEvent)
        .where(AuditEvent.entity_type == entity_type, AuditEvent.entity_id == entity_id)
        .order_by(AuditEvent.occurred_at.desc(), AuditEvent.id.desc())
        .limit(limit)
    ))
