"""How domain code asks for background work without knowing whether RQ or the in-process runner does it.

The app factory plugs in the dispatcher; a domain job that fans out (a billing run
enqueuing its chunks) calls `dispatch`. Jobs dispatched from inside a job run after
that job has finished and committed, on RQ and in-process alike.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime

Dispatcher = Callable[..., "str | None"]
_dispatcher: Dispatcher | None = None
_inline: ContextVar[bool] = ContextVar("inline_jobs", default=False)


@contextmanager
def inline_jobs() -> Iterator[None]:
    """Run the jobs dispatched inside this block in this process, even when workers exist (the demo seed
    waits for its billing runs)."""
    token = _inline.set(True)
    try:
        yield
    finally:
        _inline.reset(token)


def set_dispatcher(dispatcher: Dispatcher) -> None:
    global _dispatcher
    _dispatcher = dispatcher


def dispatch(name: str, *, tenant_id: int | None, job_id: str | None = None, background_only: bool = False,
             at: datetime | None = None, **kwargs) -> str | None:
    """Run a job on the workers, or in this process when there are none.

    `background_only`: work worth doing only ahead of time, on workers (rendering a whole run's PDFs); without
    workers it is skipped, since what it prepares is also made on demand.
    `at`: not before this moment (RQ's scheduler); without workers such a job waits for whoever takes the work up
    (a campaign's retries: the next worker start or staff resuming it), since nothing in-process can wait.
    """
    if _dispatcher is None:
        raise RuntimeError("no job dispatcher configured: create the app first")
    return _dispatcher(name, tenant_id=tenant_id, job_id=job_id, inline=_inline.get(),
                       background_only=background_only, **({"at": at} if at is not None else {}), **kwargs)
