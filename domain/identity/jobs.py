"""Housekeeping jobs for sign-in data."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete

from domain.db import db
from domain.identity.models import LoginSession, PasswordResetToken


def purge_expired_sessions(*, now_iso: str) -> dict:
    """Delete the current tenant's expired sessions and reset links. Safe to run twice."""
    now = datetime.fromisoformat(now_iso)
    sessions = db.session.execute(delete(LoginSession).where(LoginSession.expires_at <= now)).rowcount
    tokens = db.session.execute(delete(PasswordResetToken).where(PasswordResetToken.expires_at <= now)).rowcount
    return {"sessions": sessions, "reset_tokens": tokens}
