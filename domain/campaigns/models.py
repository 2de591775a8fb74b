"""A campaign, its templates per locale, its recipients (recorded before sending, once each) and marketing opt-outs."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from domain.db import TenantScoped, UTCDateTime, public_id_column, tenant_ref, tenant_table_args, utcnow

PURPOSES = ("marketing", "service")
CAMPAIGN_STATUSES = ("draft", "scheduled", "sending", "paused", "cancelled", "completed")
RECIPIENT_STATUSES = ("pending", "sending", "sent", "failed", "skipped")


class Campaign(TenantScoped):
    """A mailing to a segment of the customers; `criteria` is the segment (domain/campaigns/segments.py)."""

    __tablename__ = "campaigns"
    __table_args__ = tenant_table_args(
        UniqueConstraint("tenant_id", "public_id"),
        CheckConstraint("purpose in ('marketing', 'service')", name="purpose"),
        CheckConstraint("status in ('draft', 'scheduled', 'sending', 'paused', 'cancelled', 'completed')",
                        name="status"),
        Index(None, "tenant_id", "created_at"),
    )

    public_id: Mapped[str] = public_id_column()
    name: Mapped[str] = mapped_column(String(120), nullable=False)
    purpose: Mapped[str] = mapped_column(String(16), nullable=False, default="marketing")
    criteria: Mapped[dict] = mapped_column(JSON, nullable=False, default=dict)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="draft")
    scheduled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_by: Mapped[str] = mapped_column(String(255), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    # Recorded when the recipients are: how many the segment gave, and how many of them were skipped.
    recipient_count: Mapped[int] = mapped_column(nullable=False, default=0)
    skipped_count: Mapped[int] = mapped_column(nullable=False, default=0)

    @property
    def is_active(self) -> bool:
        return self.status in ("scheduled", "sending")

    @property
    def editable(self) -> bool:
        return self.status == "draft"


class CampaignTemplate(TenantScoped):
    """What a campaign says in one language, written by staff (rendered in Jinja's sandbox)."""

    __tablename__ = "campaign_templates"
    __table_args__ = tenant_table_args(
        UniqueConstraint("tenant_id", "campaign_id", "locale"),
        parents={"campaign_id": "campaigns"},
    )

    campaign_id: Mapped[int] = tenant_ref()
    locale: Mapped[str] = mapped_column(String(8), nullable=False)
    subject: Mapped[str] = mapped_column(String(200), nullable=False)
    text: Mapped[str] = mapped_column(Text, nullable=False)
    html: Mapped[str | None] = mapped_column(Text)


class CampaignRecipient(TenantScoped):
    """One customer account of a campaign, recorded before anything is sent: the unique key makes a second
    record, hence a second message, impossible. Its address, name and language are kept as they were then."""

    __tablename__ = "campaign_recipients"
    __table_args__ = tenant_table_args(
        UniqueConstraint("tenant_id", "campaign_id", "account_id"),
        CheckConstraint("status in ('pending', 'sending', 'sent', 'failed', 'skipped')", name="status"),
        # The workers' claim: the next pending recipients of a campaign, in order.
        Index(None, "tenant_id", "campaign_id", "status", "id"),
        parents={"campaign_id": "campaigns", "account_id": "customer_accounts"},
    )
    __audited__ = False  # delivery bookkeeping (100,000 rows a campaign): the campaign records its own events

    campaign_id: Mapped[int] = tenant_ref()
    account_id: Mapped[int] = tenant_ref()
    email: Mapped[str | None] = mapped_column(String(254))
    name: Mapped[str] = mapped_column(String(255), nullable=False, default="")
    account_number: Mapped[str] = mapped_column(String(20), nullable=False)
    locale: Mapped[str] = mapped_column(String(8), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="pending")
    reason: Mapped[str | None] = mapped_column(String(255))  # why skipped or failed
    attempts: Mapped[int] = mapped_column(nullable=False, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class MarketingOptOut(TenantScoped):
    """A customer account that asked for no more marketing e-mail (one-click unsubscribe), with or without an
    online access; campaigns of purpose marketing never reach it again."""

    __tablename__ = "marketing_opt_outs"
    __table_args__ = tenant_table_args(
        UniqueConstraint("tenant_id", "account_id"),
        Index(None, "tenant_id", "campaign_id"),
        parents={"account_id": "customer_accounts", "campaign_id": "campaigns"},
    )

    account_id: Mapped[int] = tenant_ref()
    campaign_id: Mapped[int | None] = tenant_ref(nullable=True)
    email: Mapped[str | None] = mapped_column(String(254))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
