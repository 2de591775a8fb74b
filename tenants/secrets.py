"""Tenants' secrets (Stripe keys) sealed at rest with Fernet; the keys come from SECRETS_KEY (app/settings.py).

A sealed value is a Fernet token: AES-128-CBC with an HMAC-SHA256, so a changed or truncated value is refused,
never half-read. `MultiFernet` seals with the first key and opens with any of them, which is how a key is
rotated: put the new key first in SECRETS_KEY, run `flask tenants reseal-secrets`, then drop the old key.
Values are opened only where they are used (a payment, a webhook), so a wrong key breaks card payments with
a clear error and nothing else.
"""
from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

_keyring: MultiFernet | None = None


class SecretUnreadable(RuntimeError):
    """A sealed secret does not open with any key of SECRETS_KEY (a key was dropped too early, or changed)."""


def configure_secrets(keys: tuple[str, ...] | list[str]) -> None:
    """Set the keys (first seals, every one opens); called by the app factory from the settings."""
    global _keyring
    if not keys:
        raise ValueError("at least one key is needed to seal secrets")
    _keyring = MultiFernet([Fernet(key) for key in keys])


def _ring() -> MultiFernet:
    if _keyring is None:
        from app.settings import load_settings  # a script that did not build the app: same settings, same rules

        configure_secrets(load_settings().secrets_keys)
    return _keyring


def is_sealed(value: str | None) -> bool:
    """True for a Fernet token (version byte 0x80, which base64 writes as 'gAAAAA')."""
    return bool(value) and value.startswith("gAAAAA")


def seal(value: str | None) -> str | None:
    if value is None or value == "":
        return None
    return _ring().encrypt(value.encode("utf-8")).decode("ascii")


def open_sealed(value: str | None) -> str | None:
    if value is None or value == "":
        return None
    try:
        return _ring().decrypt(value.encode("ascii")).decode("utf-8")
    except (InvalidToken, UnicodeError) as exc:
        raise SecretUnreadable("a tenant secret does not open with the keys in SECRETS_KEY") from exc


def reseal(value: str | None) -> str | None:
    """The same secret sealed with the first key (key rotation); clear text left by an old version is sealed."""
    if value is None or value == "":
        return None
    if not is_sealed(value):
        return seal(value)
    try:
        return _ring().rotate(value.encode("ascii")).decode("ascii")
    except InvalidToken as exc:
        raise SecretUnreadable("a tenant secret does not open with the keys in SECRETS_KEY") from exc
