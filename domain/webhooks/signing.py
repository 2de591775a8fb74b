"""Signing a webhook's body as Stripe does: HMAC-SHA256 of "<timestamp>.<body>" with the subscription's secret.

Pure functions: the receiver's side (`verify`) is here too, for the tests and for the documentation's example.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets

SIGNATURE_HEADER = "Webhook-Signature"
EVENT_ID_HEADER = "Webhook-Id"
SECRET_PREFIX = "whsec_"


def new_secret() -> str:
    """A fresh signing secret: 32 random bytes, hex, with a prefix that tells what it is."""
    return SECRET_PREFIX + secrets.token_hex(32)


def signature(*, secret: str, timestamp: int, body: bytes) -> str:
    return hmac.new(secret.encode("utf-8"), f"{timestamp}.".encode("ascii") + body, hashlib.sha256).hexdigest()


def signature_header(*, secret: str, timestamp: int, body: bytes) -> str:
    """The value of the Webhook-Signature header: `t=<unix seconds>,v1=<hex HMAC>`."""
    return f"t={timestamp},v1={signature(secret=secret, timestamp=timestamp, body=body)}"


def verify(*, secret: str, header: str, body: bytes, now: int, tolerance: int = 300) -> bool:
    """Whether `header` signs `body` with `secret`, made within `tolerance` seconds of `now` (replays refused)."""
    parts: dict[str, list[str]] = {}
    for item in (header or "").split(","):
        key, _, value = item.strip().partition("=")
        parts.setdefault(key, []).append(value)
    try:
        timestamp = int(parts.get("t", [""])[0])
    except ValueError:
        return False
    if abs(now - timestamp) > tolerance:
        return False
    expected = signature(secret=secret, timestamp=timestamp, body=body)
    return any(hmac.compare_digest(expected, given) for given in parts.get("v1", []))
