"""Dunning levels and settings per tenant, dunning steps (one per bill and level), the letters they printed, payment
arrangements with their instalments, and disputes on bills."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, Date, Index, String, Text, UniqueConstraint, false, text
from sqlalchemy.orm import Mapped, mapped_column

from domain.db import Money, TenantScoped, UTCDateTime, public_id_column, tenant_ref, tenant_table_args

CHANNELS = ("letter", "email")
ARRANGEMENT_STATUSES = ("active", "completed", "broken", "cancelled")
DISPUTE_STATUSES = ("open", "upheld", "rejected")
DISPUTE_REASONS = ("amount", "reading", "not_mine", "service", "other")


class DunningLevel(TenantScoped):
    """One level of the tenant's dunning (1 reminder, 2 second reminder, 3 formal notice)."""

    __tablename__ = "dunning_levels"
    __table_args__ = tenant_table_args(
        UniqueConstraint("tenant_id", "position"),
        CheckConstraint("position between 1 and 3", name="position"),
        CheckConstraint("delay_days between 1 and 365", name="delay_days"),
        CheckConstraint("fee >= 0", name="fee"),
        CheckConstraint("channel in ('letter', 'email')", name="channel"),
    )

    position: Mapped[int] = mapped_column(nullable=False)
    delay_days: Mapped[int] = mapped_column(nullable=False)  # after the bill's due date
    fee: Mapped[Decimal] = mapped_column(Money, nullable=False)
    channel: Mapped[str] = mapped_column(String(8), nullable=False)


class DunningSettings(TenantScoped):
    """The limits of payment arrangements customers may set up themselves, and the grace after an instalment."""

    __tablename__ = "dunning_settings"
    __table_args__ = tenant_table_args(
        UniqueConstraint("tenant_id"),
        CheckConstraint("max_instalments between 2 and 24", name="max_instalments"),
        CheckConstraint("max_days between 7 and 730", name="max_days"),
        CheckConstraint("min_instalment >= 0", name="min_instalment"),
        CheckConstraint("grace_days between 0 and 60", name="grace_days"),
    )

    portal_arrangements: Mapped[bool] = mapped_column(nullable=False, default=True)
    max_instalments: Mapped[int] = mapped_column(nullable=False)
    max_days: Mapped[int] = mapped_column(nullable=False)
    min_instalment: Mapped[Decimal] = mapped_column(Money, nullable=False)
    grace_days: Mapped[int] = mapped_column(nullable=False)


