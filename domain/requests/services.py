"""Complaints and service requests: open one, exchange messages, change status, and what customers may see.

Expected answer date: the tenant promises an answer within `request_answer_days` working days (Monday to
Friday; public holidays are not known to the platform, so they count as working days), counted from the day
the request is opened in the tenant's time zone. `due_at` is the end of that day there.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import and_, exists, func, or_, select
from sqlalchemy.orm import selectinload

from domain import deadlines
from domain.contracts.models import Contract, CustomerAccount
from domain.db import db
from domain.identity.models import CustomerAccess, CustomerUser, StaffUser
from domain.requests import attachments as files
from domain.requests import moves
from domain.requests import numbering
from domain.requests.models import REQUEST_STATUSES, RequestAttachment, RequestMessage, ServiceRequest
from domain.readings.models import MeterReading
from domain.sites.models import DeliveryPoint, Register
from domain.tasks.models import Task, WorkGroup
from domain.tasks import levels
from domain.tasks import services as task_services
from domain.tasks.services import create_task
from domain.requests import categories

log = logging.getLogger("requests")

PORTAL_KINDS = ("complaint", "move_in", "move_out", "offer_change", "meter_problem", "other")
OPEN_STATUSES = ("open", "in_progress", "waiting_customer")
DONE_STATUSES = ("resolved", "closed")
REQUEST_WORK_GROUP = "front_office"
_EPOCH = datetime(1970, 1, 1, tzinfo=ZoneInfo("UTC"))


class RequestRefused(ValueError):
    """A request or a message that cannot be recorded; `code` says why."""

    def __init__(self, code: str):
        super().__init__(code)
        self.code = code


# Pure calculations


add_working_days = deadlines.add_working_days


def answer_due_at(*, opened_at: datetime, answer_days: int, zone: ZoneInfo) -> datetime:
    """The end of the expected answer day, in UTC."""
    return deadlines.due_at(start=opened_at, amount=answer_days, unit="working_days", zone=zone)


def request_due_at(*, kind: str, category: str | None, opened_at: datetime, answer_days: int,
                   zone: ZoneInfo) -> datetime:
    """When the answer is due: by the category's service level (the tenant's own, else the product's), else within
    the tenant's general answer time in working days."""
    if category and categories.is_category(kind, category):
        level = levels.request_level(categories.code(kind, category), default_days=answer_days)
        return levels.due_at(level, start=opened_at, zone=zone)
    return answer_due_at(opened_at=opened_at, answer_days=answer_days, zone=zone)


def is_overdue(request: ServiceRequest, *, now: datetime) -> bool:
    return request.status in OPEN_STATUSES and request.due_at is not None and request.due_at < now


# Reading


def _customer_account_ids(customer_user_id: int):
    return select(CustomerAccess.account_id).where(CustomerAccess.customer_user_id == customer_user_id)


def requests_of_customer(*, customer_user_id: int, limit: int | None = None,
                         offset: int = 0) -> list[ServiceRequest]:
    """The requests on the accounts this customer may see, newest first (a page of them with `limit`)."""
    return list(db.session.scalars(
        select(ServiceRequest)
        .where(ServiceRequest.account_id.in_(_customer_account_ids(customer_user_id)))
        .order_by(ServiceRequest.opened_at.desc(), ServiceRequest.id.desc())
        .limit(limit).offset(offset)
    ))


def count_requests_of_customer(*, customer_user_id: int) -> int:
    """How many requests `requests_of_customer` can list (for paging)."""
    return db.session.scalar(select(func.count(ServiceRequest.id)).where(
        ServiceRequest.account_id.in_(_customer_account_ids(customer_user_id)))) or 0


def _request_options():
    return (selectinload(ServiceRequest.messages),)


def account_of(request: ServiceRequest) -> CustomerAccount:
    return db.session.scalar(select(CustomerAccount).where(CustomerAccount.id == request.account_id)
                             .options(selectinload(CustomerAccount.holder)))


def point_of(request: ServiceRequest) -> DeliveryPoint | None:
    if request.delivery_point_id is None:
        return None
    return db.session.scalar(select(DeliveryPoint).where(DeliveryPoint.id == request.delivery_point_id)
                             .options(selectinload(DeliveryPoint.premise)))


def accounts_by_id(requests: list[ServiceRequest]) -> dict[int, CustomerAccount]:
    """The accounts of these requests (one query), for lists."""
    ids = {r.account_id for r in requests}
    if not ids:
        return {}
    rows = db.session.scalars(select(CustomerAccount).where(CustomerAccount.id.in_(ids))
                              .options(selectinload(CustomerAccount.holder)))
    return {a.id: a for a in rows}


