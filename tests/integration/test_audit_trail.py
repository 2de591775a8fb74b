"""Every change to a business object is recorded (who, when, what before and after) without the service asking."""
from __future__ import annotations

from sqlalchemy import select

from domain.audit.actor import Actor, acting_as
from domain.audit.models import AuditEvent
from domain.contracts.models import CustomerAccount
from domain.db import db
from domain.identity.models import CustomerUser
from tenants.context import tenant_scope


def test_update_records_before_and_after_with_the_actor(ctx, two_tenants):
    a, _ = two_tenants
    with tenant_scope(a.tenant_id), acting_as(Actor("staff", 7, "agent@alpha.test")):
        account = db.session.scalar(select(CustomerAccount))
        account.paperless = True
        account.payment_method = "direct_debit"
        db.session.commit()

        event = db.session.scalars(
            select(AuditEvent).where(AuditEvent.entity_type == "CustomerAccount", AuditEvent.action == "update")
        ).one()

    assert event.actor_kind == "staff" and event.actor_id == 7 and event.actor_label == "agent@alpha.test"
    assert event.entity_id == account.id
    assert event.changes == {
        "paperless": {"before": False, "after": True},
        "payment_method": {"before": "transfer", "after": "direct_debit"},
    }
    assert event.occurred_at.tzinfo is not None


def test_insert_and_delete_are_recorded(ctx, two_tenants):
    a, _ = two_tenants
    from domain.tasks.models import WorkGroup

    with tenant_scope(a.tenant_id):
        group = WorkGroup(code="audit", name="Audit me")
        db.session.add(group)
        db.session.commit()
        db.session.delete(group)
        db.session.commit()
        actions = db.session.scalars(
            select(AuditEvent.action).where(AuditEvent.entity_type == "WorkGroup", AuditEvent.entity_id == group.id)
            .order_by(AuditEvent.id)
        ).all()

    assert actions == ["insert", "delete"]


def test_secrets_are_never_written_to_the_trail(ctx, two_tenants):
    a, _ = two_tenants
    with tenant_scope(a.tenant_id):
        user = db.session.scalar(select(CustomerUser))
        old_hash = user.password_hash
        user.password_hash = "$argon2id$new"
        db.session.commit()
        events = db.session.scalars(select(AuditEvent).where(AuditEvent.entity_type == "CustomerUser")).all()

    text = repr([e.changes for e in events])
    assert "argon2id" not in text and old_hash not in text
    assert any(e.changes.get("password_hash") == {"before": "[redacted]", "after": "[redacted]"} for e in events)


def test_audit_events_belong_to_the_tenant_of_the_object(ctx, two_tenants):
    a, b = two_tenants
    with tenant_scope(b.tenant_id):
        events_b = db.session.scalars(select(AuditEvent)).all()

    assert events_b and all(e.tenant_id == b.tenant_id for e in events_b)
