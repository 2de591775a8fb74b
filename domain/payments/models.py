"""Provider webhook events (each processed once), money given back on card payments, SEPA direct-debit mandates."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from domain.db import Money, TenantScoped, UTCDateTime, tenant_ref, tenant_table_args


class PaymentEvent(TenantScoped):
    """A provider event already handled: the unique key makes a replayed event change nothing."""

    __tablename__ = "payment_events"
    __table_args__ = tenant_table_args(
        UniqueConstraint("tenant_id", "provider", "event_id"),
        parents={"payment_id": "payments"},
    )
    __audited__ = False

    provider: Mapped[str] = mapped_column(String(16), nullable=False)  # stripe, sandbox
    event_id: Mapped[str] = mapped_column(String(255), nullable=False)
    event_type: Mapped[str] = mapped_column(String(64), nullable=False)
    payment_id: Mapped[int | None] = tenant_ref(nullable=True)
    created_at_provider: Mapped[datetime | None] = mapped_column(UTCDateTime())
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    outcome: Mapped[str] = mapped_column(String(32), nullable=False)  # applied, ignored, unknown_payment


class PaymentReversal(TenantScoped):
    """Money of a card payment given back to the card: a step of its refunds, or a dispute (chargeback).

    A refund row is one rise of the charge's refunded total (`reference`: the event that raised it), so replays and
    late, older events add nothing. A dispute row is the dispute (`reference`: its id) from opening to its end:
    won changes nothing, lost takes its amount back like a refund. `applied_at` is when the money left the
    account's ledger; a refund of a payment not confirmed yet waits (null) until the payment succeeds.
    """

    __tablename__ = "payment_reversals"
    __table_args__ = tenant_table_args(
        UniqueConstraint("tenant_id", "provider", "kind", "reference"),
        CheckConstraint("kind in ('refund', 'dispute')", name="kind"),
        CheckConstraint("status in ('refunded', 'open', 'won', 'lost', 'closed')", name="status"),
        CheckConstraint("amount > 0", name="amount_positive"),
        parents={"payment_id": "payments"},
    )

    payment_id: Mapped[int] = tenant_ref()
    provider: Mapped[str] = mapped_column(String(16), nullable=False)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    reference: Mapped[str] = mapped_column(String(255), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    amount: Mapped[Decimal] = mapped_column(Money, nullable=False)
    currency: Mapped[str] = mapped_column(String(3), nullable=False)
    reason: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    applied_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class DirectDebitMandate(TenantScoped):
    """A SEPA Core mandate given by the customer: the creditor collects the account's bills from this IBAN."""

    __tablename__ = "direct_debit_mandates"
    __table_args__ = tenant_table_args(
        UniqueConstraint("tenant_id", "reference"),
        CheckConstraint("status in ('active', 'revoked')", name="status"),
        Index(None, "tenant_id", "account_id", "status"),
        parents={"account_id": "customer_accounts"},
    )
    __audit_exclude__ = ("iban",)

    account_id: Mapped[int] = tenant_ref()
    reference: Mapped[str] = mapped_column(String(35), nullable=False)  # SEPA mandate reference (max 35)
    iban: Mapped[str] = mapped_column(String(34), nullable=False)  # normalised: no spaces, upper case
    bic: Mapped[str | None] = mapped_column(String(11))
    holder_name: Mapped[str] = mapped_column(String(140), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="active")
    signed_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    signed_by_user_id: Mapped[int | None] = tenant_ref(nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    @property
    def iban_masked(self) -> str:
        return f"{self.iban[:4]} •••• {self.iban[-4:]}"
