"""Background job of bank statements: matching the entries of a big statement once its import has committed."""
from __future__ import annotations

from datetime import date, datetime

from domain.collections.statements import services
from domain.collections.statements.models import BankStatement
from domain.db import db, utcnow


def match_statement(*, statement_id: int, today_iso: str | None = None, now_iso: str | None = None) -> dict:
    """Match a statement's entries (services.match_statement). Idempotent: a statement already matched is left as
    it is, and a re-run after a crash posts no entry's payment twice (its reference is the entry)."""
    statement = db.session.get(BankStatement, statement_id)
    if statement is None:
        return {"outcome": "missing"}
    now = datetime.fromisoformat(now_iso) if now_iso else utcnow()
    today = date.fromisoformat(today_iso) if today_iso else _tenant_today(statement.tenant_id, now)
    result = services.match_statement(statement=statement, now=now, today=today)
    return {"outcome": "matched", "counts": result.counts}


def _tenant_today(tenant_id: int, now: datetime) -> date:
    from zoneinfo import ZoneInfo

    from tenants.models import Tenant

    return now.astimezone(ZoneInfo(db.session.get(Tenant, tenant_id).timezone)).date()
