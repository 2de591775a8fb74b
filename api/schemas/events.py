"""Events as webhooks send them, and as `GET /events` lists them."""
from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from api.pagination import PageQuery

EventType = Literal["bill.issued", "payment.received", "reading.accepted", "reading.rejected", "request.updated",
                    "customer.updated"]


class EventOut(BaseModel):
    """The body of a webhook delivery, signed in the `Webhook-Signature` header: `t=<unix time>,v1=<hex HMAC-SHA256
    of "<t>.<body>" with the subscription's secret>` (as Stripe signs). Check the signature and that `t` is
    recent (a few minutes) before trusting it; the same event may come twice (retries): `id` tells."""

    model_config = ConfigDict(title="Event")

    id: str = Field(description="The event's identifier: the same on every retry and replay.")
    type: EventType
    created: int = Field(description="When it happened, in Unix seconds.")
    data: dict[str, Any] = Field(description="The object the event is about, in the shape its read endpoint gives.")


class EventQuery(PageQuery):
    type: EventType | None = Field(None, description="Only events of this type.")
