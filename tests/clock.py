"""The clock every test runs on: pinned, so the real date never decides a test.

The whole test process (the app, its threads, the live server of the browser tests, the worker processes the tests
start through `pinned_command`) sees `PINNED_AT` as "now", ticking from the session's start. `tests/factories.py`
dates its rows against it. CI also runs the suite with the machine's clock moved (libfaketime, see `.ci/run`):
nothing may read the real clock behind this pin.

Set `TEST_PINNED_AT` (ISO 8601 with an offset) to pin elsewhere, e.g. when debugging a date-dependent failure.
A test that needs another moment moves the pin itself with the `clock` fixture (`clock.move_to(...)`).
"""
from __future__ import annotations

import os
import sys
from datetime import date, datetime, UTC
from pathlib import Path

DEFAULT_PINNED_AT = "2026-11-28T09:00:00+00:00"
PINNED_AT: datetime = datetime.fromisoformat(os.environ.get("TEST_PINNED_AT") or DEFAULT_PINNED_AT).astimezone(UTC)
TODAY: date = PINNED_AT.date()
ROOT = Path(__file__).resolve().parents[1]


def pinned_command(*args: str) -> list[str]:
    """A command line running `python <args>` with its clock pinned where the tests' is (for worker processes)."""
    return [sys.executable, str(ROOT / "tests" / "pinned_process.py"), *args]


def pinned_env(environ: dict[str, str], at: datetime | None = None) -> dict[str, str]:
    """The environment for `pinned_command`: the moment the child process starts at (now, on the tests' clock)."""
    return {**environ, "TEST_PROCESS_PINNED_AT": (at or datetime.now(UTC)).isoformat()}


# The travellers (time_machine) of the pinned clock and of any `clock.move_to`, innermost last: `advance` moves the
# innermost one on, keeping whether it ticks or stands still.
_travellers: list = []


def track(traveller) -> None:
    _travellers.append(traveller)


def untrack(traveller) -> None:
    if traveller in _travellers:
        _travellers.remove(traveller)


def advance(seconds: float) -> None:
    """Move the tests' clock forward by `seconds` for the rest of the test (and, on the session's pinned clock,
    of the run: it only ever ticks forward). Never backward: a cookie signed "later" would not open "earlier"."""
    if seconds < 0:
        raise ValueError("the tests' clock only moves forward")
    _travellers[-1].shift(seconds)
