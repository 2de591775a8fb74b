"""A contact with a customer that staff recorded: a call (in or out), a letter, a visit, with a note."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from domain.db import BigId, TenantScoped, UTCDateTime, public_id_column, tenant_ref, tenant_table_args

CHANNELS = ("phone", "letter", "visit")
DIRECTIONS = ("inbound", "outbound")


class ContactLogEntry(TenantScoped):
    __tablename__ = "contact_log_entries"
    __table_args__ = tenant_table_args(
        UniqueConstraint("tenant_id", "public_id"),
        CheckConstraint("channel in ('phone', 'letter', 'visit')", name="channel"),
        CheckConstraint("direction in ('inbound', 'outbound')", name="direction"),
        Index(None, "tenant_id", "account_id", "occurred_at"),
        parents={"account_id": "customer_accounts"},
    )
    __audited__ = False  # the row is itself the record, written once and never changed

    public_id: Mapped[str] = public_id_column()
    account_id: Mapped[int] = tenant_ref()
    channel: Mapped[str] = mapped_column(String(16), nullable=False)
    direction: Mapped[str] = mapped_column(String(16), nullable=False)
    subject: Mapped[str | None] = mapped_column(String(200))
    note: Mapped[str] = mapped_column(Text, nullable=False)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    staff_user_id: Mapped[int | None] = mapped_column(BigId)
    staff_name: Mapped[str] = mapped_column(String(255), nullable=False)
