"""Premises and points of delivery (one per activity at a location); meters, registers, installs."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, Date, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from domain.db import (
    Ratio, TenantScoped, external_ref_index, public_id_column, tenant_ref, tenant_table_args, updated_at_column,
    updated_at_index,
)

ACTIVITY_UNITS = {"water": "m3", "gas": "m3", "electricity": "kWh", "heating": "kWh"}
_ACTIVITY_CHECK = "activity in ('water', 'gas', 'electricity', 'heating')"


class Premise(TenantScoped):
    __tablename__ = "premises"
    __table_args__ = tenant_table_args(
        UniqueConstraint("tenant_id", "public_id"),
        Index(None, "tenant_id", "postcode", "address_line1"),
        external_ref_index(),
    )

    public_id: Mapped[str] = public_id_column()
    address_line1: Mapped[str] = mapped_column(String(200), nullable=False)
    address_line2: Mapped[str | None] = mapped_column(String(200))
    postcode: Mapped[str] = mapped_column(String(16), nullable=False)
    city: Mapped[str] = mapped_column(String(100), nullable=False)
    country: Mapped[str] = mapped_column(String(2), nullable=False, default="FR")
    # The utility's own reference from its former system (customer base import): unique per tenant when set.
    external_ref: Mapped[str | None] = mapped_column(String(60))

    delivery_points: Mapped[list[DeliveryPoint]] = relationship(
        back_populates="premise", foreign_keys="DeliveryPoint.premise_id",
        primaryjoin="Premise.id == DeliveryPoint.premise_id", order_by="DeliveryPoint.activity",
    )

    @property
    def one_line(self) -> str:
        parts = [self.address_line1, self.address_line2, f"{self.postcode} {self.city}"]
        return ", ".join(p for p in parts if p)


class DeliveryPoint(TenantScoped):
    """A point of delivery: one activity at one premise, with the identifier the network uses."""

    __tablename__ = "delivery_points"
    __table_args__ = tenant_table_args(
        updated_at_index(),
        UniqueConstraint("tenant_id", "identifier"),
        UniqueConstraint("tenant_id", "premise_id", "activity"),
        external_ref_index(),
        CheckConstraint(_ACTIVITY_CHECK, name="activity"),
        CheckConstraint("status in ('active', 'inactive')", name="status"),
        parents={"premise_id": "premises"},
    )

    premise_id: Mapped[int] = tenant_ref()
    activity: Mapped[str] = mapped_column(String(16), nullable=False)
    identifier: Mapped[str] = mapped_column(String(40), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="active")
    subscribed_power: Mapped[Decimal | None] = mapped_column(Ratio)  # kVA (electricity) or kW (heating)
    gas_correction_factor: Mapped[Decimal | None] = mapped_column(Ratio)
    calorific_zone: Mapped[str | None] = mapped_column(String(40))  # gas: the zone whose calorific values apply
    # The utility's own reference from its former system (customer base import): unique per tenant when set.
    external_ref: Mapped[str | None] = mapped_column(String(60))
    updated_at: Mapped[datetime] = updated_at_column()

    premise: Mapped[Premise] = relationship(
        back_populates="delivery_points", foreign_keys=[premise_id],
        primaryjoin="Premise.id == DeliveryPoint.premise_id",
    )
    installations: Mapped[list[MeterInstallation]] = relationship(
        back_populates="delivery_point", foreign_keys="MeterInstallation.delivery_point_id",
        primaryjoin="DeliveryPoint.id == MeterInstallation.delivery_point_id",
        order_by="MeterInstallation.installed_on",
    )

    @property
    def unit(self) -> str:
        return ACTIVITY_UNITS[self.activity]

    def meter_on(self, day: date) -> Meter | None:
        for inst in self.installations:
            if inst.installed_on <= day and (inst.removed_on is None or day < inst.removed_on):
                return inst.meter
        return None

    @property
    def current_meter(self) -> Meter | None:
        current = [i for i in self.installations if i.removed_on is None]
        return current[-1].meter if current else None


class Meter(TenantScoped):
    __tablename__ = "meters"
    __table_args__ = tenant_table_args(
        UniqueConstraint("tenant_id", "serial_number"),
        CheckConstraint(_ACTIVITY_CHECK, name="activity"),
        CheckConstraint("digits between 3 and 12", name="digits"),
        CheckConstraint("multiplier > 0", name="multiplier"),
        external_ref_index(),
    )

    serial_number: Mapped[str] = mapped_column(String(40), nullable=False)
    activity: Mapped[str] = mapped_column(String(16), nullable=False)
    model: Mapped[str | None] = mapped_column(String(80))
    digits: Mapped[int] = mapped_column(Integer, nullable=False, default=6)
    multiplier: Mapped[Decimal] = mapped_column(Ratio, nullable=False, default=Decimal("1"))
    unit: Mapped[str] = mapped_column(String(8), nullable=False)
    is_smart: Mapped[bool] = mapped_column(nullable=False, default=False)
    # The utility's own reference from its former system (customer base import): unique per tenant when set.
    external_ref: Mapped[str | None] = mapped_column(String(60))

    registers: Mapped[list[Register]] = relationship(
        back_populates="meter", foreign_keys="Register.meter_id",
        primaryjoin="Meter.id == Register.meter_id", order_by="Register.id",
    )


class Register(TenantScoped):
    """One counter of a meter (total, peak, off-peak...)."""

    __tablename__ = "registers"
    __table_args__ = tenant_table_args(
        UniqueConstraint("tenant_id", "meter_id", "code"),
        parents={"meter_id": "meters"},
    )

    meter_id: Mapped[int] = tenant_ref()
    code: Mapped[str] = mapped_column(String(16), nullable=False)  # TOTAL, PEAK, OFFPEAK
    label: Mapped[str] = mapped_column(String(60), nullable=False)

    meter: Mapped[Meter] = relationship(
        back_populates="registers", foreign_keys=[meter_id], primaryjoin="Meter.id == Register.meter_id",
    )


class MeterInstallation(TenantScoped):
    """A meter installed at a point of delivery over `[installed_on, removed_on)`."""

    __tablename__ = "meter_installations"
    __table_args__ = tenant_table_args(
        CheckConstraint("removed_on is null or removed_on > installed_on", name="period"),
        Index(None, "tenant_id", "delivery_point_id", "installed_on"),
        parents={"meter_id": "meters", "delivery_point_id": "delivery_points"},
    )

    meter_id: Mapped[int] = tenant_ref()
    delivery_point_id: Mapped[int] = tenant_ref()
    installed_on: Mapped[date] = mapped_column(Date, nullable=False)
    removed_on: Mapped[date | None] = mapped_column(Date)

    meter: Mapped[Meter] = relationship(foreign_keys=[meter_id], primaryjoin="Meter.id == MeterInstallation.meter_id")
    delivery_point: Mapped[DeliveryPoint] = relationship(
        back_populates="installations", foreign_keys=[delivery_point_id],
        primaryjoin="DeliveryPoint.id == MeterInstallation.delivery_point_id",
    )
