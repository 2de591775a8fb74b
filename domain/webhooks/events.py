"""Publishing events for webhook subscribers.

`publish` records the events and one delivery per listening subscription in the caller's transaction; the delivery
jobs are asked for only once that transaction has committed (app/jobs.py calls `dispatch_committed` after a job's
or a request's commit), so a rolled-back transaction sends nothing. Which subscriptions listen is read once per
transaction and tenant: a billing chunk publishing hundreds of bills, or nobody listening, costs one query.
"""
from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import event, select
from sqlalchemy.orm import Session

from domain.bulk import insert_rows
from domain.db import db, new_uuid
from domain.jobs import dispatch
from domain.webhooks.models import EVENT_TYPES, WebhookDelivery, WebhookEvent, WebhookSubscription
from tenants.context import require_tenant_id

log = logging.getLogger("webhooks")
DELIVER_JOB = "webhooks.deliver"
DELIVER_MANY_JOB = "webhooks.deliver_many"
# First attempts are asked for in jobs of this many deliveries: a billing chunk issuing a thousand bills, or a batch
# of 10,000 readings, to a listening subscription asks RQ for ten or a hundred jobs, not one per event.
FIRST_ATTEMPTS_PER_JOB = 100
_LISTENERS = "webhooks.listeners"  # {tenant id: {event type: [subscription ids]}} for the open transaction
_PENDING = "webhooks.pending"  # [(tenant id, delivery id, attempt)] written by the open transaction
_COMMITTED = "webhooks.committed"  # the same once committed, waiting for their jobs to be asked for


def _json_default(value):
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def encode(obj: dict) -> str:
    """An object as the compact JSON text stored with its event and sent in `data` (money as decimal strings)."""
    return json.dumps(obj, default=_json_default, separators=(",", ":"), ensure_ascii=False)


def listeners(event_type: str) -> list[int]:
    """Ids of the active subscriptions of the current tenant listening to `event_type` (cached per transaction)."""
    tenant_id = require_tenant_id()
    cache = db.session.info.setdefault(_LISTENERS, {})
    by_type = cache.get(tenant_id)
    if by_type is None:
        by_type = {}
        rows = db.session.execute(select(WebhookSubscription.id, WebhookSubscription.event_types)
                                  .where(WebhookSubscription.status == "active")).all()
        for subscription_id, types in rows:
            for name in types or ():
                by_type.setdefault(name, []).append(subscription_id)
        cache[tenant_id] = by_type
    return by_type.get(event_type, [])


def listening(event_type: str) -> bool:
    """Whether any active subscription listens to `event_type`: callers with costly payloads ask first."""
    return bool(listeners(event_type))


def forget_listeners() -> None:
    """After a subscription changed in this transaction: the next publish reads the subscriptions again."""
    db.session.info.pop(_LISTENERS, None)


def publish(event_type: str, objects: Sequence[dict], *, occurred_at: datetime) -> None:
    """Record one event per object of `event_type` in the current tenant and session, to be delivered after commit
    to every active subscription listening to that type; does nothing (one cheap query) when none listens."""
    if event_type not in EVENT_TYPES:
        raise ValueError(f"unknown webhook event type {event_type!r}")
    if not objects:
        return
    subscription_ids = listeners(event_type)
    if not subscription_ids:
        return
    record(event_type, objects, occurred_at=occurred_at, subscription_ids=subscription_ids)


