"""The tenant: one utility served by the platform."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import JSON, Boolean, CheckConstraint, Integer, Numeric, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column

from domain.db import PlatformModel, UTCDateTime, utcnow
from tenants.secrets import open_sealed, seal

ACTIVITIES = ("water", "gas", "electricity", "heating")
TENANT_STATUSES = ("active", "suspended")


class Tenant(PlatformModel):
    __tablename__ = "tenants"
    __table_args__ = (
        CheckConstraint("status in ('active', 'suspended')", name="status"),
        CheckConstraint("slug <> ''", name="slug_not_empty"),
    )

    slug: Mapped[str] = mapped_column(String(40), unique=True, nullable=False)
    name: Mapped[str] = mapped_column(String(120), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="active", server_default="active")
    activities: Mapped[list] = mapped_column(JSON, nullable=False, default=list)
    default_locale: Mapped[str] = mapped_column(String(8), nullable=False, default="en", server_default="en")
    currency: Mapped[str] = mapped_column(String(3), nullable=False, default="EUR", server_default="EUR")
    timezone: Mapped[str] = mapped_column(String(64), nullable=False, default="Europe/Paris",
                                          server_default="Europe/Paris")
    custom_domain: Mapped[str | None] = mapped_column(String(253), unique=True)
    primary_colour: Mapped[str] = mapped_column(String(7), nullable=False, default="#0b5cad", server_default="#0b5cad")
    accent_colour: Mapped[str] = mapped_column(String(7), nullable=False, default="#f2a900", server_default="#f2a900")
    logo_path: Mapped[str | None] = mapped_column(String(255))
    support_email: Mapped[str | None] = mapped_column(String(254))
    # Billing settings.
    back_billing_months: Mapped[int | None] = mapped_column(Integer)  # e.g. 12 (GB), 14 (FR); None: no limit
    payment_terms_days: Mapped[int] = mapped_column(Integer, nullable=False, default=14, server_default="14")
    gas_calorific_value: Mapped[Decimal | None] = mapped_column(Numeric(8, 4))  # MJ/m3
    iban: Mapped[str | None] = mapped_column(String(34))
    bic: Mapped[str | None] = mapped_column(String(11))
    legal_name: Mapped[str | None] = mapped_column(String(200))
    postal_address: Mapped[str | None] = mapped_column(String(300))
    dispute_contact: Mapped[str | None] = mapped_column(String(500))
    ombudsman: Mapped[str | None] = mapped_column(String(500))
    # SEPA direct debit: the creditor identifier (e.g. DE98ZZZ09999999999) on mandates and in pain.008 files, and
    # how many days ahead of the collection date the daily job prepares a batch (None: staff prepare by hand).
    sepa_creditor_id: Mapped[str | None] = mapped_column(String(35))
    sepa_collection_lead_days: Mapped[int | None] = mapped_column(Integer)
    # Card payments: the tenant's own Stripe account; without keys the portal uses the sandbox provider.
    # Stored sealed (tenants/secrets.py); read and write them through `stripe_secret_key` and
    # `stripe_webhook_secret` below, which open and seal.
    stripe_secret_key_sealed: Mapped[str | None] = mapped_column("stripe_secret_key", Text)
    stripe_webhook_secret_sealed: Mapped[str | None] = mapped_column("stripe_webhook_secret", Text)
    # A demo utility: only then may production use the sandbox checkout (no money moves). Set by the platform
    # operator alone (`flask tenants set-demo`), never by the tenant's admin (migration 0011).
    payments_demo: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False, server_default=false())
    # Days within which the utility promises an answer to a complaint or a request.
    request_answer_days: Mapped[int] = mapped_column(Integer, nullable=False, default=10, server_default="10")
    # Days before the end of a billing period during which customers are invited to read their meter.
    reading_window_days: Mapped[int] = mapped_column(Integer, nullable=False, default=7, server_default="7")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    suspended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # h-console
    # When the administrator opened the portal (tenants/go_live.py); None: not live yet, the portal shows a
    # "coming soon" page while the back office works. Tenants older than the go-live switch are live (0016).
    live_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # h-people
    # Where the utility operates (ISO 3166 alpha-2, e.g. FR): the wizard fills currency, time zone and language
    # from it, and pages write numbers and dates as that country does (domain.i18n.tenant_formatting_locale).
    country: Mapped[str | None] = mapped_column(String(2))
    # h-settings
    # Billing and readings (tenants/operation_settings.py reads them with their defaults; None: the default).
    billing_frequencies: Mapped[list | None] = mapped_column(JSON)  # frequencies offered; None: all of them
    default_billing_frequency: Mapped[str | None] = mapped_column(String(16))  # for new contracts; None: monthly
    plausibility_factor: Mapped[Decimal | None] = mapped_column(Numeric(4, 1))  # None: the platform's (3)
    # Down-payment plans offered: {"monthly": [10, 11, 12], "quarterly": [4]}; None: monthly, 10 to 12.
    down_payment_options: Mapped[dict | None] = mapped_column(JSON)
    # Payment methods offered to customers (card, direct_debit, transfer); None: every method available.
    payment_methods: Mapped[list | None] = mapped_column(JSON)
    stripe_keys_set_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Mail: the From of the tenant's e-mails, and its own SMTP server (none: the platform's transport).
    mail_sender_name: Mapped[str | None] = mapped_column(String(120))
    mail_sender_address: Mapped[str | None] = mapped_column(String(254))
    smtp_host: Mapped[str | None] = mapped_column(String(253))
    smtp_port: Mapped[int | None] = mapped_column(Integer)
    smtp_security: Mapped[str | None] = mapped_column(String(8))  # none, starttls, tls
    smtp_username: Mapped[str | None] = mapped_column(String(254))
    smtp_password_sealed: Mapped[str | None] = mapped_column("smtp_password", Text)  # sealed (tenants/secrets.py)
    mail_tested_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # a test mail last went through
    # h-brand: the legal identity and contact details bills, e-mails and the portal print (domain/brand; the
    # legal name, postal address for letters, dispute contact, ombudsman's name, support e-mail, colours and logo
    # are the columns above). Emergency numbers: {activity: phone}, for the tenant's activities only.
    company_registration: Mapped[str | None] = mapped_column(String(60))
    vat_number: Mapped[str | None] = mapped_column(String(20))
    registered_office: Mapped[str | None] = mapped_column(String(300))
    website: Mapped[str | None] = mapped_column(String(200))
    support_phone: Mapped[str | None] = mapped_column(String(40))
    support_hours: Mapped[str | None] = mapped_column(String(200))
    emergency_phones: Mapped[dict | None] = mapped_column(JSON)
    ombudsman_contact: Mapped[str | None] = mapped_column(String(500))

    @property
    def is_active(self) -> bool:
        return self.status == "active"

    @property
    def is_live(self) -> bool:
        return self.live_at is not None

    @property
    def has_stripe_keys(self) -> bool:
        return bool(self.stripe_secret_key_sealed)

    @property
    def stripe_secret_key(self) -> str | None:
        return open_sealed(self.stripe_secret_key_sealed)

    @stripe_secret_key.setter
    def stripe_secret_key(self, value: str | None) -> None:
        self.stripe_secret_key_sealed = seal(value)

    @property
    def stripe_webhook_secret(self) -> str | None:
        return open_sealed(self.stripe_webhook_secret_sealed)

    @stripe_webhook_secret.setter
    def stripe_webhook_secret(self, value: str | None) -> None:
        self.stripe_webhook_secret_sealed = seal(value)

    @property
    def smtp_password(self) -> str | None:
        return open_sealed(self.smtp_password_sealed)

    @smtp_password.setter
    def smtp_password(self, value: str | None) -> None:
        self.smtp_password_sealed = seal(value)

    def __repr__(self) -> str:
        return f"<Tenant {self.slug}>"