def request_of_customer(*, customer_user_id: int, reference: str) -> ServiceRequest | None:
    """One request by reference, only if it is on an account this customer may see."""
    return db.session.scalar(
        select(ServiceRequest)
        .where(ServiceRequest.reference == reference,
               ServiceRequest.account_id.in_(_customer_account_ids(customer_user_id)))
        .options(*_request_options())
    )


def request_by_reference(*, reference: str) -> ServiceRequest | None:
    return db.session.scalar(
        select(ServiceRequest).where(ServiceRequest.reference == reference).options(*_request_options()))


def final_readings_of(request: ServiceRequest) -> list[MeterReading]:
    """The final readings a move out recorded (one per register of the meter), for staff."""
    if request.final_reading_id is None:
        return []
    first = db.session.scalar(select(MeterReading).where(MeterReading.id == request.final_reading_id))
    meter_registers = select(Register.id).where(Register.meter_id == first.register.meter_id)
    return list(db.session.scalars(
        select(MeterReading)
        .where(MeterReading.register_id.in_(meter_registers), MeterReading.read_on == first.read_on,
               MeterReading.received_at == first.received_at, MeterReading.source == first.source)
        .options(selectinload(MeterReading.register).selectinload(Register.meter))
        .order_by(MeterReading.register_id)
    ))


def visible_messages(request: ServiceRequest) -> list[RequestMessage]:
    """What the customer sees of the conversation: never staff's internal notes."""
    return [m for m in request.messages if not m.internal]


def attachments_of(request: ServiceRequest, *, for_customer: bool) -> list[RequestAttachment]:
    """The request's files; a customer does not see files attached to internal notes."""
    stmt = select(RequestAttachment).where(RequestAttachment.request_id == request.id)
    if for_customer:
        internal = select(RequestMessage.id).where(RequestMessage.request_id == request.id,
                                                   RequestMessage.internal.is_(True))
        stmt = stmt.where(or_(RequestAttachment.message_id.is_(None), RequestAttachment.message_id.not_in(internal)))
    return list(db.session.scalars(stmt.order_by(RequestAttachment.uploaded_at, RequestAttachment.id)))


def attachment_of(request: ServiceRequest, *, public_id: str, for_customer: bool) -> RequestAttachment | None:
    for attachment in attachments_of(request, for_customer=for_customer):
        if attachment.public_id == public_id:
            return attachment
    return None


def _staff_reply_after_seen():
    return exists().where(
        RequestMessage.request_id == ServiceRequest.id, RequestMessage.author_kind == "staff",
        RequestMessage.internal.is_(False),
        RequestMessage.sent_at > func.coalesce(ServiceRequest.customer_seen_at, _EPOCH),
    )


def unread_replies(customer_user_id: int) -> list[ServiceRequest]:
    """The customer's requests with a staff reply newer than the customer's last look, newest first."""
    return list(db.session.scalars(
        select(ServiceRequest)
        .where(ServiceRequest.account_id.in_(_customer_account_ids(customer_user_id)), _staff_reply_after_seen())
        .order_by(ServiceRequest.opened_at.desc(), ServiceRequest.id.desc())
    ))


def unread_references(*, customer_user_id: int) -> set[str]:
    return {r.reference for r in unread_replies(customer_user_id)}


@dataclass
class StaffFilters:
    status: str | None = None
    kind: str | None = None
    category: str | None = None
    overdue: bool = False
    limit: int | None = 200


def staff_requests(*, filters: StaffFilters, now: datetime) -> list[ServiceRequest]:
    """The back office's list: open ones first by due date, with the filters applied."""
    stmt = select(ServiceRequest)
    if filters.status in REQUEST_STATUSES:
        stmt = stmt.where(ServiceRequest.status == filters.status)
    if filters.kind:
        stmt = stmt.where(ServiceRequest.kind == filters.kind)
    if filters.category:
        stmt = stmt.where(ServiceRequest.category == filters.category)
    if filters.overdue:
        stmt = stmt.where(ServiceRequest.status.in_(OPEN_STATUSES), ServiceRequest.due_at < now)
    done_last = ServiceRequest.status.in_(DONE_STATUSES)
    stmt = stmt.order_by(done_last, ServiceRequest.due_at, ServiceRequest.id.desc()).limit(filters.limit)
    return list(db.session.scalars(stmt))


# Writing


@dataclass
class NewRequest:
    """What the customer asked for, already parsed by the form."""

    kind: str
    account_number: str
    subject: str
    description: str
    point_identifier: str | None = None
    category: str | None = None
    effective_on: date | None = None
    final_readings: dict[str, Decimal | None] = field(default_factory=dict)
    uploads: list[files.Upload] = field(default_factory=list)


