"""Bills and bill lines. A bill gets its number only when issued."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, Date, Index, String, UniqueConstraint, false, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from domain.contracts.models import Contract, CustomerAccount
from domain.db import (
    BigId,
    Money,
    Quantity,
    Ratio,
    TenantScoped,
    UnitRate,
    UTCDateTime,
    public_id_column,
    tenant_ref,
    tenant_table_args,
    updated_at_column,
    updated_at_index,
)

def without_tenant_key(table_args: tuple) -> tuple:
    """`tenant_table_args` without the (tenant_id, id) unique key that children point at: for a table no other
    table points at and that a billing run fills by the million (an index entry per row saved; migration 0005)."""
    return tuple(item for item in table_args if not (
        isinstance(item, UniqueConstraint) and [str(c) for c in item._pending_colargs] == ["tenant_id", "id"]))


BILL_KINDS = ("periodic", "final", "corrective", "credit_note", "instalment", "true_up")
BILL_STATUSES = ("draft", "issued", "cancelled")


class Bill(TenantScoped):
    __tablename__ = "bills"
    __table_args__ = tenant_table_args(
        updated_at_index(),
        UniqueConstraint("tenant_id", "number"),
        UniqueConstraint("tenant_id", "public_id"),
        CheckConstraint(
            "kind in ('periodic', 'final', 'corrective', 'credit_note', 'instalment', 'true_up')", name="kind",
        ),
        CheckConstraint("status in ('draft', 'issued', 'cancelled')", name="status"),
        CheckConstraint("status = 'draft' or number is not null", name="issued_has_number"),
        CheckConstraint("period_end > period_start", name="period"),
        CheckConstraint("document_sha256 IS NULL OR (document_path IS NOT NULL AND length(document_sha256) = 64)",
                        name="document_sha256"),
        Index(None, "tenant_id", "account_id", "issued_at"),
        Index(None, "tenant_id", "contract_id", "period_start"),
        Index(None, "tenant_id", "billing_run_id"),
        # The console's "bills issued this month" per utility (tenants/services.py) reads this range (migration 0016).
        Index(None, "tenant_id", "issued_at"),
        # One live bill per contract, period and kind: a re-run after a crash cannot bill twice.
        Index("uq_bills_live_contract_period_kind", "tenant_id", "contract_id", "period_start", "kind",
              unique=True, postgresql_where=text("status <> 'cancelled'"), sqlite_where=text("status <> 'cancelled'")),
        # Few bills correct another: the key's index holds only those (a foreign key check implies NOT NULL).
        Index("ix_bills_tenant_id_corrects_bill_id", "tenant_id", "corrects_bill_id",
              postgresql_where=text("corrects_bill_id IS NOT NULL"), sqlite_where=text("corrects_bill_id IS NOT NULL")),
        parents={"account_id": "customer_accounts", "contract_id": "contracts", "corrects_bill_id": "bills",
                 "billing_run_id": "billing_runs"},
    )
    # No foreign key to tenants: (tenant_id, account_id) -> customer_accounts already proves the tenant exists,
    # and a billing run writes millions of rows (migration 0005).
    tenant_id: Mapped[int] = mapped_column(BigId, nullable=False)

    public_id: Mapped[str] = public_id_column()
    number: Mapped[str | None] = mapped_column(String(24))
    account_id: Mapped[int] = tenant_ref()
    contract_id: Mapped[int | None] = tenant_ref(nullable=True)
    corrects_bill_id: Mapped[int | None] = tenant_ref(nullable=True)
    kind: Mapped[str] = mapped_column(String(16), nullable=False, default="periodic")
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="draft")
    period_start: Mapped[date] = mapped_column(Date, nullable=False)
    period_end: Mapped[date] = mapped_column(Date, nullable=False)
    issued_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    due_date: Mapped[date | None] = mapped_column(Date)
    currency: Mapped[str] = mapped_column(String(3), nullable=False)
    total_excl_tax: Mapped[Decimal] = mapped_column(Money, nullable=False, default=Decimal("0"))
    total_tax: Mapped[Decimal] = mapped_column(Money, nullable=False, default=Decimal("0"))
    total_incl_tax: Mapped[Decimal] = mapped_column(Money, nullable=False, default=Decimal("0"))
    document_path: Mapped[str | None] = mapped_column(String(255))
    # SHA-256 (hex) of the stored document: set once with document_path; served bytes are checked against it.
    document_sha256: Mapped[str | None] = mapped_column(String(64))
    billing_run_id: Mapped[int | None] = tenant_ref(nullable=True)
    estimated: Mapped[bool] = mapped_column(nullable=False, default=False, server_default=false())
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = updated_at_column()

    account: Mapped[CustomerAccount] = relationship(
        foreign_keys=[account_id], primaryjoin="CustomerAccount.id == Bill.account_id",
    )
    contract: Mapped[Contract | None] = relationship(
        foreign_keys=[contract_id], primaryjoin="Contract.id == Bill.contract_id",
    )
    lines: Mapped[list[BillLine]] = relationship(
        back_populates="bill", foreign_keys="BillLine.bill_id",
        primaryjoin="Bill.id == BillLine.bill_id", order_by="BillLine.position",
    )


class BillLine(TenantScoped):
    __tablename__ = "bill_lines"
    __table_args__ = without_tenant_key(tenant_table_args(
        UniqueConstraint("tenant_id", "bill_id", "position"),
        parents={"bill_id": "bills"},
    ))
    # No foreign key to tenants: (tenant_id, bill_id) -> bills proves the tenant (migration 0005).
    tenant_id: Mapped[int] = mapped_column(BigId, nullable=False)
    __audited__ = False  # a line is part of its bill; the bill's events cover it

    bill_id: Mapped[int] = tenant_ref()
    position: Mapped[int] = mapped_column(nullable=False)
    component: Mapped[str] = mapped_column(String(24), nullable=False)
    description: Mapped[str] = mapped_column(String(255), nullable=False)
    period_start: Mapped[date | None] = mapped_column(Date)
    period_end: Mapped[date | None] = mapped_column(Date)
    quantity: Mapped[Decimal] = mapped_column(Quantity, nullable=False)
    unit: Mapped[str] = mapped_column(String(8), nullable=False)
    unit_price: Mapped[Decimal] = mapped_column(UnitRate, nullable=False)
    amount: Mapped[Decimal] = mapped_column(Money, nullable=False)
    tax_rate: Mapped[Decimal] = mapped_column(Ratio, nullable=False)
    # Kept so a later regularisation can credit this line exactly (see engine.PriorCharge).
    register_code: Mapped[str | None] = mapped_column(String(16))
    unit_price_includes_tax: Mapped[bool] = mapped_column(nullable=False, default=False, server_default=false())
    amount_incl_tax: Mapped[Decimal | None] = mapped_column(Money)

    bill: Mapped[Bill] = relationship(
        back_populates="lines", foreign_keys=[bill_id], primaryjoin="Bill.id == BillLine.bill_id",
    )


class BillNumberSequence(TenantScoped):
    """The next bill number per tenant and year; numbers are taken only when bills are issued."""

    __tablename__ = "bill_number_sequences"
    __table_args__ = tenant_table_args(UniqueConstraint("tenant_id", "year"))
    __audited__ = False

    year: Mapped[int] = mapped_column(nullable=False)
    next_value: Mapped[int] = mapped_column(nullable=False, default=1)
