"""Invitations of staff members: a single-use, expiring link (stored hashed) to set a first password."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from domain.db import BigId, TenantScoped, UTCDateTime, tenant_ref, tenant_table_args


class StaffInvitation(TenantScoped):
    """One invitation sent to a staff member. A newer invitation of the same member revokes the older ones
    (`revoked_at`), so only the latest link works; `used_at` is set when the member chose a password."""

    __tablename__ = "staff_invitations"
    __table_args__ = tenant_table_args(
        UniqueConstraint("tenant_id", "token_hash"),
        parents={"staff_user_id": "staff_users"},
    )
    __audit_exclude__ = ("token_hash",)

    token_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    staff_user_id: Mapped[int] = tenant_ref()
    # Who sent it: a staff member of the tenant, or None when the platform (console, command line) did.
    invited_by_id: Mapped[int | None] = mapped_column(BigId)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
