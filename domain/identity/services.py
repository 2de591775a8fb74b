"""Sign-in, server-side sessions, password change and reset for customers, staff and operators."""
from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache

from sqlalchemy import delete, select

from domain import readsql
from domain.db import db
from domain.identity.models import (
    CustomerUser,
    LoginSession,
    OperatorSession,
    PasswordResetToken,
    PlatformOperator,
    StaffUser,
)
from domain.identity.passwords import burn_time, hash_password, needs_rehash, password_problems, verify_password

USER_MODELS = {"customer": CustomerUser, "staff": StaffUser}
RESET_LIFETIME = timedelta(minutes=30)


class InvalidCredentials(Exception):
    """Wrong e-mail or password; deliberately says no more than that."""


class WeakPassword(ValueError):
    def __init__(self, problems: list[str]):
        super().__init__(", ".join(problems))
        self.problems = problems


class InvalidResetToken(Exception):
    """The reset link is unknown, used or expired."""


@dataclass(frozen=True)
class OpenedSession:
    token: str
    expires_at: datetime


def normalise_email(email: str) -> str:
    return (email or "").strip().lower()


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _check_password(password: str) -> None:
    problems = password_problems(password)
    if problems:
        raise WeakPassword(problems)


def authenticate(*, user_kind: str, email: str, password: str, now: datetime):
    """The active user of the current tenant with this e-mail and password, or InvalidCredentials."""
    model = USER_MODELS[user_kind]
    user = db.session.scalar(select(model).where(model.email == normalise_email(email)))
    if user is None:
        burn_time(password)
        raise InvalidCredentials()
    if not verify_password(user.password_hash, password) or not user.is_active:
        raise InvalidCredentials()
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.last_login_at = now
    return user


def open_session(*, user_kind: str, user_id: int, now: datetime, lifetime: timedelta,
                 ip_address: str | None = None, user_agent: str | None = None) -> OpenedSession:
    token = secrets.token_urlsafe(32)
    expires_at = now + lifetime
    db.session.add(LoginSession(
        token_hash=_token_hash(token), user_kind=user_kind, user_id=user_id, created_at=now,
        expires_at=expires_at, ip_address=ip_address, user_agent=(user_agent or "")[:255] or None,
    ))
    return OpenedSession(token, expires_at)


def user_for_session(*, user_kind: str, token: str, now: datetime):
    """The user behind a live session token of the current tenant, or None.

    Every signed-in request asks, so the session row and its user are read in one hand-written statement
    and the user attached to the session without an ORM query (`domain.readsql.attached`)."""
    statement, keys = _session_user_statement(user_kind)
    row = readsql.first(statement, token_hash=_token_hash(token), kind=user_kind, now=now)
    if row is None:
        return None
    return readsql.attached(USER_MODELS[user_kind], dict(zip(keys, row, strict=True)))


@cache
def _session_user_statement(user_kind: str) -> tuple[readsql.ReadSQL, tuple[str, ...]]:
    model = USER_MODELS[user_kind]
    columns, kinds, keys = readsql.entity_columns(model, "u")
    return readsql.ReadSQL(f"""
        SELECT {columns} FROM login_sessions s
        JOIN {model.__tablename__} u ON u.tenant_id = s.tenant_id AND u.id = s.user_id
        WHERE s.tenant_id = :tenant_id AND s.token_hash = :token_hash AND s.user_kind = :kind
          AND s.expires_at > :now AND u.is_active
    """, kinds), keys


def close_session(*, token: str) -> None:
    db.session.execute(delete(LoginSession).where(LoginSession.token_hash == _token_hash(token)))


def close_all_sessions(*, user_kind: str, user_id: int) -> None:
    db.session.execute(
        delete(LoginSession).where(LoginSession.user_kind == user_kind, LoginSession.user_id == user_id)
    )


def change_password(*, user_kind: str, user, current_password: str, new_password: str, now: datetime) -> None:
    """Change a password; every session of the user ends (the caller opens a fresh one)."""
    if not verify_password(user.password_hash, current_password):
        raise InvalidCredentials()
    _check_password(new_password)
    user.password_hash = hash_password(new_password)
    user.password_changed_at = now
    close_all_sessions(user_kind=user_kind, user_id=user.id)


def set_password(*, user, new_password: str, now: datetime) -> None:
    _check_password(new_password)
    user.password_hash = hash_password(new_password)
    user.password_changed_at = now


def start_password_reset(*, user_kind: str, email: str, now: datetime):
    """(user, token) when the e-mail belongs to an active user, else None. Same cost either way."""
    model = USER_MODELS[user_kind]
    user = db.session.scalar(select(model).where(model.email == normalise_email(email)))
    token = secrets.token_urlsafe(32)
    if user is None or not user.is_active:
        return None
    db.session.add(PasswordResetToken(
        token_hash=_token_hash(token), user_kind=user_kind, user_id=user.id,
        created_at=now, expires_at=now + RESET_LIFETIME,
    ))
    return user, token


def complete_password_reset(*, user_kind: str, token: str, new_password: str, now: datetime):
    row = db.session.scalar(
        select(PasswordResetToken).where(
            PasswordResetToken.token_hash == _token_hash(token), PasswordResetToken.user_kind == user_kind,
        )
    )
    if row is None or row.used_at is not None or row.expires_at <= now:
        raise InvalidResetToken()
    user = db.session.get(USER_MODELS[user_kind], row.user_id)
    if user is None or not user.is_active:
        raise InvalidResetToken()
    set_password(user=user, new_password=new_password, now=now)
    row.used_at = now
    close_all_sessions(user_kind=user_kind, user_id=user.id)
    return user


def reset_token_is_valid(*, user_kind: str, token: str, now: datetime) -> bool:
    row = db.session.scalar(
        select(PasswordResetToken).where(
            PasswordResetToken.token_hash == _token_hash(token), PasswordResetToken.user_kind == user_kind,
        )
    )
    return row is not None and row.used_at is None and row.expires_at > now


# Platform operators: platform tables, no tenant.

def authenticate_operator(*, email: str, password: str, now: datetime) -> PlatformOperator:
    op = db.session.scalar(select(PlatformOperator).where(PlatformOperator.email == normalise_email(email)))
    if op is None:
        burn_time(password)
        raise InvalidCredentials()
    if not verify_password(op.password_hash, password) or not op.is_active:
        raise InvalidCredentials()
    return op


def open_operator_session(*, operator_id: int, now: datetime, lifetime: timedelta) -> OpenedSession:
    token = secrets.token_urlsafe(32)
    db.session.add(OperatorSession(
        token_hash=_token_hash(token), operator_id=operator_id, created_at=now, expires_at=now + lifetime,
    ))
    return OpenedSession(token, now + lifetime)


def operator_for_session(*, token: str, now: datetime) -> PlatformOperator | None:
    row = db.session.scalar(select(OperatorSession).where(OperatorSession.token_hash == _token_hash(token)))
    if row is None or row.expires_at <= now:
        return None
    op = db.session.get(PlatformOperator, row.operator_id)
    return op if op is not None and op.is_active else None


def close_operator_session(*, token: str) -> None:
    db.session.execute(delete(OperatorSession).where(OperatorSession.token_hash == _token_hash(token)))


def close_all_operator_sessions(*, operator_id: int) -> None:
    db.session.execute(delete(OperatorSession).where(OperatorSession.operator_id == operator_id))


def create_operator(*, email: str, full_name: str, password: str) -> PlatformOperator:
    _check_password(password)
    op = PlatformOperator(email=normalise_email(email), full_name=full_name, password_hash=hash_password(password))
    db.session.add(op)
    return op
