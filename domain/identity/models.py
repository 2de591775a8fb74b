"""Customer and staff users of a tenant, platform operators, and server-side sign-in sessions."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, String, Text, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from domain.db import (BigId, PlatformModel, TenantScoped, UTCDateTime, public_id_column, tenant_ref, tenant_table_args,
                       utcnow)

STAFF_ROLES = ("agent", "billing", "collections", "supervisor", "tenant_admin")


class CustomerUser(TenantScoped):
    """Online access of an end customer; may hold several accounts (see CustomerAccess)."""

    __tablename__ = "customer_users"
    __table_args__ = tenant_table_args(
        UniqueConstraint("tenant_id", "email"),
        parents={"party_id": "parties"},
    )
    __audit_exclude__ = ("password_hash",)

    email: Mapped[str] = mapped_column(String(254), nullable=False)  # stored lower-cased
    password_hash: Mapped[str] = mapped_column(String(255), nullable=False)
    party_id: Mapped[int] = tenant_ref()
    locale: Mapped[str | None] = mapped_column(String(8))
    email_verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    is_active: Mapped[bool] = mapped_column(nullable=False, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    password_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Marketing consent is separate from service messages (bills, replies, payment receipts).
    marketing_consent: Mapped[bool] = mapped_column(nullable=False, default=False, server_default=false())
    marketing_consent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closure_requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    accesses: Mapped[list[CustomerAccess]] = relationship(
        back_populates="user", foreign_keys="CustomerAccess.customer_user_id",
        primaryjoin="CustomerUser.id == CustomerAccess.customer_user_id",
    )


class CustomerAccess(TenantScoped):
    """Which customer accounts an online user may see (home, holiday home, several activities)."""

    __tablename__ = "customer_accesses"
    __table_args__ = tenant_table_args(
        UniqueConstraint("tenant_id", "customer_user_id", "account_id"),
        parents={"customer_user_id": "customer_users", "account_id": "customer_accounts"},
    )

    customer_user_id: Mapped[int] = tenant_ref()
    account_id: Mapped[int] = tenant_ref()

    user: Mapped[CustomerUser] = relationship(
        back_populates="accesses", foreign_keys=[customer_user_id],
        primaryjoin="CustomerUser.id == CustomerAccess.customer_user_id",
    )


class StaffUser(TenantScoped):
    __tablename__ = "staff_users"
    __table_args__ = tenant_table_args(UniqueConstraint("tenant_id", "email"),
                                       UniqueConstraint("tenant_id", "public_id"))  # h-people
    __audit_exclude__ = ("password_hash",)

    email: Mapped[str] = mapped_column(String(254), nullable=False)
    full_name: Mapped[str] = mapped_column(String(120), nullable=False)
    password_hash: Mapped[str] = mapped_column(String(255), nullable=False)
    locale: Mapped[str | None] = mapped_column(String(8))
    is_active: Mapped[bool] = mapped_column(nullable=False, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    password_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # h-people: the reference staff pages use in URLs (never the sequential id). An invited member has an unusable
    # password (domain.identity.passwords.unusable_password) until they accept the invitation.
    public_id: Mapped[str] = public_id_column()

    role_grants: Mapped[list[StaffRoleGrant]] = relationship(
        back_populates="user", foreign_keys="StaffRoleGrant.staff_user_id",
        primaryjoin="StaffUser.id == StaffRoleGrant.staff_user_id", cascade="all, delete-orphan",
    )

    # Read-only: written through domain/identity/second_factor.py, which expires it after each change.
    second_factor: Mapped[StaffSecondFactor | None] = relationship(
        foreign_keys="StaffSecondFactor.staff_user_id", uselist=False, viewonly=True,
        primaryjoin="StaffUser.id == StaffSecondFactor.staff_user_id",
    )

    @property
    def roles(self) -> frozenset[str]:
        return frozenset(g.role for g in self.role_grants)

    @property
    def has_second_factor(self) -> bool:
        """Whether this staff member signs in with a TOTP code after the password (enrolment confirmed)."""
        return self.second_factor is not None and self.second_factor.confirmed_at is not None


class StaffRoleGrant(TenantScoped):
    __tablename__ = "staff_role_grants"
    __table_args__ = tenant_table_args(
        UniqueConstraint("tenant_id", "staff_user_id", "role"),
        CheckConstraint("role in ('agent', 'billing', 'collections', 'supervisor', 'tenant_admin')", name="role"),
        parents={"staff_user_id": "staff_users"},
    )

    staff_user_id: Mapped[int] = tenant_ref()
    role: Mapped[str] = mapped_column(String(16), nullable=False)

    user: Mapped[StaffUser] = relationship(
        back_populates="role_grants", foreign_keys=[staff_user_id],
        primaryjoin="StaffUser.id == StaffRoleGrant.staff_user_id",
    )


class LoginSession(TenantScoped):
    """A signed-in browser session; the cookie holds a random token, the table its hash.

    Deleting the row ends the session server-side: a replayed cookie finds nothing.
    """

    __tablename__ = "login_sessions"
    __table_args__ = tenant_table_args(
        UniqueConstraint("tenant_id", "token_hash"),
        CheckConstraint("user_kind in ('customer', 'staff')", name="user_kind"),
    )
    __audited__ = False

    token_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    user_kind: Mapped[str] = mapped_column(String(16), nullable=False)
    user_id: Mapped[int] = mapped_column(BigId, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    ip_address: Mapped[str | None] = mapped_column(String(45))
    user_agent: Mapped[str | None] = mapped_column(String(255))


class PlatformOperator(PlatformModel):
    __tablename__ = "platform_operators"
    __table_args__ = (UniqueConstraint("email"),)

    email: Mapped[str] = mapped_column(String(254), nullable=False)
    full_name: Mapped[str] = mapped_column(String(120), nullable=False)
    password_hash: Mapped[str] = mapped_column(String(255), nullable=False)
    is_active: Mapped[bool] = mapped_column(nullable=False, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)

    second_factor: Mapped[OperatorSecondFactor | None] = relationship(
        foreign_keys="OperatorSecondFactor.operator_id", uselist=False, viewonly=True,
        primaryjoin="PlatformOperator.id == OperatorSecondFactor.operator_id",
    )

    @property
    def has_second_factor(self) -> bool:
        return self.second_factor is not None and self.second_factor.confirmed_at is not None


class OperatorSession(PlatformModel):
    __tablename__ = "operator_sessions"
    __table_args__ = (UniqueConstraint("token_hash"),)

    token_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    operator_id: Mapped[int] = mapped_column(BigId, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)


class PasswordResetToken(TenantScoped):
    """Single-use, short-lived password reset link (stored hashed)."""

    __tablename__ = "password_reset_tokens"
    __table_args__ = tenant_table_args(
        UniqueConstraint("tenant_id", "token_hash"),
        CheckConstraint("user_kind in ('customer', 'staff')", name="user_kind"),
    )
    __audited__ = False

    token_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    user_kind: Mapped[str] = mapped_column(String(16), nullable=False)
    user_id: Mapped[int] = mapped_column(BigId, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class EmailVerification(TenantScoped):
    """A single-use link sent to prove an e-mail address (stored hashed).

    purpose "activation": a customer activating online access for the party's accounts (no user yet);
    "link_account": a signed-in customer adding another account; "email_change": a new address of a user.
    """

    __tablename__ = "email_verifications"
    __table_args__ = tenant_table_args(
        UniqueConstraint("tenant_id", "token_hash"),
        CheckConstraint("purpose in ('activation', 'link_account', 'email_change')", name="purpose"),
        parents={"party_id": "parties", "account_id": "customer_accounts", "customer_user_id": "customer_users"},
    )
    __audited__ = False

    token_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    purpose: Mapped[str] = mapped_column(String(16), nullable=False)
    email: Mapped[str] = mapped_column(String(254), nullable=False)
    party_id: Mapped[int | None] = tenant_ref(nullable=True)
    account_id: Mapped[int | None] = tenant_ref(nullable=True)
    customer_user_id: Mapped[int | None] = tenant_ref(nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # SHA-256 of the activation code the link was asked with: following the link uses the code up, and a code
    # used or renewed by staff meanwhile makes the link void. None when the link went to the address on file.
    code_hash: Mapped[str | None] = mapped_column(String(64))


class ActivationGuard(TenantScoped):
    """Failed attempts to prove a customer number (activation, adding an account), and its lock-out.

    Keyed by the number as typed (normalised), whether or not an account has it: an unknown number locks
    exactly like a known one, so the lock-out tells nobody which numbers exist. Staff lift a lock from the
    customer file; locks and lifts are recorded in the account's history.
    """

    __tablename__ = "activation_guards"
    __table_args__ = tenant_table_args(UniqueConstraint("tenant_id", "account_number"))
    __audited__ = False  # numbers typed by anyone are no business object; locks and lifts are recorded as events

    account_number: Mapped[str] = mapped_column(String(20), nullable=False)
    failures: Mapped[int] = mapped_column(nullable=False, default=0)
    latest_failure_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    locked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class AccessNotice(TenantScoped):
    """Something the owner of a login hears of at their next sign-in, once: a new online access to one of
    their accounts, a change of their sign-in address, or of another login's to one of their accounts."""

    __tablename__ = "access_notices"
    __table_args__ = tenant_table_args(
        CheckConstraint("kind in ('access_created', 'email_changed', 'address_changed')", name="kind"),
        parents={"customer_user_id": "customer_users"},
    )
    __audited__ = False

    customer_user_id: Mapped[int] = tenant_ref()
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    account_number: Mapped[str | None] = mapped_column(String(20))
    email_masked: Mapped[str | None] = mapped_column(String(254))  # never an address in full
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    shown_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


