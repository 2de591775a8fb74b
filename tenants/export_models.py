"""A platform operator's export of one utility's whole data (a ZIP kept in the tenant's storage)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from domain.db import TenantScoped, UTCDateTime, public_id_column, tenant_table_args

EXPORT_STATUSES = ("pending", "running", "done", "failed")


class TenantExport(TenantScoped):
    """One export asked for from the console: written by a job (queue `default`), then downloaded by operators.

    A tenant table (row-level security like the others): the operator reads it inside the tenant's scope, and the
    ZIP lives under the tenant's storage prefix (`exports/`), which the export itself leaves out."""

    __tablename__ = "tenant_exports"
    __table_args__ = tenant_table_args(
        UniqueConstraint("tenant_id", "public_id"),
        CheckConstraint("status in ('pending', 'running', 'done', 'failed')", name="status"),
    )
    __audited__ = False  # the operator's request and its outcome are recorded as business events instead

    public_id: Mapped[str] = public_id_column()
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="pending")
    requested_by: Mapped[str] = mapped_column(String(255), nullable=False)
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    storage_key: Mapped[str | None] = mapped_column(String(255))
    size_bytes: Mapped[int | None] = mapped_column(BigInteger)
    sha256: Mapped[str | None] = mapped_column(String(64))
    total_rows: Mapped[int | None] = mapped_column(BigInteger)
    error: Mapped[str | None] = mapped_column(Text)
