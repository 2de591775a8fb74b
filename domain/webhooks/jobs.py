"""The delivery jobs: one attempt at sending one event to one subscription, retried later with back-off; the first
attempts of many deliveries in one job (`deliver_many`), each recorded as it is made.

Restart-safe: the job does its attempt only if the delivery is still pending and that attempt is the next one, so a
job run twice (RQ's retry after a crash, a job asked for twice) sends nothing twice; on PostgreSQL the delivery's
row stays locked during the attempt, so two workers never send it at once.
"""
from __future__ import annotations

import json
import logging
import time
from datetime import datetime, timedelta

from sqlalchemy import select

from domain.db import db, utcnow
from domain.webhooks import transport
from domain.webhooks.events import dispatch_attempt, dispatch_first_attempts
from domain.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEvent, WebhookSubscription
from domain.webhooks.signing import EVENT_ID_HEADER, SIGNATURE_HEADER, signature_header
from tenants.context import require_tenant_id
from tenants.secrets import open_sealed

log = logging.getLogger("webhooks")
# After the 1st, 2nd... failed attempt, the next one waits this long; after the last, the delivery has failed.
BACK_OFF = (timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=30), timedelta(hours=2),
            timedelta(hours=6))
USER_AGENT = "UtilityPlatform-Webhooks/1"


def next_attempt_after(attempt: int) -> timedelta | None:
    """How long after failed attempt number `attempt` (1-based) the next one is made; None: no more attempts."""
    return BACK_OFF[attempt - 1] if 1 <= attempt <= len(BACK_OFF) else None


def body_of(event: WebhookEvent) -> bytes:
    """The JSON sent: {"id", "type", "created", "data"}; `data` is the stored object text, byte for byte."""
    head = json.dumps({"id": event.public_id, "type": event.event_type,
                       "created": int(event.occurred_at.timestamp())}, separators=(",", ":"))
    return (head[:-1] + ',"data":' + event.payload + "}").encode("utf-8")


def deliver(*, delivery_id: int, attempt: int, now_iso: str | None = None) -> dict:
    """Make attempt number `attempt` of this delivery, record it, and ask for the next one when it failed."""
    tenant_id = require_tenant_id()
    stmt = select(WebhookDelivery).where(WebhookDelivery.id == delivery_id)
    if db.session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    delivery = db.session.scalar(stmt)
    if delivery is None:
        return {"skipped": "missing or being sent"}
    if delivery.status != "pending" or delivery.attempts + 1 != attempt:
        return {"skipped": f"already {delivery.status}, {delivery.attempts} attempts"}
    subscription = db.session.get(WebhookSubscription, delivery.subscription_id)
    event = db.session.get(WebhookEvent, delivery.event_id)
    if not subscription.receives_now(event.event_type):  # asked for again on resuming (services.set_status)
        return {"skipped": "subscription paused"}
    now = datetime.fromisoformat(now_iso) if now_iso else utcnow()
    body = body_of(event)
    headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT, EVENT_ID_HEADER: event.public_id,
               SIGNATURE_HEADER: signature_header(secret=open_sealed(subscription.secret_sealed),
                                                  timestamp=int(now.timestamp()), body=body)}
    answer = transport.post(subscription.url, body=body, headers=headers)
    return record_attempt(delivery=delivery, attempt=attempt, answer=answer, now=now, tenant_id=tenant_id)


# A job of first attempts stops taking the next one after this long and asks for another job for the rest: a slow
# receiver (TIMEOUT_SECONDS an attempt) holds a worker for at most about this, never for the whole list.
MANY_BUDGET_SECONDS = 40.0


def deliver_many(*, delivery_ids: list[int], now_iso: str | None = None) -> dict:
    """The first attempt of each of these deliveries, in their order, each committed once made (a worker dying
    half-way loses none made; RQ's retry of the job skips them, as `deliver` skips any attempt already made)."""
    tenant_id = require_tenant_id()
    began = time.monotonic()
    counts = {"delivered": 0, "not_delivered": 0, "skipped": 0, "errors": 0}
    for index, delivery_id in enumerate(delivery_ids):
        if index and time.monotonic() - began > MANY_BUDGET_SECONDS:
            rest = delivery_ids[index:]
            db.session.commit()
            dispatch_first_attempts(tenant_id=tenant_id, delivery_ids=rest)
            return {**counts, "left_for_another_job": len(rest)}
        try:
            result = deliver(delivery_id=delivery_id, attempt=1, now_iso=now_iso)
            db.session.commit()
        except Exception:  # one delivery's fault must not hold the others: it stays pending (the daily job's)
            db.session.rollback()
            log.exception("webhook delivery could not be attempted tenant=%s delivery=%s", tenant_id, delivery_id)
            counts["errors"] += 1
            continue
        if "skipped" in result:
            counts["skipped"] += 1
        else:
            counts["delivered" if result["delivered"] else "not_delivered"] += 1
    return counts


