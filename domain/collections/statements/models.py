"""Bank statements imported (camt.053, CSV) and their entries, each matched to what it pays or returns."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Boolean, CheckConstraint, Date, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from domain.db import Money, TenantScoped, UTCDateTime, public_id_column, tenant_ref, tenant_table_args

ENTRY_STATUSES = ("to_match", "matched", "returned", "ignored", "not_ours")
MATCH_RULES = ("reference", "account_reference", "amount_name", "person", "return")


class BankStatement(TenantScoped):
    """One statement of one bank account; the same statement (its id for that account) is imported once."""

    __tablename__ = "bank_statements"
    __table_args__ = tenant_table_args(
        UniqueConstraint("tenant_id", "public_id"),
        UniqueConstraint("tenant_id", "account_iban", "statement_ref"),
        CheckConstraint("format in ('camt.053.001.02', 'camt.053.001.08', 'csv')", name="format"),
        Index(None, "tenant_id", "imported_at"),
        parents={"imported_by_id": "staff_users"},
    )

    public_id: Mapped[str] = public_id_column()
    format: Mapped[str] = mapped_column(String(16), nullable=False)
    statement_ref: Mapped[str] = mapped_column(String(35), nullable=False)  # Stmt/Id
    message_ref: Mapped[str | None] = mapped_column(String(35))  # GrpHdr/MsgId
    account_iban: Mapped[str] = mapped_column(String(34), nullable=False)
    currency: Mapped[str] = mapped_column(String(3), nullable=False)
    from_date: Mapped[date | None] = mapped_column(Date)
    to_date: Mapped[date | None] = mapped_column(Date)
    file_name: Mapped[str] = mapped_column(String(255), nullable=False)
    file_sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    imported_by_id: Mapped[int] = tenant_ref()
    imported_by: Mapped[str] = mapped_column(String(255), nullable=False)
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    # When its entries were matched; None while a worker has still to match them (a big statement).
    matched_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    entry_count: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    credit_total: Mapped[Decimal] = mapped_column(Money, nullable=False, default=Decimal("0"))
    debit_total: Mapped[Decimal] = mapped_column(Money, nullable=False, default=Decimal("0"))


class StatementEntry(TenantScoped):
    """One booked entry: a credit to match to an account (and bills), a return of one of our direct debits, or a
    movement that is not ours to act on. An entry is known once per bank account (`entry_key`), whatever statement
    brings it again."""

    __tablename__ = "statement_entries"
    __table_args__ = tenant_table_args(
        UniqueConstraint("tenant_id", "account_iban", "entry_key"),
        CheckConstraint("direction in ('credit', 'debit')", name="direction"),
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("status in ('to_match', 'matched', 'returned', 'ignored', 'not_ours')", name="status"),
        Index(None, "tenant_id", "statement_id", "id"),
        Index(None, "tenant_id", "status", "booked_on"),
        parents={"statement_id": "bank_statements", "account_id": "customer_accounts", "bill_id": "bills",
                 "payment_id": "payments", "collection_item_id": "collection_items", "decided_by_id": "staff_users"},
    )
    # Thousands per statement: the statement, the payments and returns they post and a person's decisions (who,
    # when, on the entry) are the trail; an audit row per entry would double the import's writes.
    __audited__ = False

    public_id: Mapped[str] = public_id_column()
    statement_id: Mapped[int] = tenant_ref()
    account_iban: Mapped[str] = mapped_column(String(34), nullable=False)
    entry_key: Mapped[str] = mapped_column(String(80), nullable=False)
    booked_on: Mapped[date] = mapped_column(Date, nullable=False)
    value_on: Mapped[date | None] = mapped_column(Date)
    direction: Mapped[str] = mapped_column(String(8), nullable=False)
    amount: Mapped[Decimal] = mapped_column(Money, nullable=False)
    currency: Mapped[str] = mapped_column(String(3), nullable=False)
    reversal: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    return_reason: Mapped[str | None] = mapped_column(String(4))
    end_to_end_id: Mapped[str | None] = mapped_column(String(35))
    reference: Mapped[str | None] = mapped_column(String(140))  # structured creditor reference, if any
    remittance: Mapped[str | None] = mapped_column(String(255))  # unstructured remittance text
    counterparty_name: Mapped[str | None] = mapped_column(String(140))
    counterparty_iban: Mapped[str | None] = mapped_column(String(34))
    bank_ref: Mapped[str | None] = mapped_column(String(35))
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="to_match")
    match_rule: Mapped[str | None] = mapped_column(String(20))
    note: Mapped[str | None] = mapped_column(String(255))
    account_id: Mapped[int | None] = tenant_ref(nullable=True)
    bill_id: Mapped[int | None] = tenant_ref(nullable=True)
    payment_id: Mapped[int | None] = tenant_ref(nullable=True)
    collection_item_id: Mapped[int | None] = tenant_ref(nullable=True)
    decided_by_id: Mapped[int | None] = tenant_ref(nullable=True)
    decided_by: Mapped[str | None] = mapped_column(String(255))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
