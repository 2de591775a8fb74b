"""`GET /events`: the events recorded for the utility's webhook subscriptions, to catch up on missed deliveries."""
from __future__ import annotations

import json

from api.pagination import page_model
from api.registry import operation
from api.schemas.events import EventOut, EventQuery
from api.schemas.sync import next_cursor, position_of
from domain.webhooks.services import event_page


@operation("GET", "/events", scope="events:read", query=EventQuery, response=page_model(EventOut), tags=["Events"],
           summary="Events sent to your webhooks",
           description="The events recorded for the utility's webhook subscriptions (an event is recorded when at "
                       "least one subscription listens to its type), oldest first, kept 90 days: to catch up after "
                       "your receiver was down. `updated_since` gives the events that occurred at or after a time.")
def list_events(*, query: EventQuery):
    page = event_page(after=position_of(query.cursor, "events"), updated_since=query.updated_since,
                      limit=query.limit, event_type=query.type)
    data = [EventOut(id=row.public_id, type=row.event_type, created=int(row.occurred_at.timestamp()),
                     data=json.loads(row.payload)) for row in page.items]
    return page_model(EventOut)(data=data, next_cursor=next_cursor(page, "events"))
