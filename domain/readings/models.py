"""Meter readings per register, with their source and validation status; smart meters' interval data by day."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, Date, Index, Integer, LargeBinary, String, UniqueConstraint, false, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from domain.db import BigId, Quantity, TenantScoped, UTCDateTime, tenant_ref, tenant_table_args
from domain.sites.models import Register

READING_SOURCES = ("customer", "agent", "smart_meter", "estimated", "regularisation")
READING_STATUSES = ("pending", "valid", "rejected")


class MeterReading(TenantScoped):
    __tablename__ = "meter_readings"
    __table_args__ = tenant_table_args(
        CheckConstraint(
            "source in ('customer', 'agent', 'smart_meter', 'estimated', 'regularisation')", name="source",
        ),
        CheckConstraint("status in ('pending', 'valid', 'rejected')", name="status"),
        CheckConstraint("value >= 0", name="value_positive"),
        # A register's readings in the engine's order (read_on, id), covering on PostgreSQL (migrations 0032, 0036):
        # a batch of readings weighs each on the index alone, presorted.
        Index("ix_meter_readings_tenant_id_register_id_read_on", "tenant_id", "register_id", "read_on", "id",
              postgresql_include=["value", "status", "source"]),
        Index(None, "tenant_id", "status", "received_at"),
        # One imported reading per register and day: importing a history again matches, never doubles.
        Index("uq_meter_readings_imported_day", "tenant_id", "register_id", "read_on", unique=True,
              sqlite_where=text("imported"), postgresql_where=text("imported")),
        parents={"register_id": "registers"},
    )

    # No foreign key to tenants: (tenant_id, register_id) -> registers proves the tenant, and a history import writes
    # millions of readings, each checking every key (migration 0021, as 0005 did for bill lines).
    tenant_id: Mapped[int] = mapped_column(BigId, nullable=False)

    register_id: Mapped[int] = tenant_ref()
    read_on: Mapped[date] = mapped_column(Date, nullable=False)
    value: Mapped[Decimal] = mapped_column(Quantity, nullable=False)
    source: Mapped[str] = mapped_column(String(16), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="pending")
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    submitted_by_user_id: Mapped[int | None] = mapped_column(BigId)
    # The staff member who entered it for the customer (on the phone, a meter reader's, a meter exchange's).
    entered_by_staff_id: Mapped[int | None] = mapped_column(BigId)
    rollover_confirmed: Mapped[bool] = mapped_column(nullable=False, default=False)
    # A staff member saved this index although it is outside the plausible range, after being warned.
    implausible_confirmed: Mapped[bool] = mapped_column(nullable=False, default=False, server_default=false())
    rejection_reason: Mapped[str | None] = mapped_column(String(255))
    photo_path: Mapped[str | None] = mapped_column(String(255))
    # Loaded from a reading history by the customer base import (domain/imports).
    imported: Mapped[bool] = mapped_column(nullable=False, default=False, server_default=false())

    register: Mapped[Register] = relationship(
        foreign_keys=[register_id], primaryjoin="Register.id == MeterReading.register_id",
    )


INTERVAL_SOURCES = ("smart_meter", "estimated")


class IntervalDay(TenantScoped):
    """One register's interval (half-hourly) values over one day in the tenant's time zone, packed as thousandths
    (domain/readings/interval_checks.py says why and how), with the day's total. Sending a day again replaces it."""

    __tablename__ = "interval_days"
    __table_args__ = tenant_table_args(
        UniqueConstraint("tenant_id", "register_id", "day"),
        CheckConstraint("interval_minutes in (15, 30, 60)", name="interval_minutes"),
        CheckConstraint("interval_count > 0", name="interval_count"),
        CheckConstraint("total >= 0", name="total_positive"),
        CheckConstraint("source in ('smart_meter', 'estimated')", name="source"),
        parents={"register_id": "registers"},
    )

    register_id: Mapped[int] = tenant_ref()
    day: Mapped[date] = mapped_column(Date, nullable=False)
    interval_minutes: Mapped[int] = mapped_column(Integer, nullable=False, default=30)
    interval_count: Mapped[int] = mapped_column(Integer, nullable=False)
    packed_values: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    total: Mapped[Decimal] = mapped_column(Quantity, nullable=False)
    source: Mapped[str] = mapped_column(String(16), nullable=False, default="smart_meter")
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)

    register: Mapped[Register] = relationship(
        foreign_keys=[register_id], primaryjoin="Register.id == IntervalDay.register_id",
    )
