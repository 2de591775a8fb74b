"""SEPA direct-debit collections: a batch per creditor and collection date, one item per bill collected."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, Date, Index, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from domain.db import Money, TenantScoped, UTCDateTime, public_id_column, tenant_ref, tenant_table_args

BATCH_STATUSES = ("prepared", "submitted", "settled", "cancelled")
ITEM_STATUSES = ("pending", "settled", "returned", "cancelled")
# An item that still collects (or has collected) its bill: at most one per bill, enforced by a unique index.
LIVE_ITEM_STATUSES = ("pending", "settled")
SEQUENCE_TYPES = ("FRST", "RCUR")


class CollectionBatch(TenantScoped):
    """One pain.008 message: the bills collected on one date. prepared -> submitted -> settled (or cancelled
    while still prepared)."""

    __tablename__ = "collection_batches"
    __table_args__ = tenant_table_args(
        UniqueConstraint("tenant_id", "public_id"),
        UniqueConstraint("tenant_id", "message_id"),
        CheckConstraint("status in ('prepared', 'submitted', 'settled', 'cancelled')", name="status"),
        Index(None, "tenant_id", "collection_date"),
        # One batch being prepared per collection date: preparing the date again adds to it, never beside it.
        Index("uq_collection_batches_prepared_date", "tenant_id", "collection_date", unique=True,
              postgresql_where=text("status = 'prepared'"), sqlite_where=text("status = 'prepared'")),
    )

    public_id: Mapped[str] = public_id_column()
    message_id: Mapped[str] = mapped_column(String(35), nullable=False)  # MsgId, unique per creditor
    collection_date: Mapped[date] = mapped_column(Date, nullable=False)  # ReqdColltnDt
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="prepared")
    currency: Mapped[str] = mapped_column(String(3), nullable=False)
    prepared_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    prepared_by: Mapped[str] = mapped_column(String(255), nullable=False)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    submitted_by: Mapped[str | None] = mapped_column(String(255))
    settled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    settled_by: Mapped[str | None] = mapped_column(String(255))
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    items: Mapped[list[CollectionItem]] = relationship(
        back_populates="batch", foreign_keys="CollectionItem.batch_id",
        primaryjoin="CollectionBatch.id == CollectionItem.batch_id", order_by="CollectionItem.id",
    )


class CollectionItem(TenantScoped):
    """One bill collected from one mandate: a DrctDbtTxInf of the batch's message."""

    __tablename__ = "collection_items"
    __table_args__ = tenant_table_args(
        UniqueConstraint("tenant_id", "end_to_end_id"),
        CheckConstraint("status in ('pending', 'settled', 'returned', 'cancelled')", name="status"),
        CheckConstraint("sequence_type in ('FRST', 'RCUR')", name="sequence_type"),
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("status <> 'returned' or return_reason is not null", name="returned_has_reason"),
        Index(None, "tenant_id", "bill_id"),
        # A bill is in at most one live collection: preparing twice, or two staff at once, cannot collect it twice.
        Index("uq_collection_items_live_bill", "tenant_id", "bill_id", unique=True,
              postgresql_where=text("status in ('pending', 'settled')"),
              sqlite_where=text("status in ('pending', 'settled')")),
        Index(None, "tenant_id", "mandate_id", "status"),
        parents={"batch_id": "collection_batches", "bill_id": "bills", "account_id": "customer_accounts",
                 "mandate_id": "direct_debit_mandates", "payment_id": "payments"},
    )

    batch_id: Mapped[int] = tenant_ref()
    bill_id: Mapped[int] = tenant_ref()
    account_id: Mapped[int] = tenant_ref()
    mandate_id: Mapped[int] = tenant_ref()
    end_to_end_id: Mapped[str] = mapped_column(String(35), nullable=False)
    sequence_type: Mapped[str] = mapped_column(String(4), nullable=False)
    amount: Mapped[Decimal] = mapped_column(Money, nullable=False)
    currency: Mapped[str] = mapped_column(String(3), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="pending")
    payment_id: Mapped[int | None] = tenant_ref(nullable=True)  # the payment its settlement recorded
    return_reason: Mapped[str | None] = mapped_column(String(4))  # ISO 20022 reason code, e.g. AM04, MD01
    returned_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    returned_by: Mapped[str | None] = mapped_column(String(255))

    batch: Mapped[CollectionBatch] = relationship(
        back_populates="items", foreign_keys=[batch_id], primaryjoin="CollectionBatch.id == CollectionItem.batch_id",
    )
