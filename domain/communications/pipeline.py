"""Recording messages in the caller's transaction, and sending them only once it has committed.

`record_message` inserts the `messages` row (status queued) in the current transaction and notes its tenant in the
session; when the transaction commits, the tenant is handed to whoever runs the sending job next (the end of the
request, the job runner, `dispatch_committed`); a rolled-back transaction leaves nothing to send. Rendering is done
by the caller (app/messages.py renders templates with the tenant's branding): this module stores what is sent.
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from email.utils import make_msgid

from sqlalchemy import and_, event, func, or_, select
from sqlalchemy.orm import Session

from domain.communications.kinds import kind_of
from domain.communications.models import FailingAddress, Message, NotificationOptOut
from domain.db import db
from domain.paging import Page, page_of
from domain.jobs import dispatch
from tenants.context import require_tenant_id
from tenants.guard import TENANT_FILTERED

log = logging.getLogger("communications")
SEND_JOB = "communications.send_queued"
_QUEUED = "mail_queued_tenants"
_COMMITTED = "mail_committed_tenants"


@dataclass(frozen=True)
class Rendered:
    """A message as it will be sent."""

    subject: str
    text: str
    html: str | None
    sender_name: str
    sender_address: str


class NoAddress(ValueError):
    """The recipient has no e-mail address: nothing is recorded."""


def already_recorded(*, kind: str, reference: str) -> bool:
    return db.session.scalar(select(Message.id).where(Message.kind == kind, Message.reference == reference)) is not None


def normalise_address(address: str) -> str:
    return (address or "").strip().lower()


def record_message(*, kind: str, to: str, rendered: Rendered, now: datetime, locale: str | None = None,
                   account_id: int | None = None, party_id: int | None = None, customer_user_id: int | None = None,
                   headers: Sequence[tuple[str, str]] = (), attachments: Sequence[dict] = (),
                   reference: str | None = None) -> Message:
    """Insert the message (queued) in the current transaction; it is sent after the transaction commits.

    An optional kind the recipient's online access switched off is recorded as `skipped` and not sent.
    """
    tenant_id = require_tenant_id()
    what = kind_of(kind)
    if not to or "@" not in to:
        raise NoAddress(kind)
    skipped = what.switchable and switched_off(kind=kind, customer_user_id=customer_user_id, address=to)
    message = Message(
        kind=kind, category=what.category, reference=reference, recipient=to.strip(), account_id=account_id,
        party_id=party_id,
        locale=locale, sender_name=rendered.sender_name, sender_address=rendered.sender_address,
        subject=rendered.subject[:400], text_body=rendered.text, html_body=rendered.html,
        headers=[list(h) for h in headers] or None, attachments=list(attachments) or None,
        status="skipped" if skipped else "queued", attempts=0, next_attempt_at=None if skipped else now,
        queued_at=now, failure_code="switched_off" if skipped else None,
        message_id=make_msgid(domain=rendered.sender_address.rpartition("@")[2] or "localhost"),
    )
    db.session.add(message)
    db.session.flush()
    if not skipped:
        db.session.info.setdefault(_QUEUED, set()).add(tenant_id)
    log.info("message %s tenant=%s kind=%s id=%s", message.status, tenant_id, kind, message.id)
    return message


@event.listens_for(Session, "after_commit")
def _queued_committed(session) -> None:
    queued = session.info.pop(_QUEUED, None)
    if queued:
        session.info.setdefault(_COMMITTED, set()).update(queued)


@event.listens_for(Session, "after_rollback")
def _queued_rolled_back(session) -> None:
    session.info.pop(_QUEUED, None)


def committed_tenants(session=None) -> set[int]:
    """Tenants with messages queued by transactions of this session that have committed since the last call."""
    return (session or db.session).info.pop(_COMMITTED, set())


def dispatch_sending(tenant_ids: Iterable[int]) -> None:
    """Ask for the sending job of each tenant (on the `mail` queue, or in-process without workers)."""
    for tenant_id in sorted(tenant_ids):
        dispatch(SEND_JOB, tenant_id=tenant_id)


def dispatch_committed() -> int:
    """After a commit (a command, a job runner): send what the committed transactions queued."""
    tenants = committed_tenants()
    dispatch_sending(tenants)
    return len(tenants)


# --- notification preferences ---------------------------------------------------------------------------------------

def switched_off(*, kind: str, customer_user_id: int | None, address: str | None = None) -> bool:
    """Whether the online access (given, or else the one signing in with `address`) switched this kind off."""
    from domain.identity.models import CustomerUser

    if customer_user_id is None and address:
        customer_user_id = db.session.scalar(
            select(CustomerUser.id).where(CustomerUser.email == normalise_address(address)))
    if customer_user_id is None:
        return False
    return db.session.scalar(select(NotificationOptOut.id).where(
        NotificationOptOut.customer_user_id == customer_user_id, NotificationOptOut.kind == kind)) is not None


def switched_off_kinds(*, customer_user_id: int) -> set[str]:
    return set(db.session.scalars(select(NotificationOptOut.kind).where(
        NotificationOptOut.customer_user_id == customer_user_id)))


class PreferenceRefused(ValueError):
    """A kind that is not optional (or unknown) cannot be switched off; nothing was changed."""


def set_preferences(*, customer_user_id: int, enabled: Iterable[str], now: datetime) -> tuple[set[str], set[str]]:
    """Keep the optional kinds named in `enabled` on and switch the other optional kinds off; returns the kinds
    this call switched (on, off). Kinds that cannot be switched off are always on whatever `enabled` says; an
    unknown kind is refused and nothing changes."""
    from domain.communications.kinds import KINDS, switchable_kinds

    enabled = set(enabled)
    unknown = {name for name in enabled if name not in KINDS}
    if unknown:
        raise PreferenceRefused(", ".join(sorted(unknown)))
    optional = {k.name for k in switchable_kinds()}
    current = switched_off_kinds(customer_user_id=customer_user_id)
    wanted_off = optional - enabled
    turn_on, turn_off = current - wanted_off, wanted_off - current
    if turn_on:  # row by row, so the audit trail records the change
        for row in db.session.scalars(select(NotificationOptOut).where(
                NotificationOptOut.customer_user_id == customer_user_id, NotificationOptOut.kind.in_(turn_on))):
            db.session.delete(row)
    for name in sorted(turn_off):
        db.session.add(NotificationOptOut(customer_user_id=customer_user_id, kind=name, created_at=now))
    db.session.flush()
    return turn_on, turn_off


# --- what staff see -------------------------------------------------------------------------------------------------

def messages_of_account(*, account_id: int, requested_page: str | None = None,
                        size: int = 20) -> tuple[Page, list[Message]]:
    """One page of the account's messages, newest first (`requested_page` as the query string gave it)."""
    from domain.contracts.models import CustomerAccount

    holder = select(CustomerAccount.holder_party_id).where(CustomerAccount.id == account_id).scalar_subquery()
    # The account's own messages, and those to its holder about no account in particular (a password reset).
    where = or_(Message.account_id == account_id, and_(Message.account_id.is_(None), Message.party_id == holder))
    total = db.session.scalar(select(func.count()).select_from(Message).where(
        Message.tenant_id == require_tenant_id(), where).execution_options(**{TENANT_FILTERED: True})) or 0
    page = page_of(requested=requested_page, total=total, size=size)
    rows = list(db.session.scalars(select(Message).where(where)
                                   .order_by(Message.queued_at.desc(), Message.id.desc())
                                   .offset(page.offset).limit(page.size)))
    return page, rows