def _insert_with_reference(request: ServiceRequest, *, year: int) -> None:
    """Give the request the tenant's next reference (gapless: the counter rolls back with the request)."""
    request.reference = numbering.reserve_reference(tenant_id=request.tenant_id, year=year)
    db.session.add(request)
    db.session.flush()


def _work_group() -> WorkGroup:
    group = db.session.scalar(select(WorkGroup).where(WorkGroup.code == REQUEST_WORK_GROUP))
    if group is None:
        group = WorkGroup(code=REQUEST_WORK_GROUP, name="Front office")
        db.session.add(group)
        db.session.flush()
    return group


def _customer_contract(*, account: CustomerAccount, point_identifier: str | None) -> Contract | None:
    if not point_identifier:
        return None
    matches = [c for c in account.contracts if c.delivery_point.identifier == point_identifier]
    live = [c for c in matches if c.end_date is None]
    return (live or matches or [None])[-1]


def open_request(*, customer: CustomerUser, new: NewRequest, now: datetime, today: date, answer_days: int,
                 zone: ZoneInfo, tenant_id: int) -> ServiceRequest:
    """Open a request for the customer, with its first message, attachments, task, and for a move out
    the final readings and the contract's end. Everything is checked first: a refusal stores nothing."""
    from domain.contracts import services as accounts

    _check_kind(new, PORTAL_KINDS)
    account = accounts.account_of_customer(customer_user_id=customer.id, account_number=new.account_number)
    if account is None:
        raise RequestRefused("account")
    return _open(account=account, new=new, now=now, today=today, answer_days=answer_days, zone=zone,
                 tenant_id=tenant_id, customer_user_id=customer.id)


# What another system of the utility may open through the API (a move out needs the final readings: portal, staff).
API_KINDS = ("complaint", "move_in", "offer_change", "meter_problem", "other")


def open_request_for_account(*, new: NewRequest, now: datetime, today: date, answer_days: int, zone: ZoneInfo,
                             tenant_id: int) -> ServiceRequest:
    """Open a request on an account of the utility (the integration API, for a customer who called its CRM): the
    portal's checks, the same first message (from the customer), task and service level."""
    # The account first: a caller naming no account of this utility learns only that (404), whatever else it sent.
    account = db.session.scalar(select(CustomerAccount).where(CustomerAccount.account_number == new.account_number))
    if account is None:
        raise RequestRefused("account")
    _check_kind(new, API_KINDS)
    if not (new.subject or "").strip() or len(new.subject) > 200:
        raise RequestRefused("subject")
    return _open(account=account, new=new, now=now, today=today, answer_days=answer_days, zone=zone,
                 tenant_id=tenant_id, customer_user_id=None)


def _check_kind(new: NewRequest, kinds: tuple[str, ...]) -> None:
    if new.kind not in kinds:
        raise RequestRefused("kind")
    if new.category and not categories.is_category(new.kind, new.category):
        raise RequestRefused("category")


def _open(*, account: CustomerAccount, new: NewRequest, now: datetime, today: date, answer_days: int, zone: ZoneInfo,
          tenant_id: int, customer_user_id: int | None) -> ServiceRequest:
    contract = _customer_contract(account=account, point_identifier=new.point_identifier)
    if new.point_identifier and contract is None:
        raise RequestRefused("point")
    if new.kind == "move_out" and contract is None:
        raise RequestRefused("point")
    if new.kind == "move_in" and new.effective_on is None:
        raise RequestRefused("date_missing")
    checked = files.check_uploads(new.uploads)

    final_reading = None
    if new.kind == "move_out":
        final_reading = moves.move_out(contract=contract, move_out_on=new.effective_on, readings=new.final_readings,
                                       today=today, now=now, customer_user_id=customer_user_id)
    request = ServiceRequest(
        tenant_id=tenant_id, account_id=account.id, kind=new.kind, status="open", subject=new.subject[:200],
        description=new.description or None, opened_at=now,
        category=new.category or None,
        due_at=request_due_at(kind=new.kind, category=new.category, opened_at=now, answer_days=answer_days, zone=zone),
        delivery_point_id=contract.delivery_point_id if contract else None,
        contract_id=contract.id if contract else None, effective_on=new.effective_on,
        final_reading_id=final_reading.id if final_reading else None,
        opened_by_user_id=customer_user_id, customer_seen_at=now,
    )
    _insert_with_reference(request, year=now.astimezone(zone).year)
    first = RequestMessage(request_id=request.id, author_kind="customer", author_id=customer_user_id,
                           body=new.description or new.subject, internal=False, sent_at=now)
    db.session.add(first)
    db.session.flush()
    files.store(request=request, message=first, uploads=checked, uploaded_by_kind="customer", now=now)
    create_task(group_id=_work_group().id, kind="service_request", title=f"{request.reference}: {request.subject}",
                details=request.description, subject_type="service_request", subject_id=request.id, now=now,
                due_at=request.due_at)
    db.session.flush()
    log.info("request opened tenant=%s reference=%s kind=%s account=%s", tenant_id, request.reference,
             request.kind, account.account_number)
    return request


