"""Staff invitations: a single-use, expiring link by e-mail with which an invited staff member sets a first password.

The token is random and only its SHA-256 is stored (as for password resets). A new invitation of the same member
revokes the earlier ones, so only the latest link works; a link used, expired or revoked says which, so the person
knows what to do (sign in, or ask for a new one).
"""
from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update

from domain.audit.recorder import record_event
from domain.db import db
from domain.identity.invitation_models import StaffInvitation
from domain.identity.models import StaffUser
from domain.identity.passwords import has_usable_password
from domain.identity.services import _token_hash, close_all_sessions, set_password

log = logging.getLogger("identity")

INVITATION_LIFETIME = timedelta(days=7)


class InvitationNotValid(Exception):
    """The link cannot be used; `reason` says why: unknown, used, expired or revoked."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class AlreadyJoined(Exception):
    """The staff member has a password already (or is deactivated): there is nothing to invite them to."""


@dataclass(frozen=True)
class SentInvitation:
    user: StaffUser
    token: str
    expires_at: datetime


def is_pending(user: StaffUser) -> bool:
    """Invited and not joined yet: no usable password."""
    return not has_usable_password(user.password_hash)


def issue_invitation(*, user: StaffUser, by: StaffUser | None, now: datetime) -> SentInvitation:
    """A new link for `user`, valid INVITATION_LIFETIME; earlier links of theirs stop working. The caller mails it."""
    if not user.is_active or not is_pending(user):
        raise AlreadyJoined()
    _revoke_pending(user=user, now=now)
    token = secrets.token_urlsafe(32)
    expires_at = now + INVITATION_LIFETIME
    db.session.add(StaffInvitation(token_hash=_token_hash(token), staff_user_id=user.id,
                                   invited_by_id=by.id if by is not None else None, created_at=now,
                                   expires_at=expires_at))
    log.info("staff invited staff=%s by=%s", user.id, by.id if by is not None else "platform")
    return SentInvitation(user, token, expires_at)


def _revoke_pending(*, user: StaffUser, now: datetime) -> None:
    db.session.execute(
        update(StaffInvitation)
        .where(StaffInvitation.staff_user_id == user.id, StaffInvitation.used_at.is_(None),
               StaffInvitation.revoked_at.is_(None))
        .values(revoked_at=now)
        .execution_options(synchronize_session="fetch")
    )


def revoke_invitations(*, user: StaffUser, now: datetime) -> None:
    """Every link of `user` not used yet stops working (the member was deactivated)."""
    _revoke_pending(user=user, now=now)


def latest_invitation(*, user: StaffUser) -> StaffInvitation | None:
    return db.session.scalar(select(StaffInvitation).where(StaffInvitation.staff_user_id == user.id)
                             .order_by(StaffInvitation.created_at.desc(), StaffInvitation.id.desc()).limit(1))


def check_invitation(*, token: str, now: datetime) -> tuple[StaffInvitation, StaffUser]:
    """The invitation behind a link and its staff member, or InvitationNotValid saying why not."""
    invitation = db.session.scalar(select(StaffInvitation).where(StaffInvitation.token_hash == _token_hash(token)))
    if invitation is None:
        raise InvitationNotValid("unknown")
    user = db.session.get(StaffUser, invitation.staff_user_id)
    if user is None:
        raise InvitationNotValid("unknown")
    if invitation.used_at is not None:
        raise InvitationNotValid("used")
    if invitation.revoked_at is not None or not user.is_active:
        raise InvitationNotValid("revoked")
    if invitation.expires_at <= now:
        raise InvitationNotValid("expired")
    return invitation, user


def accept_invitation(*, token: str, new_password: str, now: datetime) -> StaffUser:
    """Set the invited member's first password with a valid link, which is then used up; the caller signs them in.

    A weak password raises WeakPassword and leaves the link as it was."""
    invitation, user = check_invitation(token=token, now=now)
    set_password(user=user, new_password=new_password, now=now)
    invitation.used_at = now
    user.last_login_at = now
    close_all_sessions(user_kind="staff", user_id=user.id)
    record_event(db.session, tenant_id=user.tenant_id, action="staff_joined", entity_type="StaffUser",
                 entity_id=user.id, details={}, occurred_at=now)
    log.info("staff invitation accepted staff=%s", user.id)
    return user
