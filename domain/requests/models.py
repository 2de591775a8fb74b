"""Service requests and complaints about an account or a point of delivery, with messages."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, Date, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from domain.db import (
    BigId, TenantScoped, UTCDateTime, public_id_column, tenant_ref, tenant_table_args, updated_at_column,
    updated_at_index,
)

REQUEST_KINDS = ("complaint", "move_in", "move_out", "offer_change", "meter_problem", "intervention", "other")
REQUEST_STATUSES = ("open", "in_progress", "waiting_customer", "resolved", "closed")


class ServiceRequest(TenantScoped):
    __tablename__ = "service_requests"
    __table_args__ = tenant_table_args(
        updated_at_index(),
        UniqueConstraint("tenant_id", "reference"),
        CheckConstraint(
            "kind in ('complaint', 'move_in', 'move_out', 'offer_change', 'meter_problem', 'intervention', 'other')",
            name="kind",
        ),
        CheckConstraint(
            "status in ('open', 'in_progress', 'waiting_customer', 'resolved', 'closed')", name="status",
        ),
        Index(None, "tenant_id", "status", "due_at"),
        Index(None, "tenant_id", "kind", "category"),
        parents={"account_id": "customer_accounts", "delivery_point_id": "delivery_points",
                 "contract_id": "contracts", "final_reading_id": "meter_readings"},
    )

    reference: Mapped[str] = mapped_column(String(20), nullable=False)
    account_id: Mapped[int] = tenant_ref()
    delivery_point_id: Mapped[int | None] = tenant_ref(nullable=True)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="open")
    subject: Mapped[str] = mapped_column(String(200), nullable=False)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    description: Mapped[str | None] = mapped_column(Text)
    # Move in / move out: the date it takes effect; move out also records the final reading.
    effective_on: Mapped[date | None] = mapped_column(Date)
    contract_id: Mapped[int | None] = tenant_ref(nullable=True)
    final_reading_id: Mapped[int | None] = tenant_ref(nullable=True)
    opened_by_user_id: Mapped[int | None] = mapped_column(BigId)
    # What the request is about within its kind (domain.requests.categories); its service level sets `due_at`.
    category: Mapped[str | None] = mapped_column(String(32))
    # When the customer last looked at it: newer staff messages are shown as "reply to read".
    customer_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = updated_at_column()

    messages: Mapped[list[RequestMessage]] = relationship(
        back_populates="request", foreign_keys="RequestMessage.request_id",
        primaryjoin="ServiceRequest.id == RequestMessage.request_id", order_by="RequestMessage.sent_at",
    )


class RequestMessage(TenantScoped):
    __tablename__ = "request_messages"
    __table_args__ = tenant_table_args(
        CheckConstraint("author_kind in ('customer', 'staff', 'system')", name="author_kind"),
        parents={"request_id": "service_requests"},
    )

    request_id: Mapped[int] = tenant_ref()
    author_kind: Mapped[str] = mapped_column(String(16), nullable=False)
    author_id: Mapped[int | None] = mapped_column(BigId)
    body: Mapped[str] = mapped_column(Text, nullable=False)
    internal: Mapped[bool] = mapped_column(nullable=False, default=False)
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)

    request: Mapped[ServiceRequest] = relationship(
        back_populates="messages", foreign_keys=[request_id],
        primaryjoin="ServiceRequest.id == RequestMessage.request_id",
    )


class RequestAttachment(TenantScoped):
    """A file attached to a request (by the customer or staff), stored under the tenant's prefix."""

    __tablename__ = "request_attachments"
    __table_args__ = tenant_table_args(
        UniqueConstraint("tenant_id", "public_id"),
        CheckConstraint("size_bytes > 0", name="size_positive"),
        parents={"request_id": "service_requests", "message_id": "request_messages"},
    )

    public_id: Mapped[str] = public_id_column()
    request_id: Mapped[int] = tenant_ref()
    message_id: Mapped[int | None] = tenant_ref(nullable=True)
    filename: Mapped[str] = mapped_column(String(200), nullable=False)
    content_type: Mapped[str] = mapped_column(String(100), nullable=False)
    size_bytes: Mapped[int] = mapped_column(nullable=False)
    storage_key: Mapped[str] = mapped_column(String(255), nullable=False)
    uploaded_by_kind: Mapped[str] = mapped_column(String(16), nullable=False)  # customer, staff
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)


class RequestNumberSequence(TenantScoped):
    """The next request number per tenant and year (`R<year>-<number>`), taken when a request is opened."""

    __tablename__ = "request_number_sequences"
    __table_args__ = tenant_table_args(UniqueConstraint("tenant_id", "year"))
    __audited__ = False

    year: Mapped[int] = mapped_column(nullable=False)
    next_value: Mapped[int] = mapped_column(nullable=False, default=1)


class ReplyTemplate(TenantScoped):
    """A ready answer staff start a reply from, one row per name and language; `{customer_name}`-style placeholders
    are filled for the request it answers (domain.requests.replies)."""

    __tablename__ = "reply_templates"
    __table_args__ = tenant_table_args(
        UniqueConstraint("tenant_id", "public_id"),
        UniqueConstraint("tenant_id", "name", "locale"),
    )

    public_id: Mapped[str] = public_id_column()
    name: Mapped[str] = mapped_column(String(120), nullable=False)
    locale: Mapped[str] = mapped_column(String(8), nullable=False)
    body: Mapped[str] = mapped_column(Text, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    updated_by_id: Mapped[int | None] = mapped_column(BigId)
