"""Money received and given outside the portal: payments recorded by staff, refunds of a credit balance and
write-offs of bad debt (the last two proposed by collections staff, decided by another person)."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, Date, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from domain.db import Money, TenantScoped, UTCDateTime, public_id_column, tenant_ref, tenant_table_args

DECISION_STATUSES = ("proposed", "approved", "refused")
# Why a debt is written off; the view words them.
WRITE_OFF_REASONS = ("insolvency", "deceased", "uneconomic", "time_barred", "untraceable", "other")


class ManualPayment(TenantScoped):
    """A payment staff recorded (cheque, cash, bank transfer): the Payment row holds the money and its reference
    (provider "manual", unique per tenant: recording the same reference again finds this one); this row says who
    recorded it and on which day the money arrived."""

    __tablename__ = "manual_payments"
    __table_args__ = tenant_table_args(
        UniqueConstraint("tenant_id", "payment_id"),
        Index(None, "tenant_id", "account_id", "received_on"),
        parents={"payment_id": "payments", "account_id": "customer_accounts", "recorded_by_id": "staff_users"},
    )

    payment_id: Mapped[int] = tenant_ref()
    account_id: Mapped[int] = tenant_ref()
    received_on: Mapped[date] = mapped_column(Date, nullable=False)
    recorded_by_id: Mapped[int] = tenant_ref()
    recorded_by: Mapped[str] = mapped_column(String(255), nullable=False)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    note: Mapped[str | None] = mapped_column(String(255))


class Refund(TenantScoped):
    """Credit on an account paid back to the customer's bank account: proposed, then approved (posted to the ledger
    and listed for payment) or refused by someone else than the proposer."""

    __tablename__ = "credit_refunds"
    __table_args__ = tenant_table_args(
        UniqueConstraint("tenant_id", "public_id"),
        CheckConstraint("status in ('proposed', 'approved', 'refused')", name="status"),
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("iban_source in ('mandate', 'typed')", name="iban_source"),
        # The second pair of eyes, in the database too: nobody decides their own proposal.
        CheckConstraint("decided_by_id is null or decided_by_id <> proposed_by_id", name="four_eyes"),
        Index(None, "tenant_id", "status", "proposed_at"),
        Index(None, "tenant_id", "account_id"),
        parents={"account_id": "customer_accounts", "proposed_by_id": "staff_users", "decided_by_id": "staff_users"},
    )
    __audit_exclude__ = ("iban",)

    public_id: Mapped[str] = public_id_column()
    account_id: Mapped[int] = tenant_ref()
    amount: Mapped[Decimal] = mapped_column(Money, nullable=False)
    currency: Mapped[str] = mapped_column(String(3), nullable=False)
    iban: Mapped[str] = mapped_column(String(34), nullable=False)
    holder_name: Mapped[str] = mapped_column(String(140), nullable=False)
    iban_source: Mapped[str] = mapped_column(String(8), nullable=False)
    note: Mapped[str | None] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="proposed")
    proposed_by_id: Mapped[int] = tenant_ref()
    proposed_by: Mapped[str] = mapped_column(String(255), nullable=False)
    proposed_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    decided_by_id: Mapped[int | None] = tenant_ref(nullable=True)
    decided_by: Mapped[str | None] = mapped_column(String(255))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    decision_note: Mapped[str | None] = mapped_column(String(255))
    booked_on: Mapped[date | None] = mapped_column(Date)


class WriteOff(TenantScoped):
    """Bad debt given up on some bills of one account, with its reason: proposed, then approved (a credit on the
    ledger that settles what was left on those bills) or refused by someone else than the proposer."""

    __tablename__ = "write_offs"
    __table_args__ = tenant_table_args(
        UniqueConstraint("tenant_id", "public_id"),
        CheckConstraint("status in ('proposed', 'approved', 'refused')", name="status"),
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("decided_by_id is null or decided_by_id <> proposed_by_id", name="four_eyes"),
        Index(None, "tenant_id", "status", "proposed_at"),
        Index(None, "tenant_id", "account_id"),
        parents={"account_id": "customer_accounts", "proposed_by_id": "staff_users", "decided_by_id": "staff_users",
                 "payment_id": "payments"},
    )

    public_id: Mapped[str] = public_id_column()
    account_id: Mapped[int] = tenant_ref()
    amount: Mapped[Decimal] = mapped_column(Money, nullable=False)  # proposed; once approved, what was written off
    currency: Mapped[str] = mapped_column(String(3), nullable=False)
    reason: Mapped[str] = mapped_column(String(16), nullable=False)
    note: Mapped[str | None] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="proposed")
    proposed_by_id: Mapped[int] = tenant_ref()
    proposed_by: Mapped[str] = mapped_column(String(255), nullable=False)
    proposed_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    decided_by_id: Mapped[int | None] = tenant_ref(nullable=True)
    decided_by: Mapped[str | None] = mapped_column(String(255))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    decision_note: Mapped[str | None] = mapped_column(String(255))
    # The settlement posted on approval (method "write_off"): its allocations settle the bills.
    payment_id: Mapped[int | None] = tenant_ref(nullable=True)


class WriteOffLine(TenantScoped):
    """One bill of a write-off and the amount left on it when proposed."""

    __tablename__ = "write_off_lines"
    __table_args__ = tenant_table_args(
        UniqueConstraint("tenant_id", "write_off_id", "bill_id"),
        CheckConstraint("amount > 0", name="amount_positive"),
        Index(None, "tenant_id", "bill_id"),
        parents={"write_off_id": "write_offs", "bill_id": "bills"},
    )

    write_off_id: Mapped[int] = tenant_ref()
    bill_id: Mapped[int] = tenant_ref()
    amount: Mapped[Decimal] = mapped_column(Money, nullable=False)