def mark_seen(request: ServiceRequest, *, now: datetime) -> None:
    request.customer_seen_at = now
    db.session.flush()


def customer_reply(*, request: ServiceRequest, customer: CustomerUser, body: str, uploads: list[files.Upload],
                   now: datetime) -> RequestMessage:
    """The customer answers; a request waiting for the customer, or resolved, goes back to staff."""
    if request.status == "closed":
        raise RequestRefused("closed")
    body = (body or "").strip()
    if not body:
        raise RequestRefused("empty")
    checked = files.check_uploads(uploads)
    message = RequestMessage(request_id=request.id, author_kind="customer", author_id=customer.id, body=body,
                             internal=False, sent_at=now)
    db.session.add(message)
    db.session.flush()
    files.store(request=request, message=message, uploads=checked, uploaded_by_kind="customer", now=now)
    if request.status in ("waiting_customer", "resolved"):
        change_status(request=request, status="in_progress", now=now)
    request.customer_seen_at = now
    db.session.flush()
    return message


def staff_message(*, request: ServiceRequest, staff_id: int, body: str, internal: bool,
                  uploads: list[files.Upload], now: datetime, new_status: str | None = None) -> RequestMessage:
    """A staff reply to the customer, or an internal note the customer never sees.

    The status becomes `new_status`; None keeps it exactly as it is (staff chose "keep the status")."""
    body = (body or "").strip()
    if not body:
        raise RequestRefused("empty")
    if new_status is not None and new_status not in REQUEST_STATUSES:
        raise RequestRefused("status")
    checked = files.check_uploads(uploads)
    message = RequestMessage(request_id=request.id, author_kind="staff", author_id=staff_id, body=body,
                             internal=internal, sent_at=now)
    db.session.add(message)
    db.session.flush()
    files.store(request=request, message=message, uploads=checked, uploaded_by_kind="staff", now=now)
    if new_status is not None and new_status != request.status:
        change_status(request=request, status=new_status, now=now)
    elif not internal:
        publish_updated(request, now=now)  # a reply the customer reads; a status change published its own
    db.session.flush()
    return message


def change_status(*, request: ServiceRequest, status: str, now: datetime) -> None:
    """Set the status; resolving or closing also closes the request's open task."""
    if status not in REQUEST_STATUSES:
        raise RequestRefused("status")
    request.status = status
    done = status in DONE_STATUSES
    request.closed_at = (request.closed_at or now) if done else None
    tasks = db.session.scalars(select(Task).where(
        Task.subject_type == "service_request", Task.subject_id == request.id, Task.kind == "service_request"))
    for task in tasks:
        task_services.follow_subject(task=task, done=done, now=now)
    db.session.flush()
    publish_updated(request, now=now)


def request_object(request: ServiceRequest) -> dict:
    """A request as the API shows it (webhook `request.updated`)."""
    account = db.session.get(CustomerAccount, request.account_id)
    return {"reference": request.reference, "account_number": account.account_number if account else None,
            "kind": request.kind, "category": request.category, "status": request.status, "subject": request.subject,
            "opened_at": request.opened_at, "due_at": request.due_at, "closed_at": request.closed_at,
            "effective_on": request.effective_on}


def publish_updated(request: ServiceRequest, *, now: datetime) -> None:
    """`request.updated` for webhook subscribers (its status changed, staff replied), when one listens."""
    from domain.webhooks.events import listening, publish

    if listening("request.updated"):
        publish("request.updated", [request_object(request)], occurred_at=now)


def reply_recipients(request: ServiceRequest) -> list[CustomerUser]:
    """Who is e-mailed about a staff reply: the customer who opened it, else everyone who sees the account."""
    if request.opened_by_user_id is not None:
        opener = db.session.scalar(select(CustomerUser).where(
            CustomerUser.id == request.opened_by_user_id,
            CustomerUser.id.in_(select(CustomerAccess.customer_user_id).where(
                CustomerAccess.account_id == request.account_id))))
        if opener is not None:
            return [opener]
    return list(db.session.scalars(
        select(CustomerUser).join(CustomerAccess, and_(CustomerAccess.customer_user_id == CustomerUser.id))
        .where(CustomerAccess.account_id == request.account_id).order_by(CustomerUser.id)))