def record_attempt(*, delivery: WebhookDelivery, attempt: int, answer: transport.Answer, now: datetime,
                   tenant_id: int) -> dict:
    db.session.add(WebhookAttempt(delivery_id=delivery.id, number=attempt, attempted_at=now,
                                  status_code=answer.status_code, response_excerpt=answer.excerpt,
                                  error=answer.error, duration_ms=answer.duration_ms))
    delivery.attempts = attempt
    if answer.delivered:
        delivery.status, delivery.delivered_at, delivery.next_attempt_at = "delivered", now, None
        log.info("webhook delivered tenant=%s delivery=%s attempt=%s status=%s", tenant_id, delivery.id, attempt,
                 answer.status_code)
        return {"delivered": True, "status_code": answer.status_code}
    wait = next_attempt_after(attempt)
    if wait is None:
        delivery.status, delivery.next_attempt_at = "failed", None
        log.warning("webhook failed tenant=%s delivery=%s attempts=%s", tenant_id, delivery.id, attempt)
        return {"delivered": False, "failed": True}
    delivery.next_attempt_at = now + wait
    db.session.flush()
    # Asked for now, queued by RQ's scheduler for later: a job dispatched inside a job starts after this one commits.
    dispatch_attempt(tenant_id=tenant_id, delivery_id=delivery.id, attempt=attempt + 1, at=delivery.next_attempt_at)
    log.info("webhook attempt failed tenant=%s delivery=%s attempt=%s status=%s retry_at=%s", tenant_id,
             delivery.id, attempt, answer.status_code, delivery.next_attempt_at.isoformat())
    return {"delivered": False, "retry_at": delivery.next_attempt_at.isoformat()}


KEEP_FOR = timedelta(days=90)  # deliveries done (delivered or failed), their attempts and events, then purged
LOST_AFTER = timedelta(hours=1)  # a pending delivery this late has lost its job (Redis emptied, no workers)
SWEEP_BATCH = 50_000  # late deliveries asked for again per daily run (a whole billing run's, lost with Redis)


def daily(*, now_iso: str) -> dict:
    """The tenant's daily webhook care: ask again for the deliveries whose job was lost (their next attempt is an
    hour late; never attempted ones a hundred to a job, as after a commit), and purge what was done more than
    KEEP_FOR ago. Safe to run twice."""
    now = datetime.fromisoformat(now_iso)
    late = list(db.session.execute(
        select(WebhookDelivery.id, WebhookDelivery.attempts)
        .where(WebhookDelivery.status == "pending", WebhookDelivery.next_attempt_at < now - LOST_AFTER)
        .order_by(WebhookDelivery.id).limit(SWEEP_BATCH)).tuples())
    tenant_id = require_tenant_id()
    dispatch_first_attempts(tenant_id=tenant_id,
                            delivery_ids=[delivery_id for delivery_id, attempts in late if attempts == 0])
    for delivery_id, attempts in late:
        if attempts:
            dispatch_attempt(tenant_id=tenant_id, delivery_id=delivery_id, attempt=attempts + 1)
    return {"asked_again": len(late), "purged_events": purge(before=now - KEEP_FOR)}


RETRIES_PER_SWEEP = 1000


def sweep(*, now_iso: str) -> dict:
    """Ask for the retries whose time has come. Without workers (the embedded default) nothing in-process can wait
    for a retry's moment, so `flask jobs sweep` (cron, every minute) asks for them; with workers RQ's scheduler
    already has, and a retry asked for twice is made once (`deliver` makes only the next attempt)."""
    now = datetime.fromisoformat(now_iso)
    due = list(db.session.execute(
        select(WebhookDelivery.id, WebhookDelivery.attempts)
        .where(WebhookDelivery.status == "pending", WebhookDelivery.attempts > 0,
               WebhookDelivery.next_attempt_at <= now)
        .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id).limit(RETRIES_PER_SWEEP)).tuples())
    tenant_id = require_tenant_id()
    for delivery_id, attempts in due:
        dispatch_attempt(tenant_id=tenant_id, delivery_id=delivery_id, attempt=attempts + 1)
    return {"retries_asked": len(due)}


def purge(*, before: datetime) -> int:
    """Delete the events recorded before `before` that no delivery still waits for, with their deliveries and
    attempts (set-based); returns how many events went."""
    from sqlalchemy import delete, exists

    old = select(WebhookEvent.id).where(WebhookEvent.occurred_at < before, ~exists().where(
        WebhookDelivery.event_id == WebhookEvent.id, WebhookDelivery.status == "pending"))
    event_ids = list(db.session.scalars(old.limit(10_000)))
    if not event_ids:
        return 0
    deliveries = select(WebhookDelivery.id).where(WebhookDelivery.event_id.in_(event_ids))
    db.session.execute(delete(WebhookAttempt).where(WebhookAttempt.delivery_id.in_(deliveries)))
    db.session.execute(delete(WebhookDelivery).where(WebhookDelivery.event_id.in_(event_ids)))
    db.session.execute(delete(WebhookEvent).where(WebhookEvent.id.in_(event_ids)))
    return len(event_ids)
