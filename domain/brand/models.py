"""The utility's portal pages per locale, and its identity as it stood from each change (bills read the identity
in force when they were issued)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from domain.db import TenantScoped, UTCDateTime, tenant_table_args

PAGES = ("legal-notice", "privacy", "cookies", "accessibility", "contact", "help")


class PortalPage(TenantScoped):
    """What the utility wrote for one page in one language (Markdown). A page without a row shows the generated
    default."""

    __tablename__ = "portal_pages"
    __table_args__ = tenant_table_args(
        UniqueConstraint("tenant_id", "page", "locale"),
        CheckConstraint("page in ('legal-notice', 'privacy', 'cookies', 'accessibility', 'contact', 'help')",
                        name="page"),
    )

    page: Mapped[str] = mapped_column(String(20), nullable=False)
    locale: Mapped[str] = mapped_column(String(8), nullable=False)
    body: Mapped[str] = mapped_column(Text, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    updated_by: Mapped[str] = mapped_column(String(255), nullable=False)


class IdentityVersion(TenantScoped):
    """The identity fields (domain/brand/identity.py IDENTITY_FIELDS) as they stood from `effective_at`. Not audited
    row by row: each change is one audit event on the tenant with its before and after (identity.save_group)."""

    __audited__ = False

    __tablename__ = "identity_versions"
    __table_args__ = tenant_table_args(Index(None, "tenant_id", "effective_at"))

    effective_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    identity: Mapped[dict] = mapped_column(JSON, nullable=False)
    recorded_by: Mapped[str] = mapped_column(String(255), nullable=False)
