"""Customer accounts and contracts linking an account, a point of delivery and an offer."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, Date, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from domain.db import (
    Quantity, TenantScoped, UTCDateTime, external_ref_index, tenant_ref, tenant_table_args, updated_at_column,
    updated_at_index, utcnow,
)
from domain.offers.models import Offer
from domain.parties.models import Party
from domain.sites.models import DeliveryPoint


class CustomerAccount(TenantScoped):
    """The billing unit; its customer number is the public reference used in URLs."""

    __tablename__ = "customer_accounts"
    __table_args__ = tenant_table_args(
        updated_at_index(),
        UniqueConstraint("tenant_id", "account_number"),
        CheckConstraint("status in ('active', 'closed')", name="status"),
        CheckConstraint("payment_method in ('transfer', 'card', 'direct_debit')", name="payment_method"),
        external_ref_index(),
        parents={"holder_party_id": "parties"},
    )
    __audit_exclude__ = ("activation_code",)  # a staff member sees a new code once; the history never shows it

    account_number: Mapped[str] = mapped_column(String(20), nullable=False)
    holder_party_id: Mapped[int] = tenant_ref()
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="active")
    billing_cycle: Mapped[str] = mapped_column(String(16), nullable=False, default="A")
    payment_method: Mapped[str] = mapped_column(String(16), nullable=False, default="transfer")
    paperless: Mapped[bool] = mapped_column(nullable=False, default=False)
    # Printed on bills: with the customer number, it proves the customer holds a bill (portal activation).
    activation_code: Mapped[str | None] = mapped_column(String(16))
    locale: Mapped[str | None] = mapped_column(String(8))
    opened_on: Mapped[date] = mapped_column(Date, nullable=False)
    closed_on: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    # The utility's own reference from its former system (customer base import): unique per tenant when set.
    external_ref: Mapped[str | None] = mapped_column(String(60))
    updated_at: Mapped[datetime] = updated_at_column()

    holder: Mapped[Party] = relationship(
        foreign_keys=[holder_party_id], primaryjoin="Party.id == CustomerAccount.holder_party_id",
    )
    contracts: Mapped[list[Contract]] = relationship(
        back_populates="account", foreign_keys="Contract.account_id",
        primaryjoin="CustomerAccount.id == Contract.account_id", order_by="Contract.start_date",
    )


class Contract(TenantScoped):
    """Supply of one point of delivery to one account under one offer over `[start_date, end_date)`."""

    __tablename__ = "contracts"
    __table_args__ = tenant_table_args(
        updated_at_index(),
        UniqueConstraint("tenant_id", "contract_number"),
        CheckConstraint("end_date is null or end_date > start_date", name="period"),
        CheckConstraint("status in ('active', 'ended', 'pending')", name="status"),
        CheckConstraint("(readings_prevented_from is null) = (readings_prevented_reason is null)",
                        name="readings_prevented"),
        CheckConstraint("billing_frequency in ('monthly', 'bimonthly', 'quarterly', 'biannual', 'annual')",
                        name="billing_frequency"),
        Index(None, "tenant_id", "delivery_point_id", "start_date"),
        external_ref_index(),
        parents={"account_id": "customer_accounts", "delivery_point_id": "delivery_points", "offer_id": "offers"},
    )

    contract_number: Mapped[str] = mapped_column(String(24), nullable=False)
    account_id: Mapped[int] = tenant_ref()
    delivery_point_id: Mapped[int] = tenant_ref()
    offer_id: Mapped[int] = tenant_ref()
    start_date: Mapped[date] = mapped_column(Date, nullable=False)
    end_date: Mapped[date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="active")
    billing_frequency: Mapped[str] = mapped_column(String(16), nullable=False, default="monthly")
    estimated_annual_consumption: Mapped[Decimal | None] = mapped_column(Quantity)
    billed_until: Mapped[date | None] = mapped_column(Date)  # end (exclusive) of the latest issued period
    # Set by billing staff when the customer prevented readings (no access, refused visits) from that day: the
    # back-billing limit then does not hold back consumption from that day on. Both set or both empty.
    readings_prevented_from: Mapped[date | None] = mapped_column(Date)
    readings_prevented_reason: Mapped[str | None] = mapped_column(String(500))
    # The utility's own reference from its former system (customer base import): unique per tenant when set.
    external_ref: Mapped[str | None] = mapped_column(String(60))
    updated_at: Mapped[datetime] = updated_at_column()

    account: Mapped[CustomerAccount] = relationship(
        back_populates="contracts", foreign_keys=[account_id], primaryjoin="CustomerAccount.id == Contract.account_id",
    )
    delivery_point: Mapped[DeliveryPoint] = relationship(
        foreign_keys=[delivery_point_id], primaryjoin="DeliveryPoint.id == Contract.delivery_point_id",
    )
    offer: Mapped[Offer] = relationship(foreign_keys=[offer_id], primaryjoin="Offer.id == Contract.offer_id")

    def is_live_on(self, day: date) -> bool:
        return self.start_date <= day and (self.end_date is None or day < self.end_date)
