"""Search documents of a bulk write built once at its end instead of at each statement (PostgreSQL).

The triggers of migration 0029 rebuild the documents of the accounts every statement touches, which is right for a
staff edit but makes the customer import rebuild each account four times (customers, contact points, contracts,
meter installations). A chunk of the import calls `defer_documents()` in its transaction: the triggers then only
queue the accounts (table `search_refresh_queue`), and `refresh_deferred()` builds their documents once, when the
import closes. Until then a half-imported customer may not be found, as it may not be complete. SQLite's triggers
keep building at once (its imports are small).
"""
from __future__ import annotations

from sqlalchemy import delete, select, text

from domain.db import db
from domain.search.models import SearchRefreshQueue

BATCH = 5000


def _postgres() -> bool:
    return db.session.get_bind().dialect.name == "postgresql"


def defer_documents() -> None:
    """Until this transaction ends, the search triggers queue the accounts they would have rebuilt."""
    if _postgres():
        db.session.execute(text("SELECT set_config('app.search_deferred', 'on', true)"))


def refresh_deferred(*, batch: int = BATCH) -> int:
    """Build the documents of every account queued in the current tenant, in batches; returns how many."""
    if not _postgres():
        return 0
    db.session.execute(text("SELECT set_config('app.search_deferred', 'off', true)"))
    done = 0
    while True:
        rows = db.session.execute(select(SearchRefreshQueue.id, SearchRefreshQueue.tenant_id,
                                         SearchRefreshQueue.account_id)
                                  .order_by(SearchRefreshQueue.id).limit(batch)
                                  .with_for_update(skip_locked=True)).all()
        if not rows:
            return done
        db.session.execute(text("SELECT search_refresh(:tenants, :accounts)"),
                           {"tenants": [r.tenant_id for r in rows], "accounts": [r.account_id for r in rows]})
        db.session.execute(delete(SearchRefreshQueue).where(SearchRefreshQueue.id.in_([r.id for r in rows])))
        done += len(rows)