def staff_authors_of(request: ServiceRequest) -> dict[int, str]:
    """The names of the staff members who wrote a request's messages and notes, by id (for the back office, where
    colleagues want to know who answered)."""
    ids = {m.author_id for m in request.messages if m.author_kind == "staff" and m.author_id}
    if not ids:
        return {}
    return dict(db.session.execute(select(StaffUser.id, StaffUser.full_name).where(StaffUser.id.in_(ids))).all())


def set_category(*, request: ServiceRequest, category: str | None, answer_days: int, zone: ZoneInfo,
                 now: datetime) -> bool:
    """File the request under a category of its kind (None: none); its answer date and its task's due date follow
    the category's service level, counted from when it was opened. Returns whether anything changed."""
    category = category or None
    if category is not None and not categories.is_category(request.kind, category):
        raise RequestRefused("category")
    if category == request.category:
        return False
    request.category = category
    request.due_at = request_due_at(kind=request.kind, category=category, opened_at=request.opened_at,
                                    answer_days=answer_days, zone=zone)
    for task in db.session.scalars(select(Task).where(
            Task.subject_type == "service_request", Task.subject_id == request.id, Task.kind == "service_request")):
        task.due_at = request.due_at
    db.session.flush()
    log.info("request category tenant=%s reference=%s category=%s", request.tenant_id, request.reference, category)
    return True


# Escalation: a task for supervisors (their work group, created when first needed) or for one person who may assign
# tasks, with the reason; the request shows it and an internal note records it.

ESCALATION_GROUP = ("supervisors", "Supervisors")
ESCALATION_KIND = "request_escalation"


def _escalation_group() -> WorkGroup:
    code, name = ESCALATION_GROUP
    group = db.session.scalar(select(WorkGroup).where(WorkGroup.code == code))
    if group is None:
        group = WorkGroup(code=code, name=name)
        db.session.add(group)
        db.session.flush()
    return group


def staff_with_roles(roles) -> list[StaffUser]:
    """Active staff members holding one of `roles`, by name (whom a request can be escalated to)."""
    from domain.identity.models import StaffRoleGrant

    return list(db.session.scalars(
        select(StaffUser).where(StaffUser.is_active.is_(True), StaffUser.id.in_(
            select(StaffRoleGrant.staff_user_id).where(StaffRoleGrant.role.in_(tuple(roles)))))
        .order_by(StaffUser.full_name, StaffUser.id)))


def escalate(*, request: ServiceRequest, staff_id: int, reason: str, to_staff_id: int | None,
             allowed_staff_ids: set[int], now: datetime) -> Task:
    """Hand the request up: a task in the supervisors' queue (for one of them when `to_staff_id` is given, who must
    be among `allowed_staff_ids`), with the reason, and an internal note on the request."""
    reason = (reason or "").strip()
    if not reason:
        raise RequestRefused("reason")
    if len(reason) > 2000:
        raise RequestRefused("reason_long")
    if request.status in DONE_STATUSES:
        raise RequestRefused("done")
    if to_staff_id is not None and to_staff_id not in allowed_staff_ids:
        raise RequestRefused("supervisor")
    task = create_task(group_id=_escalation_group().id, kind=ESCALATION_KIND,
                       title=f"Escalated request {request.reference}: {request.subject}",
                       params={"reference": request.reference, "subject": request.subject[:150]},
                       details=reason, subject_type="service_request", subject_id=request.id, now=now,
                       assignee_id=to_staff_id)
    db.session.add(RequestMessage(request_id=request.id, author_kind="staff", author_id=staff_id, internal=True,
                                  body=reason, sent_at=now))
    db.session.flush()
    log.info("request escalated tenant=%s reference=%s staff=%s to=%s", request.tenant_id, request.reference,
             staff_id, to_staff_id)
    return task


def escalations_of(request: ServiceRequest) -> list[Task]:
    return list(db.session.scalars(select(Task).where(
        Task.subject_type == "service_request", Task.subject_id == request.id, Task.kind == ESCALATION_KIND)
        .order_by(Task.created_at, Task.id)))


def task_of(request: ServiceRequest) -> Task | None:
    """The request's own task in the front office's queue (the latest, if a process made more)."""
    return db.session.scalar(select(Task).where(
        Task.subject_type == "service_request", Task.subject_id == request.id, Task.kind == "service_request")
        .order_by(Task.id.desc()).limit(1))
