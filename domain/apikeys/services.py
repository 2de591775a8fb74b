"""Creating, finding, revoking API keys; logging their calls; keeping answers for idempotent retries.

A token is `uak_<tenant slug>_<key id>_<secret>`. The slug says which utility's rows to look in (the tenant comes
from the key, never from the request's host or a header), the key id finds the row, and the secret (32 random
bytes) is checked against its SHA-256: a secret this long needs no slow hash, and checking stays cheap on every
call. The token is shown once; only the hash is kept.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select

from domain.apikeys.models import ApiCall, ApiIdempotentAnswer, ApiKey
from domain.apikeys.scopes import ALL_SCOPES
from domain.db import db

PREFIX = "uak"
MAX_NAME = 100
DEFAULT_RATE_LIMIT = 600  # calls per minute
MAX_RATE_LIMIT = 100_000
CALLS_KEPT_DAYS = 90
ANSWERS_KEPT_HOURS = 24  # as Stripe keeps idempotency keys


class KeyProblem(ValueError):
    """Why a key cannot be created as asked: `reason` is a code the interface words."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class TokenParts:
    slug: str
    key_id: str
    secret: str


def parse_token(token: str | None) -> TokenParts | None:
    """The parts of a well-formed token, else None (no database read for a malformed one)."""
    parts = (token or "").strip().split("_", 3)
    if len(parts) != 4 or parts[0] != PREFIX or not all(parts[1:]):
        return None
    if len(parts[2]) > 16 or len(parts[3]) > 128:
        return None
    return TokenParts(parts[1], parts[2], parts[3])


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_key(*, tenant_slug: str, name: str, scopes: set[str] | frozenset[str], now: datetime,
               expires_at: datetime | None = None, rate_limit_per_minute: int = DEFAULT_RATE_LIMIT,
               staff_id: int | None = None) -> tuple[ApiKey, str]:
    """A new key in the current tenant, and its token (to show once)."""
    name = (name or "").strip()
    if not name or len(name) > MAX_NAME:
        raise KeyProblem("name")
    chosen = set(scopes or ())
    if not chosen or not chosen <= ALL_SCOPES:
        raise KeyProblem("scopes")
    if expires_at is not None and expires_at <= now:
        raise KeyProblem("expiry_past")
    if not 0 < int(rate_limit_per_minute) <= MAX_RATE_LIMIT:
        raise KeyProblem("rate_limit")
    key_id = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    key = ApiKey(name=name, key_id=key_id, secret_hash=_hash(secret), scopes=" ".join(sorted(chosen)),
                 rate_limit_per_minute=int(rate_limit_per_minute), expires_at=expires_at, created_at=now,
                 created_by_staff_id=staff_id)
    db.session.add(key)
    db.session.flush()
    return key, f"{PREFIX}_{tenant_slug}_{key_id}_{secret}"


def find_key(parts: TokenParts, *, now: datetime) -> tuple[ApiKey | None, str]:
    """The current tenant's key the token names, and why it is refused ("" when it is not):
    `invalid` (unknown key or wrong secret: the same answer, so a key id cannot be probed), `revoked`, `expired`."""
    key = db.session.scalar(select(ApiKey).where(ApiKey.key_id == parts.key_id))
    if key is None or not hmac.compare_digest(key.secret_hash, _hash(parts.secret)):
        return None, "invalid"
    state = key.state(now)
    return (key, "") if state == "active" else (None, state)


def revoke_key(*, key: ApiKey, now: datetime, staff_id: int | None) -> bool:
    """Revoke at once (the next call with it is refused). False when it already was."""
    if key.revoked_at is not None:
        return False
    key.revoked_at = now
    key.revoked_by_staff_id = staff_id
    return True


def keys(*, include_revoked: bool = True) -> list[ApiKey]:
    statement = select(ApiKey).order_by(ApiKey.created_at.desc(), ApiKey.id.desc())
    if not include_revoked:
        statement = statement.where(ApiKey.revoked_at.is_(None))
    return list(db.session.scalars(statement))


def key_by_public_id(public_id: str) -> ApiKey | None:
    return db.session.scalar(select(ApiKey).where(ApiKey.public_id == public_id))


def record_call(*, key_id: int, called_at: datetime, method: str, endpoint: str, status: int, duration_ms: int,
                error_code: str | None) -> None:
    db.session.add(ApiCall(api_key_id=key_id, called_at=called_at, method=method, endpoint=endpoint[:200],
                           status=status, duration_ms=max(0, duration_ms), error_code=error_code))


def calls(*, key: ApiKey | None = None, status_class: int | None = None, limit: int = 200) -> list[ApiCall]:
    """The latest calls, newest first (all keys, or one), optionally only 2xx/4xx/5xx."""
    statement = select(ApiCall).order_by(ApiCall.called_at.desc(), ApiCall.id.desc()).limit(limit)
    if key is not None:
        statement = statement.where(ApiCall.api_key_id == key.id)
    if status_class is not None:
        statement = statement.where(ApiCall.status >= status_class * 100, ApiCall.status < status_class * 100 + 100)
    return list(db.session.scalars(statement))


def request_hash(method: str, endpoint: str, body: bytes) -> str:
    digest = hashlib.sha256()
    for part in (method.encode(), b"\0", endpoint.encode(), b"\0", body):
        digest.update(part)
    return digest.hexdigest()


def kept_answer(*, key_id: int, idempotency_key: str, now: datetime) -> ApiIdempotentAnswer | None:
    answer = db.session.scalar(select(ApiIdempotentAnswer).where(
        ApiIdempotentAnswer.api_key_id == key_id, ApiIdempotentAnswer.idempotency_key == idempotency_key))
    if answer is not None and answer.created_at <= now - timedelta(hours=ANSWERS_KEPT_HOURS):
        return None
    return answer


def keep_answer(*, key_id: int, idempotency_key: str, request_digest: str, status: int, body: bytes,
                now: datetime) -> None:
    """Kept in the request's own transaction: the answer exists exactly when what it reports was committed.
    An expired answer under the same key is replaced."""
    db.session.execute(delete(ApiIdempotentAnswer).where(
        ApiIdempotentAnswer.api_key_id == key_id, ApiIdempotentAnswer.idempotency_key == idempotency_key,
        ApiIdempotentAnswer.created_at <= now - timedelta(hours=ANSWERS_KEPT_HOURS)))
    db.session.add(ApiIdempotentAnswer(api_key_id=key_id, idempotency_key=idempotency_key,
                                       request_hash=request_digest, status=status, body=body, created_at=now))


def purge(*, now: datetime) -> tuple[int, int]:
    """Drop calls older than 90 days and answers older than 24 hours (the daily job)."""
    old_calls = db.session.execute(delete(ApiCall).where(ApiCall.called_at < now - timedelta(days=CALLS_KEPT_DAYS)))
    old_answers = db.session.execute(delete(ApiIdempotentAnswer).where(
        ApiIdempotentAnswer.created_at < now - timedelta(hours=ANSWERS_KEPT_HOURS)))
    return old_calls.rowcount or 0, old_answers.rowcount or 0
