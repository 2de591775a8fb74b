"""Sending a campaign's recipients in batches: claim, send on one transport session, record; and finishing.

A lane (one job at a time, several lanes side by side) claims the next pending recipients of the campaign with
`FOR UPDATE SKIP LOCKED` on PostgreSQL and keeps them locked while it sends them, in one transaction that then
records each outcome and commits. Two lanes never take the same recipient; a lane killed mid-batch (SIGKILL) loses
its transaction: its recipients are pending again, and the messages it had already handed to the server in that
batch go a second time, at most `size` of them. Nothing recorded `sent` is ever sent again.

A temporary failure (4xx, server away) puts the recipient back as pending after a back-off that grows with each
attempt; a permanent one (5xx), or too many attempts, records it `failed` with the server's reason.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import bindparam, func, or_, select, text, update

from domain.campaigns.models import Campaign, CampaignRecipient
from domain.communications.outbound import PermanentFailure, TemporaryFailure
from domain.db import UTCDateTime, db
from tenants.guard import TENANT_FILTERED

log = logging.getLogger("campaigns")

BATCH_SIZE = 200
BACKOFF_SECONDS = (60, 300, 1800, 7200)  # after the 1st, 2nd, 3rd, 4th temporary failure
MAX_ATTEMPTS = 5


def backoff(attempts: int) -> timedelta:
    """Wait after `attempts` temporary failures (1 -> 1 minute ... then 2 hours)."""
    return timedelta(seconds=BACKOFF_SECONDS[min(attempts, len(BACKOFF_SECONDS)) - 1])


@dataclass
class BatchOutcome:
    claimed: int = 0
    sent: int = 0
    failed: int = 0
    retried: int = 0
    reasons: list[str] = field(default_factory=list)


def _locking(statement):
    """Row locks on PostgreSQL (SQLite has one writer at a time: its write lock serialises the lanes)."""
    if db.session.get_bind().dialect.name == "postgresql":
        return statement.with_for_update(skip_locked=True)
    return statement


def campaign_status(campaign_id: int) -> str | None:
    return db.session.scalar(select(Campaign.status).where(Campaign.id == campaign_id))


def claim(*, tenant_id: int, campaign_id: int, now: datetime, size: int) -> list:
    """The next pending recipients due now, locked until the transaction ends: (id, account_id, email, name,
    account_number, locale, attempts) rows."""
    r = CampaignRecipient.__table__.c
    statement = (select(r.id, r.account_id, r.email, r.name, r.account_number, r.locale, r.attempts)
                 .where(r.tenant_id == tenant_id, r.campaign_id == campaign_id, r.status == "pending",
                        or_(r.next_attempt_at.is_(None), r.next_attempt_at <= now))
                 .order_by(r.id).limit(size))
    return list(db.session.execute(_locking(statement).execution_options(**{TENANT_FILTERED: True})))


def no_longer_consenting(*, tenant_id: int, account_ids: list[int]) -> set[int]:
    """Accounts of a marketing batch that unsubscribed or withdrew their consent since the recipients were recorded
    (one statement per batch)."""
    from domain.campaigns.models import MarketingOptOut
    from domain.identity.models import CustomerAccess, CustomerUser

    if not account_ids:
        return set()
    consenting = set(db.session.scalars(
        select(CustomerAccess.account_id).join(CustomerUser, CustomerUser.id == CustomerAccess.customer_user_id)
        .where(CustomerAccess.account_id.in_(account_ids), CustomerUser.is_active.is_(True),
               CustomerUser.marketing_consent.is_(True))))
    opted_out = set(db.session.scalars(select(MarketingOptOut.account_id).where(
        MarketingOptOut.account_id.in_(account_ids))))
    return set(account_ids) - (consenting - opted_out)


def send_claimed(rows: list, *, session, build_mail: Callable, now: Callable[[], datetime],
                 withdrawn: frozenset[int] | set[int] = frozenset()) -> tuple[list, list, list, list]:
    """Send each claimed row on the open transport session: (sent, retries, failures, skipped) as parameter dicts;
    a row whose account is in `withdrawn` is skipped, not sent."""
    sent, retries, failures, skipped = [], [], [], []
    for row in rows:
        if row.account_id in withdrawn:
            skipped.append({"rid": row.id, "reason": "unsubscribed", "attempts": row.attempts})
            continue
        try:
            session.send(build_mail(row))
        except TemporaryFailure as exc:
            attempts = row.attempts + 1
            if attempts >= MAX_ATTEMPTS:
                failures.append({"rid": row.id, "reason": _reason(exc), "attempts": attempts})
            else:
                retries.append({"rid": row.id, "reason": _reason(exc), "attempts": attempts,
                                "at": now() + backoff(attempts)})
        except PermanentFailure as exc:
            failures.append({"rid": row.id, "reason": _reason(exc), "attempts": row.attempts + 1})
        else:
            sent.append({"rid": row.id, "at": now(), "attempts": row.attempts + 1})
    return sent, retries, failures, skipped


def _reason(exc) -> str:
    code = getattr(exc, "code", None)
    return (f"{code} {exc.reason}" if code else str(exc.reason))[:255]


_UNNEST_UPDATE = text("""
    UPDATE campaign_recipients AS r
    SET status = u.status, sent_at = u.sent_at, attempts = u.attempts, reason = u.reason,
        next_attempt_at = u.next_attempt_at
    FROM unnest(CAST(:ids AS bigint[]), CAST(:statuses AS varchar[]), CAST(:sent_ats AS timestamptz[]),
                CAST(:attempts AS integer[]), CAST(:reasons AS varchar[]), CAST(:next_ats AS timestamptz[]))
         AS u(id, status, sent_at, attempts, reason, next_attempt_at)
    WHERE r.tenant_id = :tenant_id AND r.id = u.id""")


def record(*, tenant_id: int, sent: list, retries: list, failures: list, skipped: list = ()) -> None:
    """Each outcome of the batch: on PostgreSQL one statement for the whole batch (arrays unnested), elsewhere one
    executemany per kind."""
    if db.session.get_bind().dialect.name == "postgresql":
        rows = ([(p["rid"], "sent", p["at"], p["attempts"], None, None) for p in sent]
                + [(p["rid"], "pending", None, p["attempts"], p["reason"], p["at"]) for p in retries]
                + [(p["rid"], "failed", None, p["attempts"], p["reason"], None) for p in failures]
                + [(p["rid"], "skipped", None, p["attempts"], p["reason"], None) for p in skipped])
        if rows:
            ids, statuses, sent_ats, attempts, reasons, next_ats = (list(column) for column in zip(*rows, strict=True))
            db.session.execute(_UNNEST_UPDATE.execution_options(**{TENANT_FILTERED: True}), {
                "ids": ids, "statuses": statuses, "sent_ats": sent_ats, "attempts": attempts, "reasons": reasons,
                "next_ats": next_ats, "tenant_id": tenant_id})
        return
    table = CampaignRecipient.__table__
    # Typed parameters: an untyped id would be compared as text or numeric, and the index on it ignored.
    where = (table.c.tenant_id == tenant_id) & (table.c.id == bindparam("rid", type_=table.c.id.type))
    at = bindparam("at", type_=table.c.sent_at.type)
    attempts = bindparam("attempts", type_=table.c.attempts.type)
    reason = bindparam("reason", type_=table.c.reason.type)
    options = {TENANT_FILTERED: True}
    if sent:
        db.session.execute(update(table).where(where).values(
            status="sent", sent_at=at, attempts=attempts, reason=None,
            next_attempt_at=None).execution_options(**options), sent)
    if retries:
        db.session.execute(update(table).where(where).values(
            status="pending", reason=reason, attempts=attempts, next_attempt_at=at).execution_options(**options),
            retries)
    for status, rows in (("failed", failures), ("skipped", skipped)):
        if rows:
            db.session.execute(update(table).where(where).values(
                status=status, reason=reason, attempts=attempts, next_attempt_at=None).execution_options(**options),
                list(rows))


def send_batch(*, tenant_id: int, campaign_id: int, session, build_mail: Callable, now: Callable[[], datetime],
               size: int = BATCH_SIZE, marketing: bool = False) -> BatchOutcome:
    """Claim, send and record one batch, then commit (the locks end there). In a marketing campaign, whoever
    unsubscribed or withdrew consent since the recipients were recorded is skipped."""
    rows = claim(tenant_id=tenant_id, campaign_id=campaign_id, now=now(), size=size)
    outcome = BatchOutcome(claimed=len(rows))
    if not rows:
        db.session.rollback()
        return outcome
    withdrawn = no_longer_consenting(tenant_id=tenant_id, account_ids=[r.account_id for r in rows]) \
        if marketing else set()
    sent, retries, failures, skipped = send_claimed(rows, session=session, build_mail=build_mail, now=now,
                                                    withdrawn=withdrawn)
    record(tenant_id=tenant_id, sent=sent, retries=retries, failures=failures, skipped=skipped)
    db.session.commit()
    outcome.sent, outcome.retried, outcome.failed = len(sent), len(retries), len(failures)
    return outcome


@dataclass(frozen=True)
class Finish:
    state: str  # completed, waiting (retries due later), busy (another lane holds the last ones), stopped
    retry_at: datetime | None = None


def finish_if_done(*, campaign_id: int, now: datetime) -> Finish:
    """When a lane finds nothing to claim: complete the campaign if no recipient is pending any more."""
    status = campaign_status(campaign_id)
    if status != "sending":
        return Finish("stopped")
    pending, retry_at = db.session.execute(
        select(func.count(CampaignRecipient.id), func.min(CampaignRecipient.next_attempt_at, type_=UTCDateTime()))
        .where(CampaignRecipient.campaign_id == campaign_id, CampaignRecipient.status == "pending")).one()
    if pending == 0:
        done = db.session.execute(update(Campaign).where(Campaign.id == campaign_id, Campaign.status == "sending")
                                  .values(status="completed", finished_at=now)).rowcount
        return Finish("completed" if done else "stopped")
    if retry_at is not None and retry_at > now:
        return Finish("waiting", retry_at)
    return Finish("busy")
