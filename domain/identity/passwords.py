"""Password hashing with argon2id."""
from __future__ import annotations

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

_hasher = PasswordHasher(type=Type.ID)
MIN_LENGTH = 10


def configure_for_tests() -> None:
    """Cheaper argon2id parameters so the test suite stays fast; still argon2id."""
    global _hasher
    _hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1, type=Type.ID)


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(stored_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(stored_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    try:
        return _hasher.check_needs_rehash(stored_hash)
    except InvalidHashError:
        return True


_DUMMY_HASH: str | None = None


def burn_time(password: str) -> None:
    """Verify against a dummy hash so an unknown e-mail takes as long as a wrong password."""
    global _DUMMY_HASH
    if _DUMMY_HASH is None:
        _DUMMY_HASH = _hasher.hash("not-a-real-password")
    verify_password(_DUMMY_HASH, password)


def password_problems(password: str) -> list[str]:
    """Codes for what is wrong with a new password (the interface translates them)."""
    problems = []
    if len(password) < MIN_LENGTH:
        problems.append("too_short")
    if password.strip() != password:
        problems.append("spaces_around")
    if password.lower() in {"password12", "1234567890", "motdepasse", "azertyuiop", "qwertyuiop"}:
        problems.append("too_common")
    return problems


# Django's convention: a stored value no hasher recognises (it starts with "!") matches no password, so the account
# cannot be signed in to until a real password is set. The random tail keeps two such values apart.
UNUSABLE_PREFIX = "!"


def unusable_password() -> str:
    import secrets

    return UNUSABLE_PREFIX + secrets.token_urlsafe(24)


def has_usable_password(stored_hash: str | None) -> bool:
    return bool(stored_hash) and not stored_hash.startswith(UNUSABLE_PREFIX)