def failing_addresses(addresses: Iterable[str]) -> list[FailingAddress]:
    """Of these addresses, the ones a mail server refused for good, with since when and why."""
    wanted = {normalise_address(a) for a in addresses if a}
    if not wanted:
        return []
    return list(db.session.scalars(select(FailingAddress).where(FailingAddress.address.in_(wanted))
                                   .order_by(FailingAddress.address)))


# --- messages queued by domain code (jobs) --------------------------------------------------------------------------

Renderer = Callable[..., Rendered]
_renderer: Renderer | None = None


def set_renderer(renderer: Renderer) -> None:
    """The app factory plugs in how templates are rendered (app/messages.py: branding, language, links)."""
    global _renderer
    _renderer = renderer


def render_message(*, kind: str, to: str, locale: str | None, context: dict,
                   links: dict[str, tuple[str, dict]] | None = None) -> Rendered:
    """A message rendered as `notify` would record it, without recording it (a letter printed from its text)."""
    if _renderer is None:
        raise RuntimeError("no mail renderer configured: create the app first")
    return _renderer(tenant_id=require_tenant_id(), kind=kind, to=to, locale=locale, context=context,
                     links=links or {})


def notify(*, kind: str, to: str, locale: str | None, now: datetime, context: dict,
           links: dict[str, tuple[str, dict]] | None = None, account_id: int | None = None,
           party_id: int | None = None, customer_user_id: int | None = None, reference: str | None = None,
           attachments: Sequence[dict] = ()) -> Message | None:
    """Queue a message from domain code (a job): rendered by the plugged renderer, recorded like `record_message`.

    `links` names URLs for the template as (endpoint, values) on the tenant's own host. With a `reference`, a
    message already recorded for it is not recorded again (None is returned), also when two jobs race.
    """
    from sqlalchemy.exc import IntegrityError

    if _renderer is None:
        raise RuntimeError("no mail renderer configured: create the app first")
    if reference is not None and already_recorded(kind=kind, reference=reference):
        return None
    rendered = _renderer(tenant_id=require_tenant_id(), kind=kind, to=to, locale=locale, context=context,
                         links=links or {})
    try:
        with db.session.begin_nested():
            return record_message(kind=kind, to=to, rendered=rendered, now=now, locale=locale,
                                  account_id=account_id, party_id=party_id, customer_user_id=customer_user_id,
                                  reference=reference, attachments=attachments)
    except IntegrityError:  # another job recorded it a moment ago
        return None


def failing_addresses_of_account(account) -> list[FailingAddress]:
    """The account's addresses a mail server refused for good: the holder's e-mail addresses on file and those of
    the online accesses to the account."""
    from domain.identity.models import CustomerAccess, CustomerUser

    addresses = [c.value for c in (account.holder.contact_points if account.holder else []) if c.kind == "email"]
    addresses += db.session.scalars(select(CustomerUser.email).join(
        CustomerAccess, CustomerAccess.customer_user_id == CustomerUser.id)
        .where(CustomerAccess.account_id == account.id))
    return failing_addresses(addresses)
