"""Offers (regulated or market) per activity; tariff versions with effective dates and prices."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import JSON, CheckConstraint, Date, Index, Numeric, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from domain.db import Quantity, Ratio, TenantScoped, UnitRate, UTCDateTime, tenant_ref, tenant_table_args

COMPONENTS = ("energy", "water", "sewerage", "levy", "network", "subscribed_power")
TARIFF_COMPONENT_KINDS = ("standing_charge", "percent_levy", "included_part")


class Offer(TenantScoped):
    __tablename__ = "offers"
    __table_args__ = tenant_table_args(
        UniqueConstraint("tenant_id", "code"),
        CheckConstraint("activity in ('water', 'gas', 'electricity', 'heating')", name="activity"),
        CheckConstraint("kind in ('regulated', 'market')", name="kind"),
    )

    code: Mapped[str] = mapped_column(String(40), nullable=False)
    name: Mapped[str] = mapped_column(String(120), nullable=False)
    activity: Mapped[str] = mapped_column(String(16), nullable=False)
    kind: Mapped[str] = mapped_column(String(16), nullable=False, default="market")
    is_active: Mapped[bool] = mapped_column(nullable=False, default=True)

    versions: Mapped[list[TariffVersion]] = relationship(
        back_populates="offer", foreign_keys="TariffVersion.offer_id",
        primaryjoin="Offer.id == TariffVersion.offer_id", order_by="TariffVersion.effective_from",
    )

    def version_on(self, day: date) -> TariffVersion | None:
        for version in reversed(self.versions):
            if version.effective_from <= day and (version.effective_to is None or day < version.effective_to):
                return version
        return None


class TariffVersion(TenantScoped):
    """Prices of an offer in force over `[effective_from, effective_to)`."""

    __tablename__ = "tariff_versions"
    __table_args__ = tenant_table_args(
        UniqueConstraint("tenant_id", "offer_id", "effective_from"),
        CheckConstraint("effective_to is null or effective_to > effective_from", name="period"),
        parents={"offer_id": "offers"},
    )

    offer_id: Mapped[int] = tenant_ref()
    effective_from: Mapped[date] = mapped_column(Date, nullable=False)
    effective_to: Mapped[date | None] = mapped_column(Date)
    standing_charge_per_day: Mapped[Decimal] = mapped_column(UnitRate, nullable=False, default=Decimal("0"))
    standing_charge_tax_rate: Mapped[Decimal] = mapped_column(Ratio, nullable=False, default=Decimal("0"))
    prices_include_tax: Mapped[bool] = mapped_column(nullable=False, default=False)
    # What customers read for the per-day standing charge's line, per locale ({"fr": "Abonnement"}).
    standing_charge_names: Mapped[dict | None] = mapped_column(JSON)

    offer: Mapped[Offer] = relationship(
        back_populates="versions", foreign_keys=[offer_id], primaryjoin="Offer.id == TariffVersion.offer_id",
    )
    prices: Mapped[list[UnitPrice]] = relationship(
        back_populates="version", foreign_keys="UnitPrice.tariff_version_id",
        primaryjoin="TariffVersion.id == UnitPrice.tariff_version_id", order_by="UnitPrice.id",
    )
    components: Mapped[list[TariffComponent]] = relationship(
        back_populates="version", foreign_keys="TariffComponent.tariff_version_id",
        primaryjoin="TariffVersion.id == TariffComponent.tariff_version_id", order_by="TariffComponent.id",
    )


class UnitPrice(TenantScoped):
    """A unit price of one component: flat, a tier (block) of consumption, or one register's."""

    __tablename__ = "unit_prices"
    __table_args__ = tenant_table_args(
        CheckConstraint("tier_to is null or tier_from is null or tier_to > tier_from", name="tier"),
        Index(None, "tenant_id", "tariff_version_id", "component"),
        parents={"tariff_version_id": "tariff_versions"},
    )

    tariff_version_id: Mapped[int] = tenant_ref()
    component: Mapped[str] = mapped_column(String(24), nullable=False, default="energy")
    register_code: Mapped[str | None] = mapped_column(String(16))  # None: every register
    tier_from: Mapped[Decimal | None] = mapped_column(Quantity)  # per year, prorated to the period
    tier_to: Mapped[Decimal | None] = mapped_column(Quantity)
    price: Mapped[Decimal] = mapped_column(UnitRate, nullable=False)
    tax_rate: Mapped[Decimal] = mapped_column(Ratio, nullable=False, default=Decimal("0"))
    description: Mapped[str | None] = mapped_column(String(40))  # the line's key; None: derived (engine.price_keys)
    names: Mapped[dict | None] = mapped_column(JSON)  # what customers read, per locale

    version: Mapped[TariffVersion] = relationship(
        back_populates="prices", foreign_keys=[tariff_version_id],
        primaryjoin="TariffVersion.id == UnitPrice.tariff_version_id",
    )


class TariffComponent(TenantScoped):
    """A component of a tariff version besides its unit prices (see the engine's inputs of the same names):

    - "standing_charge": `amount` per `per` (day, month or year), its own line `code` and tax rate;
    - "percent_levy": `amount` is the rate (0.2193 for 21.93 %) of the lines whose keys `base` lists (comma
      separated), with its own tax rate;
    - "included_part": `amount` per unit of the `base` component's lines is a tax or levy their gross price
      contains, shown as "of which" (no tax rate of its own).
    """

    __tablename__ = "tariff_components"
    __table_args__ = tenant_table_args(
        UniqueConstraint("tenant_id", "tariff_version_id", "code"),
        CheckConstraint("kind in ('standing_charge', 'percent_levy', 'included_part')", name="kind"),
        CheckConstraint("per is null or per in ('day', 'month', 'year')", name="per"),
        parents={"tariff_version_id": "tariff_versions"},
    )

    tariff_version_id: Mapped[int] = tenant_ref()
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    code: Mapped[str] = mapped_column(String(40), nullable=False)
    amount: Mapped[Decimal] = mapped_column(UnitRate, nullable=False)
    per: Mapped[str | None] = mapped_column(String(8))
    base: Mapped[str | None] = mapped_column(String(255))
    tax_rate: Mapped[Decimal] = mapped_column(Ratio, nullable=False, default=Decimal("0"))
    names: Mapped[dict | None] = mapped_column(JSON)

    version: Mapped[TariffVersion] = relationship(
        back_populates="components", foreign_keys=[tariff_version_id],
        primaryjoin="TariffVersion.id == TariffComponent.tariff_version_id",
    )

    @property
    def base_keys(self) -> tuple[str, ...]:
        return tuple(key for key in (self.base or "").split(",") if key)


class GasCalorificValue(TenantScoped):
    """The gas calorific value (MJ/m3) in force from `effective_from` until the next one's date.

    Before a tenant's first dated value, its `gas_calorific_value` setting is in force. Billing converts each part
    of a period with the value in force then, so re-billing a past period uses that period's values.
    """

    __tablename__ = "gas_calorific_values"
    __table_args__ = tenant_table_args(
        UniqueConstraint("tenant_id", "zone", "effective_from"),
        CheckConstraint("value > 0", name="value_positive"),
    )

    # The calorific zone the value is for ("": the utility's single zone, or points of delivery without one).
    zone: Mapped[str] = mapped_column(String(40), nullable=False, default="", server_default="")
    effective_from: Mapped[date] = mapped_column(Date, nullable=False)
    value: Mapped[Decimal] = mapped_column(Numeric(8, 4), nullable=False)
    recorded_by: Mapped[str] = mapped_column(String(255), nullable=False)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
