"""`GET /events`: the events recorded for the utility's webhook subscriptions, to catch up on missed deliveries."""
from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import and_, or_, select

from api.pagination import decode_cursor, encode_cursor, page_model
from api.registry import operation
from api.schemas.events import EventOut, EventQuery
from domain.db import db
from domain.webhooks.models import EVENT_TYPES, WebhookEvent


@operation("GET", "/events", scope="events:read", query=EventQuery, response=page_model(EventOut), tags=["Events"],
           summary="Events sent to your webhooks",
           description="The events recorded for the utility's webhook subscriptions (an event is recorded when at "
                       "least one subscription listens to its type), oldest first, kept 90 days: to catch up after "
                       "your receiver was down. `updated_since` gives the events that occurred at or after a time.")
def list_events(*, query: EventQuery):
    statement = select(WebhookEvent).where(WebhookEvent.event_type.in_(EVENT_TYPES))
    if query.type is not None:
        statement = statement.where(WebhookEvent.event_type == query.type)
    if query.updated_since is not None:
        statement = statement.where(WebhookEvent.occurred_at >= query.updated_since)
    if query.cursor:
        after_at, after_id = decode_cursor(query.cursor, types=(datetime, str))
        statement = statement.where(or_(WebhookEvent.occurred_at > after_at, and_(
            WebhookEvent.occurred_at == after_at, WebhookEvent.public_id > after_id)))
    rows = list(db.session.scalars(statement.order_by(WebhookEvent.occurred_at, WebhookEvent.public_id)
                                   .limit(query.limit + 1)))
    more = len(rows) > query.limit
    rows = rows[:query.limit]
    data = [EventOut(id=row.public_id, type=row.event_type, created=int(row.occurred_at.timestamp()),
                     data=json.loads(row.payload)) for row in rows]
    cursor = encode_cursor(rows[-1].occurred_at, rows[-1].public_id) if more else None
    return page_model(EventOut)(data=data, next_cursor=cursor)
