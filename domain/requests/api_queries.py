"""What the integration API shows of service requests: their status and the messages the customer sees (never
internal notes), in change order for syncing; a page is two set-based queries, whatever its size."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select

from domain.changes import ChangePage, Position, in_change_order, split_page
from domain.contracts.models import Contract, CustomerAccount
from domain.db import db
from domain.requests.models import RequestMessage, ServiceRequest
from domain.sites.models import DeliveryPoint


@dataclass(frozen=True)
class MessageRecord:
    author_kind: str  # customer, staff, system
    body: str
    sent_at: datetime


@dataclass(frozen=True)
class RequestRecord:
    reference: str
    account_number: str
    delivery_point_identifier: str | None
    contract_number: str | None
    kind: str
    category: str | None
    status: str
    subject: str
    description: str | None
    opened_at: datetime
    due_at: datetime | None
    closed_at: datetime | None
    effective_on: date | None
    updated_at: datetime
    messages: list[MessageRecord]


def _select():
    return (select(ServiceRequest.id, ServiceRequest.reference, CustomerAccount.account_number,
                   DeliveryPoint.identifier, Contract.contract_number, ServiceRequest.kind, ServiceRequest.category,
                   ServiceRequest.status, ServiceRequest.subject, ServiceRequest.description,
                   ServiceRequest.opened_at, ServiceRequest.due_at, ServiceRequest.closed_at,
                   ServiceRequest.effective_on, ServiceRequest.updated_at)
            .join(CustomerAccount, (CustomerAccount.tenant_id == ServiceRequest.tenant_id)
                  & (CustomerAccount.id == ServiceRequest.account_id))
            .outerjoin(DeliveryPoint, (DeliveryPoint.tenant_id == ServiceRequest.tenant_id)
                       & (DeliveryPoint.id == ServiceRequest.delivery_point_id))
            .outerjoin(Contract, (Contract.tenant_id == ServiceRequest.tenant_id)
                       & (Contract.id == ServiceRequest.contract_id)))


def _records(rows) -> list[RequestRecord]:
    if not rows:
        return []
    messages: dict[int, list[MessageRecord]] = {}
    for request_id, author_kind, body, sent_at in db.session.execute(
            select(RequestMessage.request_id, RequestMessage.author_kind, RequestMessage.body, RequestMessage.sent_at)
            .where(RequestMessage.request_id.in_([r.id for r in rows]), RequestMessage.internal.is_(False))
            .order_by(RequestMessage.request_id, RequestMessage.sent_at, RequestMessage.id)):
        messages.setdefault(request_id, []).append(MessageRecord(author_kind, body, sent_at))
    return [RequestRecord(r.reference, r.account_number, r.identifier, r.contract_number, r.kind, r.category,
                          r.status, r.subject, r.description, r.opened_at, r.due_at, r.closed_at, r.effective_on,
                          r.updated_at, messages.get(r.id, [])) for r in rows]


def request_page(*, after: Position | None, updated_since: datetime | None, limit: int,
                 account_number: str | None = None, status: str | None = None) -> ChangePage[RequestRecord]:
    stmt = _select()
    if account_number is not None:
        stmt = stmt.where(CustomerAccount.account_number == account_number)
    if status is not None:
        stmt = stmt.where(ServiceRequest.status == status)
    rows = db.session.execute(in_change_order(stmt, ServiceRequest.updated_at, ServiceRequest.id, after=after,
                                              updated_since=updated_since, limit=limit)).all()
    rows, following = split_page(rows, limit, lambda r: Position(r.updated_at, r.id))
    return ChangePage(_records(rows), following)


def request_record(*, reference: str) -> RequestRecord | None:
    records = _records(db.session.execute(_select().where(ServiceRequest.reference == reference)).all())
    return records[0] if records else None
