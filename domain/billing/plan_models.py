"""Down-payment plans (budget billing): instalments, then an annual true-up bill."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, Date, Index, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from domain.db import Money, Quantity, TenantScoped, UTCDateTime, public_id_column, tenant_ref, tenant_table_args

PLAN_STATUSES = ("active", "completed", "cancelled")


class DownPaymentPlan(TenantScoped):
    """One contract's schedule of instalments (monthly, or every 2, 3 or 6 months, as the utility offers), settled by
    a true-up bill at its end."""

    __tablename__ = "down_payment_plans"
    __table_args__ = tenant_table_args(
        UniqueConstraint("tenant_id", "public_id"),
        CheckConstraint("status in ('active', 'completed', 'cancelled')", name="status"),
        CheckConstraint("instalment_count between 1 and 12", name="instalment_count"),
        CheckConstraint("instalment_months in (1, 2, 3, 6)", name="instalment_months"),
        CheckConstraint("instalment_count * instalment_months <= 12", name="instalments_in_year"),
        CheckConstraint("instalment_amount > 0", name="instalment_positive"),
        CheckConstraint("true_up_on > start_on", name="period"),
        # At most one active plan per contract.
        Index("uq_down_payment_plans_active_contract", "tenant_id", "contract_id", unique=True,
              postgresql_where=text("status = 'active'"), sqlite_where=text("status = 'active'")),
        parents={"contract_id": "contracts", "account_id": "customer_accounts", "true_up_bill_id": "bills",
                 "previous_plan_id": "down_payment_plans"},
    )

    public_id: Mapped[str] = public_id_column()
    contract_id: Mapped[int] = tenant_ref()
    account_id: Mapped[int] = tenant_ref()
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="active")
    start_on: Mapped[date] = mapped_column(Date, nullable=False)  # start of the year the plan covers
    true_up_on: Mapped[date] = mapped_column(Date, nullable=False)  # end (exclusive): the true-up bill's date
    instalment_count: Mapped[int] = mapped_column(nullable=False)
    # Months between two instalments: 1 (monthly), 2, 3 or 6; the instalments fall within the plan's year.
    instalment_months: Mapped[int] = mapped_column(nullable=False, default=1, server_default="1")
    instalment_amount: Mapped[Decimal] = mapped_column(Money, nullable=False)
    estimated_consumption: Mapped[Decimal] = mapped_column(Quantity, nullable=False)  # over the plan's year
    estimated_amount: Mapped[Decimal] = mapped_column(Money, nullable=False)  # incl. tax, over the plan's year
    currency: Mapped[str] = mapped_column(String(3), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    created_by: Mapped[str | None] = mapped_column(String(16))  # customer, staff, true_up
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    true_up_bill_id: Mapped[int | None] = tenant_ref(nullable=True)
    previous_plan_id: Mapped[int | None] = tenant_ref(nullable=True)

    instalments: Mapped[list[DownPaymentInstalment]] = relationship(
        back_populates="plan", foreign_keys="DownPaymentInstalment.plan_id",
        primaryjoin="DownPaymentPlan.id == DownPaymentInstalment.plan_id", order_by="DownPaymentInstalment.sequence",
    )


class DownPaymentInstalment(TenantScoped):
    """One due instalment; when billed it points at its instalment bill."""

    __tablename__ = "down_payment_instalments"
    __table_args__ = tenant_table_args(
        UniqueConstraint("tenant_id", "plan_id", "sequence"),
        CheckConstraint("amount > 0", name="amount_positive"),
        Index(None, "tenant_id", "due_on"),
        parents={"plan_id": "down_payment_plans", "bill_id": "bills"},
    )
    __audited__ = False  # part of its plan; the plan's events cover it

    plan_id: Mapped[int] = tenant_ref()
    sequence: Mapped[int] = mapped_column(nullable=False)
    due_on: Mapped[date] = mapped_column(Date, nullable=False)
    amount: Mapped[Decimal] = mapped_column(Money, nullable=False)
    bill_id: Mapped[int | None] = tenant_ref(nullable=True)

    plan: Mapped[DownPaymentPlan] = relationship(
        back_populates="instalments", foreign_keys=[plan_id],
        primaryjoin="DownPaymentPlan.id == DownPaymentInstalment.plan_id",
    )
