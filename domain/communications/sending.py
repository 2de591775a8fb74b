"""The sending jobs of the `mail` queue: a batch of a tenant's queued messages on one transport session, with
retries and exponential back-off on temporary failures, and the sweep that takes up what was left behind.

A batch is claimed (status `sending`, `FOR UPDATE SKIP LOCKED` on PostgreSQL: two workers never take the same
message) and committed before anything is sent; each outcome is committed as soon as it is known, so a worker
killed mid-batch leaves at most the message in flight to be sent again (the sweep puts messages left `sending`
back in the queue after STALE_SENDING).
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update

from domain.billing.document_jobs import DocumentUnavailable
from domain.communications.models import FailingAddress, Message
from domain.communications.outbound import Attachment, OutgoingMail, PermanentFailure, TemporaryFailure
from domain.communications.pipeline import SEND_JOB, normalise_address
from domain.communications.retry import MAX_ATTEMPTS, next_attempt_at
from domain.db import db, utcnow
from domain.jobs import dispatch
from tenants.context import require_tenant_id
from tenants.guard import TENANT_FILTERED

log = logging.getLogger("communications.sending")
BATCH = 200
STALE_SENDING = timedelta(minutes=15)  # a message `sending` for longer lost its worker (jobs time out at 3 min)

TransportProvider = Callable[[int], object]
_transport_provider: TransportProvider | None = None


def set_transport_provider(provider: TransportProvider) -> None:
    """The app factory plugs in how a tenant's transport is found (its own SMTP server or the platform's)."""
    global _transport_provider
    _transport_provider = provider


def _transport(tenant_id: int):
    if _transport_provider is None:
        raise RuntimeError("no mail transport configured: create the app first")
    return _transport_provider(tenant_id)


def _now(now_iso: str | None) -> Callable[[], datetime]:
    if now_iso:
        fixed = datetime.fromisoformat(now_iso)
        return lambda: fixed
    return utcnow


def claim_batch(*, now: datetime, limit: int = BATCH) -> list[Message]:
    """Take up to `limit` of the tenant's messages due now, oldest first, and mark them `sending` (not committed)."""
    stmt = (select(Message).where(Message.status == "queued", Message.next_attempt_at <= now)
            .order_by(Message.next_attempt_at, Message.id).limit(limit))
    if db.session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    batch = list(db.session.scalars(stmt))
    for message in batch:
        message.status, message.claimed_at, message.attempts = "sending", now, message.attempts + 1
    db.session.flush()
    return batch


def outgoing(message: Message, tenant_id: int) -> OutgoingMail:
    """The mail of a recorded message, as recorded (same Message-ID on every attempt)."""
    return OutgoingMail(
        to=message.recipient, subject=message.subject, text=message.text_body, html=message.html_body,
        sender_name=message.sender_name, sender_address=message.sender_address, tenant_id=tenant_id,
        headers=tuple((name, value) for name, value in (message.headers or ())),
        attachments=tuple(_attachment(ref) for ref in (message.attachments or ())),
        message_id=message.message_id,
    )


class AttachmentUnavailable(RuntimeError):
    pass


def _attachment(ref: dict) -> Attachment:
    """An attachment reference read at send time: a bill's document as issued."""
    if "bill_id" in ref:
        from domain.billing.document_jobs import stored_document
        from domain.billing.models import Bill

        bill = db.session.get(Bill, ref["bill_id"])
        if bill is None:
            raise AttachmentUnavailable("the attached bill no longer exists")
        return Attachment(filename=ref.get("filename") or f"{bill.number}.pdf", content=stored_document(bill))
    raise AttachmentUnavailable(f"unknown attachment reference {sorted(ref)}")


def mark_sent(message: Message, *, now: datetime) -> None:
    message.status, message.sent_at, message.next_attempt_at = "sent", now, None
    message.failure_code = message.failure_reason = None
    found = db.session.scalar(select(FailingAddress).where(
        FailingAddress.address == normalise_address(message.recipient)))
    if found is not None:  # it takes mail again
        db.session.delete(found)


def mark_temporary_failure(message: Message, *, reason: str, now: datetime, max_attempts: int = MAX_ATTEMPTS) -> None:
    """Queued again after the back-off, or failed once the attempts are used up."""
    retry_at = next_attempt_at(attempts=message.attempts, now=now, max_attempts=max_attempts)
    message.failure_reason = _short(reason)
    if retry_at is None:
        message.status, message.next_attempt_at, message.failure_code = "failed", None, "gave_up"
        message.failure_reason = _short(f"gave up after {message.attempts} attempts: {reason}")
    else:
        message.status, message.next_attempt_at, message.failure_code = "queued", retry_at, "retrying"


