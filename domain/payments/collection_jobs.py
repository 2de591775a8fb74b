"""Background jobs of SEPA collections: prepare a batch for a date, and the daily preparation N days ahead."""
from __future__ import annotations

import logging
from datetime import date, datetime, timedelta

from domain.audit.actor import current_actor
from domain.db import db, utcnow
from domain.payments import sepa_collections as collections
from tenants.context import require_tenant_id
from tenants.models import Tenant

log = logging.getLogger("payments.collections")


def prepare_collection(*, collection_date_iso: str, today_iso: str, now_iso: str | None = None) -> dict:
    """Prepare (or add to) the batch of one collection date. Idempotent: a re-run adds only bills not yet in a
    live collection. Nothing to collect, or a tenant not set up for SEPA, is an outcome, not a failure."""
    tenant = db.session.get(Tenant, require_tenant_id())
    now = datetime.fromisoformat(now_iso) if now_iso else utcnow()
    try:
        batch, added = collections.prepare_batch(
            tenant=tenant, collection_date=date.fromisoformat(collection_date_iso), today=date.fromisoformat(today_iso),
            now=now, prepared_by=current_actor().label)
    except collections.CollectionRefused as exc:
        if exc.code in ("nothing_due", "not_configured", "currency"):
            log.info("collection not prepared tenant=%s date=%s outcome=%s", tenant.id, collection_date_iso, exc.code)
            return {"outcome": exc.code, "added": 0}
        raise
    collections.prenotify_batch(tenant=tenant, batch=batch, now=now)  # a job already: no need for another
    return {"outcome": "prepared", "batch": batch.public_id, "message_id": batch.message_id, "added": added}


def prenotify_collection(*, batch_id: int, now_iso: str | None = None) -> dict:
    """After staff prepared a batch: the debtors' pre-notifications (domain/payments/sepa_collections.py)."""
    tenant = db.session.get(Tenant, require_tenant_id())
    batch = db.session.get(collections.CollectionBatch, batch_id)
    if batch is None or batch.status != "prepared":
        return {"skipped": True}
    now = datetime.fromisoformat(now_iso) if now_iso else utcnow()
    return {"queued": collections.prenotify_batch(tenant=tenant, batch=batch, now=now)}


def prepare_due_collections(*, today_iso: str) -> dict:
    """Daily: for a tenant that set `sepa_collection_lead_days`, prepare the batch collected that many days on."""
    tenant = db.session.get(Tenant, require_tenant_id())
    if not tenant.sepa_collection_lead_days:
        return {"outcome": "not_automatic", "added": 0}
    today = date.fromisoformat(today_iso)
    collection_date = today + timedelta(days=tenant.sepa_collection_lead_days)
    return prepare_collection(collection_date_iso=collection_date.isoformat(), today_iso=today_iso)
