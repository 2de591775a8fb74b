"""When a message refused for now (4xx, server unreachable) is tried again: exponential back-off, then give up."""
from __future__ import annotations

from datetime import datetime, timedelta

FIRST_DELAY = timedelta(minutes=1)
MOST_DELAY = timedelta(hours=4)
MAX_ATTEMPTS = 8  # over about 4 hours (1+2+4+...+64 min then capped): a server down for an afternoon is waited for


def retry_delay(attempts: int) -> timedelta:
    """The wait after the `attempts`-th failed attempt (1 for the first): 1 min, 2, 4, ... capped at MOST_DELAY."""
    if attempts < 1:
        raise ValueError("attempts counts from 1")
    return min(FIRST_DELAY * (2 ** (attempts - 1)), MOST_DELAY)


def next_attempt_at(*, attempts: int, now: datetime, max_attempts: int = MAX_ATTEMPTS) -> datetime | None:
    """When to try again after `attempts` failed attempts, or None: give up, the message has failed."""
    if attempts >= max_attempts:
        return None
    return now + retry_delay(attempts)
