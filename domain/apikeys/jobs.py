"""The daily purge of API records: calls after 90 days, idempotent answers after 24 hours."""
from __future__ import annotations

from datetime import datetime

from domain.apikeys.services import purge


def purge_api_records(*, now_iso: str) -> dict:
    """Safe to run twice: a second run finds nothing left to delete."""
    calls, answers = purge(now=datetime.fromisoformat(now_iso))
    return {"calls": calls, "answers": answers}
