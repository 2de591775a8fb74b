"""Service requests and complaints with the messages the customer sees, as the integration API gives them."""
from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import AwareDatetime, BaseModel, Field

from api.pagination import PageQuery
from domain.requests.api_queries import RequestRecord

RequestStatus = Literal["open", "in_progress", "waiting_customer", "resolved", "closed"]


class RequestListQuery(PageQuery):
    account_number: str | None = Field(None, min_length=1, max_length=20,
                                       description="Only the requests of this customer account.")
    status: RequestStatus | None = Field(None, description="Only the requests in this status.")


class MessageOut(BaseModel):
    author_kind: Literal["customer", "staff", "system"]
    body: str
    sent_at: AwareDatetime


class RequestOut(BaseModel):
    reference: str = Field(description="The request's public reference.")
    account_number: str
    delivery_point: str | None
    contract_number: str | None
    kind: Literal["complaint", "move_in", "move_out", "offer_change", "meter_problem", "intervention", "other"]
    category: str | None
    status: RequestStatus
    subject: str
    description: str | None
    opened_at: AwareDatetime
    due_at: AwareDatetime | None = Field(description="When an answer is due under the service level.")
    closed_at: AwareDatetime | None
    effective_on: date | None = Field(description="Moves in and out: the day it takes effect.")
    updated_at: AwareDatetime = Field(description="Moves when the request or a message the customer sees changes.")
    messages: list[MessageOut] = Field(description="The conversation as the customer sees it, oldest first "
                                                   "(staff's internal notes are never given).")

    @classmethod
    def of(cls, r: RequestRecord) -> RequestOut:
        return cls(reference=r.reference, account_number=r.account_number, delivery_point=r.delivery_point_identifier,
                   contract_number=r.contract_number, kind=r.kind, category=r.category, status=r.status,
                   subject=r.subject, description=r.description, opened_at=r.opened_at, due_at=r.due_at,
                   closed_at=r.closed_at, effective_on=r.effective_on, updated_at=r.updated_at,
                   messages=[MessageOut(author_kind=m.author_kind, body=m.body, sent_at=m.sent_at)
                             for m in r.messages])
