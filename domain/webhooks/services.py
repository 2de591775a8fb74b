"""A tenant's webhook subscriptions: create, change, pause, delete, roll the secret; replay a delivery; a test event.

The signing secret is generated here, returned once to the caller (the administrator's page shows it once) and
stored sealed (tenants/secrets.py, as the Stripe keys are).
"""
from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, select

from domain.changes import ChangePage, Position, in_change_order, split_page
from domain.db import db
from domain.webhooks import events as webhook_events
from domain.webhooks import transport
from domain.webhooks.models import (
    EVENT_TYPES,
    TEST_EVENT,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEvent,
    WebhookSubscription,
)
from domain.webhooks.signing import new_secret
from tenants.context import require_tenant_id
from tenants.secrets import seal

log = logging.getLogger("webhooks")
MAX_SUBSCRIPTIONS = 20


class SubscriptionRefused(ValueError):
    """The subscription cannot be saved: `field` (url, event_types) and `code` say why."""

    def __init__(self, field: str, code: str):
        super().__init__(f"{field}: {code}")
        self.field = field
        self.code = code


@dataclass(frozen=True)
class Saved:
    subscription: WebhookSubscription
    secret: str | None  # the clear secret, only when it was just made (creation, roll)


def _checked_url(url: str) -> str:
    url = (url or "").strip()
    if len(url) > 2000:
        raise SubscriptionRefused("url", "invalid")
    try:
        transport.check_url(url)
    except transport.UrlRefused as exc:
        raise SubscriptionRefused("url", exc.code) from exc
    return url


def _checked_types(event_types: Sequence[str]) -> list[str]:
    chosen = [name for name in EVENT_TYPES if name in set(event_types or ())]
    if not chosen:
        raise SubscriptionRefused("event_types", "empty")
    if set(event_types) - set(EVENT_TYPES):
        raise SubscriptionRefused("event_types", "unknown")
    return chosen


def create_subscription(*, url: str, event_types: Sequence[str], description: str | None, now: datetime) -> Saved:
    require_tenant_id()
    chosen = _checked_types(event_types)
    checked = _checked_url(url)
    if db.session.scalar(select(func.count(WebhookSubscription.id))) >= MAX_SUBSCRIPTIONS:
        raise SubscriptionRefused("url", "too_many")
    secret = new_secret()
    subscription = WebhookSubscription(url=checked, event_types=chosen, description=(description or "").strip() or None,
                                       secret_sealed=seal(secret), status="active", created_at=now, updated_at=now)
    db.session.add(subscription)
    db.session.flush()
    webhook_events.forget_listeners()
    log.info("webhook subscription created tenant=%s subscription=%s", subscription.tenant_id, subscription.public_id)
    return Saved(subscription, secret)


def find_subscription(public_id: str) -> WebhookSubscription | None:
    return db.session.scalar(select(WebhookSubscription).where(WebhookSubscription.public_id == public_id))


def update_subscription(*, subscription: WebhookSubscription, url: str, event_types: Sequence[str],
                        description: str | None, now: datetime) -> bool:
    chosen = _checked_types(event_types)
    checked = _checked_url(url)
    description = (description or "").strip() or None
    if (checked, chosen, description) == (subscription.url, list(subscription.event_types), subscription.description):
        return False
    subscription.url, subscription.event_types, subscription.description = checked, chosen, description
    subscription.updated_at = now
    webhook_events.forget_listeners()
    return True


def set_status(*, subscription: WebhookSubscription, status: str, now: datetime) -> bool:
    if status not in ("active", "paused"):
        raise ValueError(status)
    if subscription.status == status:
        return False
    subscription.status, subscription.updated_at = status, now
    webhook_events.forget_listeners()
    if status == "active":  # what waited while it was paused goes now, after the commit
        waiting = db.session.execute(select(WebhookDelivery.id, WebhookDelivery.attempts).where(
            WebhookDelivery.subscription_id == subscription.id, WebhookDelivery.status == "pending")
            .order_by(WebhookDelivery.id)).all()
        for delivery_id, attempts in waiting:
            webhook_events.remember_delivery(subscription.tenant_id, delivery_id, attempts + 1)
    return True


def roll_secret(*, subscription: WebhookSubscription, now: datetime) -> str:
    """A new signing secret replaces the old one at once; returned in clear this once."""
    secret = new_secret()
    subscription.secret_sealed, subscription.updated_at = seal(secret), now
    log.info("webhook secret rolled tenant=%s subscription=%s", subscription.tenant_id, subscription.public_id)
    return secret


def delete_subscription(*, subscription: WebhookSubscription) -> None:
    """The subscription, its deliveries and their attempts go; the events stay for the other subscriptions."""
    deliveries = select(WebhookDelivery.id).where(WebhookDelivery.subscription_id == subscription.id)
    db.session.execute(delete(WebhookAttempt).where(WebhookAttempt.delivery_id.in_(deliveries)))
    db.session.execute(delete(WebhookDelivery).where(WebhookDelivery.subscription_id == subscription.id))
    db.session.delete(subscription)
    db.session.flush()
    webhook_events.forget_listeners()


