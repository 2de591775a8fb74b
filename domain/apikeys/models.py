"""API keys (stored hashed), the log of every call, and the answers kept for `Idempotency-Key` retries."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, Index, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from domain.db import BigId, TenantScoped, UTCDateTime, public_id_column, tenant_ref, tenant_table_args


class ApiKey(TenantScoped):
    __tablename__ = "api_keys"
    __table_args__ = tenant_table_args(
        UniqueConstraint("tenant_id", "public_id"),
        UniqueConstraint("tenant_id", "key_id"),
        CheckConstraint("rate_limit_per_minute > 0", name="rate_limit_positive"),
    )
    __audit_exclude__ = ("secret_hash",)  # the history says a key was made, never with what would check its token

    public_id: Mapped[str] = public_id_column()
    name: Mapped[str] = mapped_column(String(100), nullable=False)
    # The token is `uak_<tenant slug>_<key_id>_<secret>`: the key id finds the row, the secret proves it.
    key_id: Mapped[str] = mapped_column(String(16), nullable=False)
    secret_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    scopes: Mapped[str] = mapped_column(Text, nullable=False)  # space-separated, sorted
    rate_limit_per_minute: Mapped[int] = mapped_column(Integer, nullable=False, default=600)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    created_by_staff_id: Mapped[int | None] = mapped_column(BigId)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_by_staff_id: Mapped[int | None] = mapped_column(BigId)

    @property
    def scope_set(self) -> frozenset[str]:
        return frozenset(self.scopes.split())

    def state(self, now: datetime) -> str:
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= now:
            return "expired"
        return "active"


class ApiCall(TenantScoped):
    __tablename__ = "api_calls"
    __table_args__ = tenant_table_args(
        Index(None, "tenant_id", "called_at"),
        Index(None, "tenant_id", "api_key_id", "called_at"),
        parents={"api_key_id": "api_keys"},
    )
    __audited__ = False  # the row is itself the record

    api_key_id: Mapped[int] = tenant_ref()
    called_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    method: Mapped[str] = mapped_column(String(8), nullable=False)
    # The route's template (`/api/v1/bills/{number}`), not the path: identifiers stay out of the log.
    endpoint: Mapped[str] = mapped_column(String(200), nullable=False)
    status: Mapped[int] = mapped_column(Integer, nullable=False)
    duration_ms: Mapped[int] = mapped_column(Integer, nullable=False)
    error_code: Mapped[str | None] = mapped_column(String(64))


class ApiIdempotentAnswer(TenantScoped):
    __tablename__ = "api_idempotent_answers"
    __table_args__ = tenant_table_args(
        UniqueConstraint("tenant_id", "api_key_id", "idempotency_key"),
        Index(None, "tenant_id", "created_at"),
        parents={"api_key_id": "api_keys"},
    )
    __audited__ = False

    api_key_id: Mapped[int] = tenant_ref()
    idempotency_key: Mapped[str] = mapped_column(String(255), nullable=False)
    # What was asked (method, route, body) as a SHA-256: the same key with another request is refused.
    request_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    status: Mapped[int] = mapped_column(Integer, nullable=False)
    body: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