def record(event_type: str, objects: Sequence[dict], *, occurred_at: datetime,
           subscription_ids: Sequence[int]) -> list[int]:
    """Write the events and their deliveries in bulk (a few statements whatever the count); returns delivery ids."""
    if occurred_at.tzinfo is None:
        raise ValueError("naive datetime refused: pass an aware datetime (UTC)")
    tenant_id = require_tenant_id()
    session = db.session
    events = [{"tenant_id": tenant_id, "public_id": new_uuid(), "event_type": event_type,
               "occurred_at": occurred_at, "payload": encode(obj)} for obj in objects]
    event_ids = insert_rows(session, WebhookEvent.__table__, events, return_ids=True)
    deliveries = [{"tenant_id": tenant_id, "public_id": new_uuid(), "subscription_id": subscription_id,
                   "event_id": event_id, "status": "pending", "attempts": 0, "next_attempt_at": occurred_at,
                   "created_at": occurred_at}
                  for event_id in event_ids for subscription_id in subscription_ids]
    delivery_ids = insert_rows(session, WebhookDelivery.__table__, deliveries, return_ids=True)
    session.info.setdefault(_PENDING, []).extend((tenant_id, delivery_id, 1) for delivery_id in delivery_ids)
    log.info("webhook events recorded tenant=%s type=%s events=%s deliveries=%s", tenant_id, event_type,
             len(event_ids), len(delivery_ids))
    return delivery_ids


def remember_delivery(tenant_id: int, delivery_id: int, attempt: int = 1) -> None:
    """A delivery to (re)send once the open transaction commits (a replay, a test event)."""
    db.session.info.setdefault(_PENDING, []).append((tenant_id, delivery_id, attempt))


@event.listens_for(Session, "after_commit")
def _committed(session) -> None:
    session.info.pop(_LISTENERS, None)
    pending = session.info.pop(_PENDING, None)
    if pending:
        session.info.setdefault(_COMMITTED, []).extend(pending)


@event.listens_for(Session, "after_rollback")
def _rolled_back(session) -> None:
    session.info.pop(_LISTENERS, None)
    session.info.pop(_PENDING, None)


def dispatch_committed(session=None) -> int:
    """After a commit (the job runner, the end of a request): ask for the first attempt of each delivery the
    committed transactions wrote, FIRST_ATTEMPTS_PER_JOB to a job (a later attempt, a replay, has its own job).
    Returns how many deliveries were asked for."""
    committed = (session or db.session).info.pop(_COMMITTED, [])
    firsts: dict[int, list[int]] = {}
    for tenant_id, delivery_id, attempt in committed:
        if attempt == 1:
            firsts.setdefault(tenant_id, []).append(delivery_id)
        else:
            dispatch_attempt(tenant_id=tenant_id, delivery_id=delivery_id, attempt=attempt)
    for tenant_id, delivery_ids in firsts.items():
        dispatch_first_attempts(tenant_id=tenant_id, delivery_ids=delivery_ids)
    return len(committed)


def dispatch_first_attempts(*, tenant_id: int, delivery_ids: list[int]) -> None:
    """Ask for the first attempt of these deliveries, FIRST_ATTEMPTS_PER_JOB to a job (one alone: its own job, as a
    retry's). A job's id names its deliveries, so the same deliveries asked for twice are one job."""
    for start in range(0, len(delivery_ids), FIRST_ATTEMPTS_PER_JOB):
        chunk = list(delivery_ids[start:start + FIRST_ATTEMPTS_PER_JOB])
        if len(chunk) == 1:
            dispatch_attempt(tenant_id=tenant_id, delivery_id=chunk[0], attempt=1)
        else:
            dispatch(DELIVER_MANY_JOB, tenant_id=tenant_id, delivery_ids=chunk,
                     job_id=f"webhooks-{tenant_id}-deliveries-{chunk[0]}-{chunk[-1]}-{len(chunk)}-1")


def dispatch_attempt(*, tenant_id: int, delivery_id: int, attempt: int, at: datetime | None = None) -> None:
    """Ask for attempt number `attempt` of a delivery; the job id names the delivery and the attempt, and the job
    does nothing unless that attempt is the next one due (a re-run job, a job asked for twice)."""
    dispatch(DELIVER_JOB, tenant_id=tenant_id, job_id=f"webhooks-{tenant_id}-delivery-{delivery_id}-{attempt}",
             at=at, delivery_id=delivery_id, attempt=attempt)