def replay(*, delivery: WebhookDelivery, now: datetime) -> bool:
    """Send a delivery again (delivered, failed or waiting): one more attempt, right after the commit. Returns
    False when it waits instead, its subscription paused (a test event goes to a paused subscription too)."""
    delivery.status, delivery.next_attempt_at = "pending", now
    webhook_events.remember_delivery(delivery.tenant_id, delivery.id, delivery.attempts + 1)
    subscription = db.session.get(WebhookSubscription, delivery.subscription_id)
    return subscription.receives_now(db.session.get(WebhookEvent, delivery.event_id).event_type)


def send_test_event(*, subscription: WebhookSubscription, now: datetime) -> WebhookDelivery:
    """A `webhook.test` event delivered to this subscription only (paused or not), after the commit."""
    event = WebhookEvent(event_type=TEST_EVENT, occurred_at=now,
                         payload=webhook_events.encode({"subscription": subscription.public_id}))
    db.session.add(event)
    db.session.flush()
    delivery = WebhookDelivery(subscription_id=subscription.id, event_id=event.id, status="pending", attempts=0,
                               next_attempt_at=now, created_at=now)
    db.session.add(delivery)
    db.session.flush()
    webhook_events.remember_delivery(delivery.tenant_id, delivery.id, 1)
    return delivery


def subscriptions() -> list[WebhookSubscription]:
    return list(db.session.scalars(select(WebhookSubscription).order_by(WebhookSubscription.created_at,
                                                                        WebhookSubscription.id)))


def delivery_counts() -> dict[tuple[int, str], int]:
    rows = db.session.execute(select(WebhookDelivery.subscription_id, WebhookDelivery.status, func.count())
                              .group_by(WebhookDelivery.subscription_id, WebhookDelivery.status)).all()
    return {(subscription_id, status): count for subscription_id, status, count in rows}


def deliveries(*, subscription: WebhookSubscription, before_id: int | None = None, limit: int = 50) -> list[tuple]:
    """(delivery, event) of a subscription, latest first, `limit` at most, older than `before_id` when given."""
    stmt = (select(WebhookDelivery, WebhookEvent).join(WebhookEvent, WebhookEvent.id == WebhookDelivery.event_id)
            .where(WebhookDelivery.subscription_id == subscription.id))
    if before_id is not None:
        stmt = stmt.where(WebhookDelivery.id < before_id)
    return list(db.session.execute(stmt.order_by(WebhookDelivery.id.desc()).limit(limit)).tuples())


def find_delivery(*, subscription: WebhookSubscription, public_id: str) -> WebhookDelivery | None:
    return db.session.scalar(select(WebhookDelivery).where(WebhookDelivery.subscription_id == subscription.id,
                                                           WebhookDelivery.public_id == public_id))


def attempts_of(delivery_ids: Sequence[int]) -> dict[int, list[WebhookAttempt]]:
    found: dict[int, list[WebhookAttempt]] = {}
    if delivery_ids:
        for attempt in db.session.scalars(select(WebhookAttempt).where(WebhookAttempt.delivery_id.in_(delivery_ids))
                                          .order_by(WebhookAttempt.delivery_id, WebhookAttempt.number)):
            found.setdefault(attempt.delivery_id, []).append(attempt)
    return found


def reseal_secrets(*, tenant_ids: Sequence[int]) -> int:
    """Key rotation (`flask tenants reseal-secrets`): every subscription's signing secret sealed again with the first
    key of SECRETS_KEY, tenant by tenant (row-level security stays on). Commits; returns how many."""
    from tenants.context import tenant_scope
    from tenants.secrets import reseal

    count = 0
    for tenant_id in tenant_ids:
        with tenant_scope(tenant_id):
            for subscription in db.session.scalars(select(WebhookSubscription)):
                subscription.secret_sealed = reseal(subscription.secret_sealed)
                count += 1
            db.session.commit()
    return count


def event_page(*, after: Position | None, updated_since: datetime | None, limit: int,
               event_type: str | None = None) -> ChangePage[WebhookEvent]:
    """The events recorded for the subscriptions (not the test events), oldest first, in the same paging as every
    list a syncing system walks (domain/changes.py); an event never changes, so `updated_since` is when it occurred."""
    statement = select(WebhookEvent).where(WebhookEvent.event_type.in_(EVENT_TYPES))
    if event_type is not None:
        statement = statement.where(WebhookEvent.event_type == event_type)
    rows = list(db.session.scalars(in_change_order(statement, WebhookEvent.occurred_at, WebhookEvent.id, after=after,
                                                   updated_since=updated_since, limit=limit)))
    rows, following = split_page(rows, limit, lambda e: Position(e.occurred_at, e.id))
    return ChangePage(rows, following)
