"""An import of a customer base (a set of files) and its chunks, the unit of work of a worker."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from domain.db import TenantScoped, UTCDateTime, public_id_column, tenant_ref, tenant_table_args

IMPORT_STATUSES = ("checking", "invalid", "importing", "completed", "failed")
CHUNK_STATUSES = ("pending", "done", "failed")


class CustomerImport(TenantScoped):
    """Files checked as a whole, then written chunk by chunk; `errors` holds what the check found."""

    __tablename__ = "customer_imports"
    __table_args__ = tenant_table_args(
        UniqueConstraint("tenant_id", "public_id"),
        CheckConstraint("status in ('checking', 'invalid', 'importing', 'completed', 'failed')", name="status"),
        Index(None, "tenant_id", "created_at"),
    )

    public_id: Mapped[str] = public_id_column()
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="checking")
    # kind -> {"name": the administrator's file name, "key": storage key, "format": "csv" | "xlsx"}
    files: Mapped[dict] = mapped_column(JSON, nullable=False)
    created_by: Mapped[str] = mapped_column(String(255), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    total_rows: Mapped[int] = mapped_column(nullable=False, default=0)
    error_count: Mapped[int] = mapped_column(nullable=False, default=0)
    # The first errors found: [{"kind", "row", "column", "code", "params"}], shown in the reader's language.
    errors: Mapped[list | None] = mapped_column(JSON)
    failure: Mapped[str | None] = mapped_column(Text)  # a crash of the check or a chunk (not a data error)

    @property
    def is_active(self) -> bool:
        return self.status in ("checking", "importing")


class CustomerImportChunk(TenantScoped):
    """Rows of one file, checked and normalised, written in one transaction by one job."""

    __tablename__ = "customer_import_chunks"
    __table_args__ = tenant_table_args(
        UniqueConstraint("tenant_id", "import_id", "number"),
        CheckConstraint("status in ('pending', 'done', 'failed')", name="status"),
        parents={"import_id": "customer_imports"},
    )
    __audited__ = False  # progress bookkeeping; the import records its own events

    import_id: Mapped[int] = tenant_ref()
    number: Mapped[int] = mapped_column(nullable=False)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    phase: Mapped[int] = mapped_column(nullable=False)  # files are written in order: customers before contracts
    rows: Mapped[int] = mapped_column(nullable=False)
    key: Mapped[str] = mapped_column(String(255), nullable=False)  # the chunk's normalised rows in storage
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="pending")
    created: Mapped[int] = mapped_column(nullable=False, default=0)
    updated: Mapped[int] = mapped_column(nullable=False, default=0)
    unchanged: Mapped[int] = mapped_column(nullable=False, default=0)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    error: Mapped[str | None] = mapped_column(Text)
