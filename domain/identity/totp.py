"""TOTP codes (RFC 6238, as authenticator apps make them) and recovery codes: pure rules, no database, no clock.

A code is accepted for the time step of "now" and one step either side (a phone's clock a little off, a code
typed as it changes), and only for a step after the latest one already used: the same code twice is refused.
"""
from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime

import pyotp

STEP_SECONDS = 30
DIGITS = 6
TOLERANCE_STEPS = 1  # steps accepted before and after the current one
RECOVERY_CODE_COUNT = 10
# 31 letters and digits nobody misreads (no 0/o, 1/i/l); 16 of them are ~79 random bits, so a plain SHA-256 digest
# stores a recovery code safely (nobody can try every possible code against it).
RECOVERY_ALPHABET = "23456789abcdefghjkmnpqrstuvwxyz"
RECOVERY_CODE_LENGTH = 16
_SPACES = re.compile(r"[\s-]+")


@dataclass(frozen=True)
class CodeCheck:
    """What a typed TOTP code is worth: `step` when accepted; `replayed` when right but already used."""

    step: int | None = None
    replayed: bool = False

    @property
    def accepted(self) -> bool:
        return self.step is not None


def new_secret() -> str:
    """A fresh base32 secret of 160 bits (the size RFC 4226 recommends)."""
    return pyotp.random_base32(32)


def time_step(at: datetime) -> int:
    return int(at.timestamp()) // STEP_SECONDS


def code_for_step(secret: str, step: int) -> str:
    return pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS).generate_otp(step)


def normalise_code(typed: str | None) -> str:
    """What was typed, without spaces or hyphens ("123 456" and "abcd-efgh" are common), lower-cased."""
    return _SPACES.sub("", typed or "").lower()


def looks_like_totp(typed: str | None) -> bool:
    code = normalise_code(typed)
    return len(code) == DIGITS and code.isdigit()


def check_code(secret: str, typed: str | None, *, at: datetime, latest_used_step: int | None) -> CodeCheck:
    """Whether `typed` is the code of a step around `at` not used yet (steps up to `latest_used_step` are)."""
    code = normalise_code(typed)
    if len(code) != DIGITS or not code.isdigit():
        return CodeCheck()
    current = time_step(at)
    replayed = False
    for step in range(current - TOLERANCE_STEPS, current + TOLERANCE_STEPS + 1):
        if hmac.compare_digest(code_for_step(secret, step), code):
            if latest_used_step is not None and step <= latest_used_step:
                replayed = True
                continue
            return CodeCheck(step=step)
    return CodeCheck(replayed=replayed)


def provisioning_uri(secret: str, *, account: str, issuer: str) -> str:
    """The otpauth:// address an authenticator app reads from the QR code."""
    return pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS).provisioning_uri(name=account,
                                                                                    issuer_name=issuer)


def grouped(secret: str) -> str:
    """The secret in groups of four, as people type it into an app by hand."""
    return " ".join(secret[i:i + 4] for i in range(0, len(secret), 4))


def new_recovery_codes(count: int = RECOVERY_CODE_COUNT) -> list[str]:
    """Fresh recovery codes as shown to the user: xxxx-xxxx-xxxx-xxxx."""
    codes = []
    for _ in range(count):
        raw = "".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(RECOVERY_CODE_LENGTH))
        codes.append("-".join(raw[i:i + 4] for i in range(0, RECOVERY_CODE_LENGTH, 4)))
    return codes


def recovery_code_digest(typed: str | None) -> str:
    """How a recovery code is stored and looked up: the SHA-256 of the code as typed, spaces and hyphens aside."""
    return hashlib.sha256(normalise_code(typed).encode("utf-8")).hexdigest()


def looks_like_recovery_code(typed: str | None) -> bool:
    code = normalise_code(typed)
    return len(code) == RECOVERY_CODE_LENGTH and all(c in RECOVERY_ALPHABET for c in code)
