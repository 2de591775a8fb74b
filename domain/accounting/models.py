"""Ledger entries per account, payments and their allocation to bills."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, Date, Index, String, UniqueConstraint, false, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from domain.billing.models import without_tenant_key
from domain.db import (
    BigId, Money, TenantScoped, UTCDateTime, public_id_column, tenant_ref, tenant_table_args, updated_at_column,
    updated_at_index,
)


class LedgerEntry(TenantScoped):
    """A debit (bill) or credit (payment, credit note) on an account; the balance is their sum."""

    __tablename__ = "ledger_entries"
    __table_args__ = without_tenant_key(tenant_table_args(
        CheckConstraint("direction in ('debit', 'credit')", name="direction"),
        CheckConstraint("amount > 0", name="amount_positive"),
        UniqueConstraint("tenant_id", "bill_id", "direction"),
        UniqueConstraint("tenant_id", "payment_id", "direction"),
        Index(None, "tenant_id", "account_id", "booked_on"),
        # One opening balance per account (customer base import): a second import never doubles it.
        Index("uq_ledger_entries_opening_balance", "tenant_id", "account_id", unique=True,
              sqlite_where=text("opening_balance"), postgresql_where=text("opening_balance")),
        parents={"account_id": "customer_accounts", "bill_id": "bills", "payment_id": "payments"},
    ))
    # No foreign key to tenants: (tenant_id, account_id) -> customer_accounts proves the tenant (migration 0005).
    tenant_id: Mapped[int] = mapped_column(BigId, nullable=False)

    account_id: Mapped[int] = tenant_ref()
    booked_on: Mapped[date] = mapped_column(Date, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    direction: Mapped[str] = mapped_column(String(8), nullable=False)
    amount: Mapped[Decimal] = mapped_column(Money, nullable=False)
    currency: Mapped[str] = mapped_column(String(3), nullable=False)
    description: Mapped[str] = mapped_column(String(255), nullable=False)
    bill_id: Mapped[int | None] = tenant_ref(nullable=True)
    payment_id: Mapped[int | None] = tenant_ref(nullable=True)
    # The balance carried over from the former system when the customer base was imported.
    opening_balance: Mapped[bool] = mapped_column(nullable=False, default=False, server_default=false())


class Payment(TenantScoped):
    __tablename__ = "payments"
    __table_args__ = tenant_table_args(
        updated_at_index(),
        UniqueConstraint("tenant_id", "public_id"),
        UniqueConstraint("tenant_id", "provider", "provider_reference"),
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("refunded_amount >= 0 and refunded_amount <= amount", name="refunded_within_amount"),
        Index(None, "tenant_id", "provider", "provider_payment_ref"),
        # write_off: bad debt given up (domain/collections/write_offs.py), settling bills (migration 0027).
        CheckConstraint("method in ('card', 'direct_debit', 'transfer', 'cash', 'cheque', 'write_off')", name="method"),
        CheckConstraint("status in ('pending', 'succeeded', 'failed', 'cancelled', 'refunded')", name="status"),
        Index(None, "tenant_id", "status", "expires_at"),  # the sweep of checkouts left open past their expiry
        parents={"account_id": "customer_accounts"},
    )

    public_id: Mapped[str] = public_id_column()
    account_id: Mapped[int] = tenant_ref()
    amount: Mapped[Decimal] = mapped_column(Money, nullable=False)
    currency: Mapped[str] = mapped_column(String(3), nullable=False)
    method: Mapped[str] = mapped_column(String(16), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="pending")
    provider: Mapped[str] = mapped_column(String(16), nullable=False)  # stripe, sandbox, bank
    provider_reference: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    received_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    failure_reason: Mapped[str | None] = mapped_column(String(255))
    receipt_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Who asked for it online (portal user), if anyone.
    customer_user_id: Mapped[int | None] = mapped_column(BigId)
    # The provider's id of the money movement (Stripe PaymentIntent): disputes name it, not our payment.
    provider_payment_ref: Mapped[str | None] = mapped_column(String(255))
    # Given back so far (refunds, lost disputes; see payment_reversals); the whole amount: status "refunded".
    refunded_amount: Mapped[Decimal] = mapped_column(Money, nullable=False, default=Decimal("0"),
                                                     server_default="0")
    # When the provider's checkout session expires: past it, a pending payment was not completed (migration 0011).
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = updated_at_column()

    allocations: Mapped[list[PaymentAllocation]] = relationship(
        back_populates="payment", foreign_keys="PaymentAllocation.payment_id",
        primaryjoin="Payment.id == PaymentAllocation.payment_id",
    )


class PaymentAllocation(TenantScoped):
    __tablename__ = "payment_allocations"
    __table_args__ = tenant_table_args(
        UniqueConstraint("tenant_id", "payment_id", "bill_id"),
        CheckConstraint("amount > 0", name="amount_positive"),
        parents={"payment_id": "payments", "bill_id": "bills"},
    )

    payment_id: Mapped[int] = tenant_ref()
    bill_id: Mapped[int] = tenant_ref()
    amount: Mapped[Decimal] = mapped_column(Money, nullable=False)

    payment: Mapped[Payment] = relationship(
        back_populates="allocations", foreign_keys=[payment_id],
        primaryjoin="Payment.id == PaymentAllocation.payment_id",
    )
