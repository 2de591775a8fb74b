"""The daily collections job of a tenant: payment arrangements checked first (a broken one resumes dunning the same
day), then the dunning run."""
from __future__ import annotations

from datetime import date, datetime

from domain.collections.arrangements import monitor_arrangements
from domain.collections.dunning import run_dunning
from domain.db import db, utcnow
from tenants.context import require_tenant_id
from tenants.models import Tenant

COMMIT_EVERY = 200  # steps per transaction: a killed worker keeps its progress


def daily_collections(*, today_iso: str, now_iso: str | None = None) -> dict:
    """Idempotent: a second run the same day (or after a killed worker) sends and charges nothing twice."""
    tenant = db.session.get(Tenant, require_tenant_id())
    today = date.fromisoformat(today_iso)
    now = datetime.fromisoformat(now_iso) if now_iso else utcnow()
    arrangements = monitor_arrangements(today=today, now=now)
    result = run_dunning(tenant=tenant, today=today, now=now, commit_every=COMMIT_EVERY)
    return {"arrangements": arrangements, "steps": result.steps, "skipped": result.skipped,
            "letters": result.letters, "emails": result.emails, "fees": str(result.fees)}
