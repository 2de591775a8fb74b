"""Billing runs, their chunks (the unit of work of a worker) and the exceptions they raise."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import JSON, CheckConstraint, Date, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from domain.db import BigId, Money, TenantScoped, UTCDateTime, public_id_column, tenant_ref, tenant_table_args

RUN_STATUSES = ("pending", "running", "simulated", "issuing", "completed", "cancelled", "failed")
RUN_MODES = ("simulate", "issue")
CHUNK_STATUSES = ("pending", "done", "failed", "cancelled")


class BillingRun(TenantScoped):
    __tablename__ = "billing_runs"
    __table_args__ = tenant_table_args(
        UniqueConstraint("tenant_id", "public_id"),
        CheckConstraint("status in ('pending', 'running', 'simulated', 'issuing', 'completed', 'cancelled', "
                        "'failed')", name="status"),
        CheckConstraint("mode in ('simulate', 'issue')", name="mode"),
        Index(None, "tenant_id", "created_at"),
    )

    public_id: Mapped[str] = public_id_column()
    billing_date: Mapped[date] = mapped_column(Date, nullable=False)
    scope_activity: Mapped[str | None] = mapped_column(String(16))
    scope_cycle: Mapped[str | None] = mapped_column(String(16))
    mode: Mapped[str] = mapped_column(String(16), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="pending")
    chunk_size: Mapped[int] = mapped_column(nullable=False, default=1000)
    total_contracts: Mapped[int] = mapped_column(nullable=False, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    created_by: Mapped[str] = mapped_column(String(255), nullable=False)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    error: Mapped[str | None] = mapped_column(Text)

    chunks: Mapped[list[BillingRunChunk]] = relationship(
        back_populates="run", foreign_keys="BillingRunChunk.run_id",
        primaryjoin="BillingRun.id == BillingRunChunk.run_id", order_by="BillingRunChunk.number",
    )

    @property
    def is_active(self) -> bool:
        return self.status in ("pending", "running", "issuing")


class BillingRunChunk(TenantScoped):
    """A slice of a run's contracts (by id range) processed in one transaction by one job."""

    __tablename__ = "billing_run_chunks"
    __table_args__ = tenant_table_args(
        UniqueConstraint("tenant_id", "run_id", "number"),
        CheckConstraint("status in ('pending', 'done', 'failed', 'cancelled')", name="status"),
        parents={"run_id": "billing_runs"},
    )
    __audited__ = False  # progress bookkeeping; the run itself is audited

    run_id: Mapped[int] = tenant_ref()
    number: Mapped[int] = mapped_column(nullable=False)
    first_contract_id: Mapped[int] = mapped_column(BigId, nullable=False)
    last_contract_id: Mapped[int] = mapped_column(BigId, nullable=False)
    contracts: Mapped[int] = mapped_column(nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="pending")
    processed: Mapped[int] = mapped_column(nullable=False, default=0)
    billed: Mapped[int] = mapped_column(nullable=False, default=0)
    exceptions: Mapped[int] = mapped_column(nullable=False, default=0)
    total_excl_tax: Mapped[Decimal] = mapped_column(Money, nullable=False, default=Decimal("0"))
    total_tax: Mapped[Decimal] = mapped_column(Money, nullable=False, default=Decimal("0"))
    total_incl_tax: Mapped[Decimal] = mapped_column(Money, nullable=False, default=Decimal("0"))
    issued: Mapped[bool] = mapped_column(nullable=False, default=False)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    error: Mapped[str | None] = mapped_column(Text)

    run: Mapped[BillingRun] = relationship(
        back_populates="chunks", foreign_keys=[run_id], primaryjoin="BillingRun.id == BillingRunChunk.run_id",
    )


class BillingException(TenantScoped):
    """A contract a run could not bill (no tariff, implausible consumption...), with a task for staff."""

    __tablename__ = "billing_exceptions"
    __table_args__ = tenant_table_args(
        UniqueConstraint("tenant_id", "run_id", "contract_id", "code"),
        parents={"run_id": "billing_runs", "contract_id": "contracts", "task_id": "tasks"},
    )
    __audited__ = False

    run_id: Mapped[int] = tenant_ref()
    contract_id: Mapped[int] = tenant_ref()
    code: Mapped[str] = mapped_column(String(40), nullable=False)
    message: Mapped[str] = mapped_column(Text, nullable=False)
    # BillingProblem.params made JSON-safe: staff read the message in their language (none: rows made before).
    params: Mapped[dict | None] = mapped_column(JSON)
    task_id: Mapped[int | None] = tenant_ref(nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
