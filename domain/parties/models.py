"""Parties (person or organisation), contact points and roles on accounts and contracts."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, Date, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from domain.db import (
    TenantScoped, UTCDateTime, external_ref_index, tenant_ref, tenant_table_args, updated_at_column, updated_at_index,
    utcnow,
)

PARTY_KINDS = ("person", "organisation")
CONTACT_KINDS = ("email", "phone", "postal")
PARTY_ROLES = ("holder", "payer", "applicant", "owner", "occupier")


class Party(TenantScoped):
    __tablename__ = "parties"
    __table_args__ = tenant_table_args(
        updated_at_index(),
        UniqueConstraint("tenant_id", "party_number"),
        CheckConstraint("kind in ('person', 'organisation')", name="kind"),
        Index(None, "tenant_id", "last_name", "first_name"),
        external_ref_index(),
    )

    party_number: Mapped[str] = mapped_column(String(20), nullable=False)
    kind: Mapped[str] = mapped_column(String(16), nullable=False, default="person")
    title: Mapped[str | None] = mapped_column(String(16))
    first_name: Mapped[str | None] = mapped_column(String(100))
    last_name: Mapped[str | None] = mapped_column(String(100))
    organisation_name: Mapped[str | None] = mapped_column(String(200))
    registration_number: Mapped[str | None] = mapped_column(String(40))
    birth_date: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    # The utility's own reference from its former system (customer base import): unique per tenant when set.
    external_ref: Mapped[str | None] = mapped_column(String(60))
    updated_at: Mapped[datetime] = updated_at_column()

    contact_points: Mapped[list[ContactPoint]] = relationship(
        back_populates="party", foreign_keys="ContactPoint.party_id",
        primaryjoin="Party.id == ContactPoint.party_id", order_by="ContactPoint.id",
    )

    @property
    def display_name(self) -> str:
        if self.kind == "organisation":
            return self.organisation_name or ""
        return " ".join(p for p in (self.first_name, self.last_name) if p)

    def primary(self, kind: str) -> ContactPoint | None:
        points = [c for c in self.contact_points if c.kind == kind]
        points.sort(key=lambda c: (not c.is_primary, c.id or 0))
        return points[0] if points else None


class ContactPoint(TenantScoped):
    __tablename__ = "contact_points"
    __table_args__ = tenant_table_args(
        CheckConstraint("kind in ('email', 'phone', 'postal')", name="kind"),
        Index(None, "tenant_id", "kind", "value"),
        parents={"party_id": "parties"},
    )

    party_id: Mapped[int] = tenant_ref()
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    value: Mapped[str | None] = mapped_column(String(254))  # e-mail or phone number
    address_line1: Mapped[str | None] = mapped_column(String(200))
    address_line2: Mapped[str | None] = mapped_column(String(200))
    postcode: Mapped[str | None] = mapped_column(String(16))
    city: Mapped[str | None] = mapped_column(String(100))
    country: Mapped[str | None] = mapped_column(String(2))
    is_primary: Mapped[bool] = mapped_column(nullable=False, default=False)
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    party: Mapped[Party] = relationship(
        back_populates="contact_points", foreign_keys=[party_id], primaryjoin="Party.id == ContactPoint.party_id",
    )


class PartyRole(TenantScoped):
    """A party's role on an account or a contract over a period (holder, payer, ...)."""

    __tablename__ = "party_roles"
    __table_args__ = tenant_table_args(
        CheckConstraint("role in ('holder', 'payer', 'applicant', 'owner', 'occupier')", name="role"),
        CheckConstraint("account_id is not null or contract_id is not null", name="has_object"),
        CheckConstraint("end_date is null or end_date > start_date", name="period"),
        parents={"party_id": "parties", "account_id": "customer_accounts", "contract_id": "contracts"},
    )

    party_id: Mapped[int] = tenant_ref()
    role: Mapped[str] = mapped_column(String(16), nullable=False)
    account_id: Mapped[int | None] = tenant_ref(nullable=True)
    contract_id: Mapped[int | None] = tenant_ref(nullable=True)
    start_date: Mapped[date] = mapped_column(Date, nullable=False)
    end_date: Mapped[date | None] = mapped_column(Date)

    party: Mapped[Party] = relationship(foreign_keys=[party_id], primaryjoin="Party.id == PartyRole.party_id")
