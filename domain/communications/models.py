"""Messages sent to customers and staff (what was sent, to whom, how it went), failing addresses, and the optional
notifications a customer switched off."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from domain.db import TenantScoped, UTCDateTime, public_id_column, tenant_ref, tenant_table_args, utcnow

MESSAGE_STATUSES = ("queued", "sending", "sent", "failed", "skipped")
CATEGORIES = ("transactional", "service", "marketing")


class Message(TenantScoped):
    """One e-mail: recorded when it is queued (in the transaction of what caused it), sent by a worker.

    What was sent is what is recorded: subject, bodies, sender, extra headers and Message-ID are fixed at queue
    time, and a retry sends the same bytes again (attachments are kept as references and read at send time).
    """

    __tablename__ = "messages"
    __table_args__ = tenant_table_args(
        UniqueConstraint("tenant_id", "public_id"),
        # A notification about one thing (a bill, a payment) is recorded once per kind, however often it is asked.
        UniqueConstraint("tenant_id", "kind", "reference"),
        CheckConstraint("status in ('queued', 'sending', 'sent', 'failed', 'skipped')", name="status"),
        CheckConstraint("category in ('transactional', 'service', 'marketing')", name="category"),
        Index(None, "tenant_id", "status", "next_attempt_at"),
        Index(None, "tenant_id", "account_id", "queued_at"),
        parents={"account_id": "customer_accounts", "party_id": "parties"},
    )
    __audited__ = False  # the row is itself the record of what was sent

    public_id: Mapped[str] = public_id_column()
    kind: Mapped[str] = mapped_column(String(40), nullable=False)
    category: Mapped[str] = mapped_column(String(16), nullable=False)
    reference: Mapped[str | None] = mapped_column(String(80))  # what it is about, e.g. "bill:F-2026-000123"
    recipient: Mapped[str] = mapped_column(String(254), nullable=False)
    account_id: Mapped[int | None] = tenant_ref(nullable=True)
    party_id: Mapped[int | None] = tenant_ref(nullable=True)
    locale: Mapped[str | None] = mapped_column(String(8))
    sender_name: Mapped[str] = mapped_column(String(200), nullable=False)
    sender_address: Mapped[str] = mapped_column(String(254), nullable=False)
    subject: Mapped[str] = mapped_column(String(400), nullable=False)
    text_body: Mapped[str] = mapped_column(Text, nullable=False)
    html_body: Mapped[str | None] = mapped_column(Text)
    headers: Mapped[list | None] = mapped_column(JSON)  # [[name, value], ...]
    attachments: Mapped[list | None] = mapped_column(JSON)  # [{"bill_id": 12, "filename": "F-1.pdf"}, ...]
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="queued")
    attempts: Mapped[int] = mapped_column(nullable=False, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # when a worker took it (status sending)
    # Why it is not sent (yet), for staff: `retrying` (refused for now: tried again later), `refused` (5xx: the
    # address or the message refused for good), `gave_up` (refused for now too many times), `switched_off` (an
    # optional kind the customer does not want); `failure_reason` keeps the server's answer, never a stack trace.
    failure_code: Mapped[str | None] = mapped_column(String(16))
    failure_reason: Mapped[str | None] = mapped_column(String(400))
    queued_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    message_id: Mapped[str] = mapped_column(String(250), nullable=False)


class FailingAddress(TenantScoped):
    """An address a mail server refused for good (5xx). Shown to staff in the customer file; a later successful
    send to it removes it. Keyed by the address, so a customer who changes address is no longer flagged."""

    __tablename__ = "failing_addresses"
    __table_args__ = tenant_table_args(UniqueConstraint("tenant_id", "address"))

    address: Mapped[str] = mapped_column(String(254), nullable=False)  # lower-cased
    failing_since: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    failure_reason: Mapped[str] = mapped_column(String(400), nullable=False)


class NotificationOptOut(TenantScoped):
    """An optional notification kind (domain/communications/kinds.py) a customer's online access switched off."""

    __tablename__ = "notification_opt_outs"
    __table_args__ = tenant_table_args(
        UniqueConstraint("tenant_id", "customer_user_id", "kind"),
        parents={"customer_user_id": "customer_users"},
    )

    customer_user_id: Mapped[int] = tenant_ref()
    kind: Mapped[str] = mapped_column(String(40), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
