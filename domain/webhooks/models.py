"""Webhook subscriptions of a tenant, the events recorded for them, their deliveries and every attempt made."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from domain.db import TenantScoped, UTCDateTime, public_id_column, tenant_ref, tenant_table_args

EVENT_TYPES = ("bill.issued", "payment.received", "reading.accepted", "reading.rejected", "request.updated",
               "customer.updated")
TEST_EVENT = "webhook.test"  # sent by the administrator's "send a test event" button, to one subscription only
SUBSCRIPTION_STATUSES = ("active", "paused")
DELIVERY_STATUSES = ("pending", "delivered", "failed")


class WebhookSubscription(TenantScoped):
    __tablename__ = "webhook_subscriptions"
    __table_args__ = tenant_table_args(
        UniqueConstraint("tenant_id", "public_id"),
        CheckConstraint("status in ('active', 'paused')", name="status"),
        Index(None, "tenant_id", "status"),
    )
    __audit_exclude__ = ("secret_sealed",)

    public_id: Mapped[str] = public_id_column()
    url: Mapped[str] = mapped_column(String(2000), nullable=False)
    description: Mapped[str | None] = mapped_column(String(200))
    event_types: Mapped[list] = mapped_column(JSON, nullable=False, default=list)
    # The signing secret sealed with tenants/secrets.py (Fernet): shown once to the administrator, opened to sign.
    secret_sealed: Mapped[str] = mapped_column(Text, nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="active")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)

    def receives_now(self, event_type: str) -> bool:
        """Whether an event of this type goes out to it now: nothing but test events while the utility has paused
        it (the others wait, pending, until it is resumed)."""
        return self.status != "paused" or event_type == TEST_EVENT


class WebhookEvent(TenantScoped):
    __tablename__ = "webhook_events"
    __table_args__ = tenant_table_args(
        UniqueConstraint("tenant_id", "public_id"),
        Index(None, "tenant_id", "occurred_at"),
    )
    __audited__ = False  # a record of a fact, written once

    public_id: Mapped[str] = public_id_column()
    event_type: Mapped[str] = mapped_column(String(40), nullable=False)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    # The object as JSON text, fixed when the event is recorded: every delivery and replay sends the same bytes.
    payload: Mapped[str] = mapped_column(Text, nullable=False)


class WebhookDelivery(TenantScoped):
    __tablename__ = "webhook_deliveries"
    __table_args__ = tenant_table_args(
        UniqueConstraint("tenant_id", "public_id"),
        UniqueConstraint("tenant_id", "subscription_id", "event_id"),
        CheckConstraint("status in ('pending', 'delivered', 'failed')", name="status"),
        Index(None, "tenant_id", "subscription_id", "id"),
        parents={"subscription_id": "webhook_subscriptions", "event_id": "webhook_events"},
    )
    __audited__ = False  # its attempts are its history

    public_id: Mapped[str] = public_id_column()
    subscription_id: Mapped[int] = tenant_ref()
    event_id: Mapped[int] = tenant_ref()
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="pending")
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)


class WebhookAttempt(TenantScoped):
    __tablename__ = "webhook_attempts"
    __table_args__ = tenant_table_args(
        UniqueConstraint("tenant_id", "delivery_id", "number"),
        parents={"delivery_id": "webhook_deliveries"},
    )
    __audited__ = False

    delivery_id: Mapped[int] = tenant_ref()
    number: Mapped[int] = mapped_column(Integer, nullable=False)
    attempted_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    status_code: Mapped[int | None] = mapped_column(Integer)
    response_excerpt: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(String(500))
    duration_ms: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