# Second factor (TOTP) of staff and platform operators: domain/identity/second_factor.py reads and writes these.
# The secret is sealed at rest (tenants/secrets.py); a row without `confirmed_at` is an enrolment under way (the
# secret was shown, no code typed yet). `latest_used_step` is the 30-second time step of the latest code accepted:
# a code of that step or an earlier one is refused, so a code seen over a shoulder cannot be used again.
# Recovery codes are stored as SHA-256 digests (80 random bits each: no salt or slow hash needed) and used once.
# Not audited row by row: enrolment, use of a recovery code and reset are recorded as business events.


class StaffSecondFactor(TenantScoped):
    __tablename__ = "staff_second_factors"
    __table_args__ = tenant_table_args(
        UniqueConstraint("tenant_id", "staff_user_id"),
        parents={"staff_user_id": "staff_users"},
    )
    __audited__ = False

    staff_user_id: Mapped[int] = tenant_ref()
    secret_sealed: Mapped[str] = mapped_column(Text, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    latest_used_step: Mapped[int | None] = mapped_column(BigInteger)


class StaffRecoveryCode(TenantScoped):
    __tablename__ = "staff_recovery_codes"
    __table_args__ = tenant_table_args(
        UniqueConstraint("tenant_id", "staff_user_id", "code_hash"),
        parents={"staff_user_id": "staff_users"},
    )
    __audited__ = False

    staff_user_id: Mapped[int] = tenant_ref()
    code_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class OperatorSecondFactor(PlatformModel):
    __tablename__ = "operator_second_factors"
    __table_args__ = (UniqueConstraint("operator_id"),)

    operator_id: Mapped[int] = mapped_column(BigId, ForeignKey("platform_operators.id", ondelete="CASCADE"),
                                             nullable=False)
    secret_sealed: Mapped[str] = mapped_column(Text, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    latest_used_step: Mapped[int | None] = mapped_column(BigInteger)


class OperatorRecoveryCode(PlatformModel):
    __tablename__ = "operator_recovery_codes"
    __table_args__ = (UniqueConstraint("operator_id", "code_hash"),)

    operator_id: Mapped[int] = mapped_column(BigId, ForeignKey("platform_operators.id", ondelete="CASCADE"),
                                             nullable=False)
    code_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