def mark_permanent_failure(message: Message, *, reason: str, now: datetime) -> None:
    """Failed at once, and the address marked failing (shown to staff in the customer file)."""
    message.status, message.next_attempt_at, message.failure_reason = "failed", None, _short(reason)
    message.failure_code = "refused"
    address = normalise_address(message.recipient)
    found = db.session.scalar(select(FailingAddress).where(FailingAddress.address == address))
    if found is None:
        db.session.add(FailingAddress(address=address, failing_since=now, failure_reason=_short(reason)))
    else:
        found.failure_reason = _short(reason)


def _short(reason: str) -> str:
    """A server's answer on one line, bounded: never a stack trace."""
    return " ".join(str(reason).split())[:400]


def send_queued(*, limit: int = BATCH, now_iso: str | None = None) -> dict:
    """The job: send one batch of the tenant's due messages on one transport session; ask for the next batch if
    this one was full."""
    tenant_id = require_tenant_id()
    clock = _now(now_iso)
    batch = claim_batch(now=clock(), limit=limit)
    db.session.commit()
    if not batch:
        return {"sent": 0, "retry": 0, "failed": 0}
    counts = {"sent": 0, "retry": 0, "failed": 0}
    try:
        transport = _transport(tenant_id)
    except Exception:  # mail not configured (production without SMTP): back in the queue, retried later
        log.exception("no mail transport tenant=%s: %d messages wait", tenant_id, len(batch))
        for message in batch:
            mark_temporary_failure(message, reason="mail is not configured", now=clock())
        db.session.commit()
        return {**counts, "retry": len(batch)}
    with transport.session() as session:
        for message in batch:
            try:
                session.send(outgoing(message, tenant_id))
            except TemporaryFailure as exc:
                mark_temporary_failure(message, reason=exc.reason, now=clock())
                counts["failed" if message.status == "failed" else "retry"] += 1
            except PermanentFailure as exc:
                mark_permanent_failure(message, reason=exc.reason, now=clock())
                counts["failed"] += 1
            except (AttachmentUnavailable, DocumentUnavailable) as exc:
                mark_temporary_failure(message, reason=f"attachment unavailable: {exc}", now=clock())
                counts["failed" if message.status == "failed" else "retry"] += 1
            except Exception:  # one message's fault (a bug) must not hold the rest of the batch: logged, retried
                log.exception("message could not be sent tenant=%s id=%s", tenant_id, message.id)
                mark_temporary_failure(message, reason="internal error", now=clock())
                counts["failed" if message.status == "failed" else "retry"] += 1
            else:
                mark_sent(message, now=clock())
                counts["sent"] += 1
            db.session.commit()
            log.info("message %s tenant=%s kind=%s id=%s attempts=%s", message.status, tenant_id, message.kind,
                     message.id, message.attempts)
    if len(batch) == limit:
        dispatch(SEND_JOB, tenant_id=tenant_id)
    return counts


def release_stale(*, now: datetime) -> int:
    """Messages left `sending` by a dead worker go back to the queue, due now. Returns how many."""
    return db.session.execute(
        update(Message).where(Message.tenant_id == require_tenant_id(), Message.status == "sending",
                              or_(Message.claimed_at.is_(None), Message.claimed_at < now - STALE_SENDING))
        .values(status="queued", next_attempt_at=now),
        execution_options={"synchronize_session": False, TENANT_FILTERED: True}).rowcount


def due_count(*, now: datetime) -> int:
    from sqlalchemy import func

    return db.session.scalar(select(func.count()).select_from(Message).where(
        Message.tenant_id == require_tenant_id(), Message.status == "queued", Message.next_attempt_at <= now)
        .execution_options(**{TENANT_FILTERED: True})) or 0


def sweep(*, now_iso: str | None = None) -> dict:
    """The job of the sweep, per tenant: take up messages left `sending` by a dead worker, and ask for a sending
    job if messages are due (a retry whose time has come, a message whose dispatch was lost)."""
    tenant_id = require_tenant_id()
    now = _now(now_iso)()
    released = release_stale(now=now)
    due = due_count(now=now)
    db.session.commit()
    if due:
        dispatch(SEND_JOB, tenant_id=tenant_id)
    return {"released": released, "due": due}
