"""How domain code asks for background work without knowing whether RQ or the in-process runner does it.

The app factory plugs in the dispatcher; a domain job that fans out (a billing run
enqueuing its chunks) calls `dispatch`. Jobs dispatched from inside a job run after
that job has finished and committed, on RQ and in-process alike.
"""
from __future__ import annotations

from collections.abc import Callable

Dispatcher = Callable[..., "str | None"]
_dispatcher: Dispatcher | None = None


def set_dispatcher(dispatcher: Dispatcher) -> None:
    global _dispatcher
    _dispatcher = dispatcher


def dispatch(name: str, *, tenant_id: int | None, job_id: str | None = None, **kwargs) -> str | None:
    if _dispatcher is None:
        raise RuntimeError("no job dispatcher configured: create the app first")
    return _dispatcher(name, tenant_id=tenant_id, job_id=job_id, **kwargs)
