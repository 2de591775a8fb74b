"""Publishing events for webhook subscribers.

Placeholder until the webhook part of issue 16 lands: the signature is the contract the other parts call.
"""
from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime


def publish(event_type: str, objects: Sequence[dict], *, occurred_at: datetime) -> None:
    """Record one event per object of `event_type` in the current tenant and session, to be delivered after commit
    to every active subscription listening to that type; does nothing (one cheap query) when none listens."""
    return None
