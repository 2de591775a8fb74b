"""Reading the audit trail."""
from __future__ import annotations

from sqlalchemy import and_, or_, select

from domain.audit.models import AuditEvent
from domain.db import db


def history_of(*, entity_type: str, entity_id: int, limit: int = 50) -> list[AuditEvent]:
    return list(db.session.scalars(
        select(AuditEvent)
        .where(AuditEvent.entity_type == entity_type, AuditEvent.entity_id == entity_id)
        .order_by(AuditEvent.occurred_at.desc(), AuditEvent.id.desc())
        .limit(limit)
    ))


def history_of_account(*, account, limit: int = 200) -> list[AuditEvent]:
    """Changes to an account, its holder and its contracts, and what the customers with an online access to it
    changed of their own details in the portal, newest first."""
    from domain.identity.models import CustomerAccess, CustomerUser

    parties = {account.holder_party_id} | set(db.session.scalars(
        select(CustomerUser.party_id).join(CustomerAccess, CustomerAccess.customer_user_id == CustomerUser.id)
        .where(CustomerAccess.account_id == account.id)))
    subjects = [("CustomerAccount", account.id)] + [("Party", party_id) for party_id in sorted(parties)]
    subjects += [("Contract", c.id) for c in account.contracts]
    condition = or_(*(and_(AuditEvent.entity_type == t, AuditEvent.entity_id == i) for t, i in subjects))
    return list(db.session.scalars(
        select(AuditEvent).where(condition).order_by(AuditEvent.occurred_at.desc(), AuditEvent.id.desc()).limit(limit)
    ))