class DunningStep(TenantScoped):
    """A level reached by one bill: written once, with its message or letter and its fee, in one transaction."""

    __tablename__ = "dunning_steps"
    __table_args__ = tenant_table_args(
        UniqueConstraint("tenant_id", "bill_id", "level"),
        CheckConstraint("level between 1 and 3", name="level"),
        CheckConstraint("channel in ('letter', 'email')", name="channel"),
        CheckConstraint("fee >= 0", name="fee"),
        Index(None, "tenant_id", "account_id", "done_on"),
        parents={"bill_id": "bills", "account_id": "customer_accounts", "message_id": "messages",
                 "letter_id": "dunning_letters", "task_id": "tasks"},
    )
    __audited__ = False  # the row is itself the record of what was done

    bill_id: Mapped[int] = tenant_ref()
    account_id: Mapped[int] = tenant_ref()
    level: Mapped[int] = mapped_column(nullable=False)
    done_on: Mapped[date] = mapped_column(Date, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    outstanding: Mapped[Decimal] = mapped_column(Money, nullable=False)  # left to pay on the bill that day
    fee: Mapped[Decimal] = mapped_column(Money, nullable=False)
    channel: Mapped[str] = mapped_column(String(8), nullable=False)
    message_id: Mapped[int | None] = tenant_ref(nullable=True)
    letter_id: Mapped[int | None] = tenant_ref(nullable=True)
    task_id: Mapped[int | None] = tenant_ref(nullable=True)
    ledger_entry_id: Mapped[int | None] = mapped_column()  # the fee's debit (ledger entries have no tenant key)


class DunningLetter(TenantScoped):
    """A dunning letter: its PDF rendered once and stored, to print and post; staff mark it sent."""

    __tablename__ = "dunning_letters"
    __table_args__ = tenant_table_args(
        UniqueConstraint("tenant_id", "public_id"),
        UniqueConstraint("tenant_id", "reference"),
        Index(None, "tenant_id", "sent_at", "created_at"),
        parents={"account_id": "customer_accounts"},
    )
    __audited__ = False

    public_id: Mapped[str] = public_id_column()
    account_id: Mapped[int] = tenant_ref()
    reference: Mapped[str] = mapped_column(String(80), nullable=False)  # dunning:<bill number>:<level>
    subject: Mapped[str] = mapped_column(String(400), nullable=False)
    document_path: Mapped[str] = mapped_column(String(255), nullable=False)
    document_sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    sent_by: Mapped[str | None] = mapped_column(String(255))


class PaymentArrangement(TenantScoped):
    """Instalments agreed with the customer for bills left to pay: while active, those bills are not dunned."""

    __tablename__ = "payment_arrangements"
    __table_args__ = tenant_table_args(
        UniqueConstraint("tenant_id", "public_id"),
        CheckConstraint("status in ('active', 'completed', 'broken', 'cancelled')", name="status"),
        CheckConstraint("total > 0", name="total"),
        Index(None, "tenant_id", "status"),
        parents={"account_id": "customer_accounts"},
    )

    public_id: Mapped[str] = public_id_column()
    account_id: Mapped[int] = tenant_ref()
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="active")
    currency: Mapped[str] = mapped_column(String(3), nullable=False)
    total: Mapped[Decimal] = mapped_column(Money, nullable=False)
    # Paid on its bills before the agreement: what is paid on them beyond this counts towards the instalments.
    paid_before: Mapped[Decimal] = mapped_column(Money, nullable=False)
    agreed_on: Mapped[date] = mapped_column(Date, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    created_by: Mapped[str] = mapped_column(String(255), nullable=False)
    by_customer: Mapped[bool] = mapped_column(nullable=False, default=False, server_default=false())
    note: Mapped[str | None] = mapped_column(Text)
    ended_on: Mapped[date | None] = mapped_column(Date)
    ended_by: Mapped[str | None] = mapped_column(String(255))


class ArrangementBill(TenantScoped):
    """A bill an arrangement covers; `active` while the arrangement is, so a bill is in one active arrangement."""

    __tablename__ = "arrangement_bills"
    __table_args__ = tenant_table_args(
        UniqueConstraint("tenant_id", "arrangement_id", "bill_id"),
        CheckConstraint("amount > 0", name="amount"),
        Index("uq_arrangement_bills_active_bill", "tenant_id", "bill_id", unique=True,
              postgresql_where=text("active"), sqlite_where=text("active")),
        parents={"arrangement_id": "payment_arrangements", "bill_id": "bills"},
    )
    __audited__ = False

    arrangement_id: Mapped[int] = tenant_ref()
    bill_id: Mapped[int] = tenant_ref()
    amount: Mapped[Decimal] = mapped_column(Money, nullable=False)  # left to pay on it at the agreement
    active: Mapped[bool] = mapped_column(nullable=False, default=True)


class ArrangementInstalment(TenantScoped):
    __tablename__ = "arrangement_instalments"
    __table_args__ = tenant_table_args(
        UniqueConstraint("tenant_id", "arrangement_id", "position"),
        CheckConstraint("amount > 0", name="amount"),
        parents={"arrangement_id": "payment_arrangements"},
    )
    __audited__ = False

    arrangement_id: Mapped[int] = tenant_ref()
    position: Mapped[int] = mapped_column(nullable=False)
    due_date: Mapped[date] = mapped_column(Date, nullable=False)
    amount: Mapped[Decimal] = mapped_column(Money, nullable=False)


class BillDispute(TenantScoped):
    """A bill the customer contests: while open, the bill is not dunned."""

    __tablename__ = "bill_disputes"
    __table_args__ = tenant_table_args(
        UniqueConstraint("tenant_id", "public_id"),
        CheckConstraint("status in ('open', 'upheld', 'rejected')", name="status"),
        CheckConstraint("reason in ('amount', 'reading', 'not_mine', 'service', 'other')", name="reason"),
        # One open dispute per bill: a second one (a double click, staff and customer at once) is refused.
        Index("uq_bill_disputes_open_bill", "tenant_id", "bill_id", unique=True,
              postgresql_where=text("status = 'open'"), sqlite_where=text("status = 'open'")),
        parents={"bill_id": "bills", "account_id": "customer_accounts"},
    )

    public_id: Mapped[str] = public_id_column()
    bill_id: Mapped[int] = tenant_ref()
    account_id: Mapped[int] = tenant_ref()
    reason: Mapped[str] = mapped_column(String(16), nullable=False)
    note: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="open")
    by_customer: Mapped[bool] = mapped_column(nullable=False, default=False, server_default=false())
    opened_by: Mapped[str] = mapped_column(String(255), nullable=False)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    resolved_by: Mapped[str | None] = mapped_column(String(255))
    resolution_note: Mapped[str | None] = mapped_column(Text)
