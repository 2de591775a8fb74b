"""Who is acting: set at the edge (request, job, command), read by the audit recorder."""
from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass


@dataclass(frozen=True)
class Actor:
    kind: str  # customer, staff, operator, system
    id: int | None
    label: str


SYSTEM = Actor("system", None, "system")
_actor: ContextVar[Actor] = ContextVar("audit_actor", default=SYSTEM)


def current_actor() -> Actor:
    return _actor.get()


def set_actor(actor: Actor):
    return _actor.set(actor)


def reset_actor(token) -> None:
    _actor.reset(token)


@contextmanager
def acting_as(actor: Actor):
    token = _actor.set(actor)
    try:
        yield actor
    finally:
        _actor.reset(token)
