"""Record a contact with a customer, and read the account's contacts (recorded ones and e-mails sent) as one
timeline, newest first."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, func, literal, or_, select, union_all

from domain.collections.models import DunningLetter
from domain.communications.models import Message
from domain.contacts.models import CHANNELS, DIRECTIONS, ContactLogEntry
from domain.contracts.models import CustomerAccount
from domain.db import db
from domain.paging import Page, page_of
from tenants.context import require_tenant_id
from tenants.guard import TENANT_FILTERED

log = logging.getLogger("domain.contacts")
NOTE_MAX = 4000
SUBJECT_MAX = 200
# What the timeline can be narrowed to: one channel of recorded contacts, or the e-mails.
TIMELINE_KINDS = (*CHANNELS, "email")


class ContactRefused(ValueError):
    """A contact that cannot be recorded as given; `field` names what to mend."""

    def __init__(self, code: str, field: str):
        super().__init__(code)
        self.code = code
        self.field = field


def record_contact(*, account: CustomerAccount, channel: str, direction: str, note: str, subject: str | None,
                   staff_user_id: int | None, staff_name: str, now: datetime) -> ContactLogEntry:
    """A call, letter or visit with the customer, told in a note (required) with an optional subject."""
    if channel not in CHANNELS:
        raise ContactRefused("channel", "channel")
    if direction not in DIRECTIONS:
        raise ContactRefused("direction", "direction")
    note = (note or "").strip()
    if not note:
        raise ContactRefused("note_missing", "note")
    if len(note) > NOTE_MAX:
        raise ContactRefused("note_long", "note")
    subject = (subject or "").strip() or None
    if subject is not None and len(subject) > SUBJECT_MAX:
        raise ContactRefused("subject_long", "subject")
    entry = ContactLogEntry(account_id=account.id, channel=channel, direction=direction, note=note, subject=subject,
                            occurred_at=now, staff_user_id=staff_user_id, staff_name=staff_name[:255])
    db.session.add(entry)
    db.session.flush()
    log.info("contact recorded tenant=%s account=%s channel=%s direction=%s staff=%s", account.tenant_id,
             account.id, channel, direction, staff_user_id)
    return entry


@dataclass(frozen=True)
class TimelineItem:
    """One contact: a recorded one (`entry`), an e-mail (`message`) or a dunning letter produced for posting
    (`letter`)."""

    at: datetime
    entry: ContactLogEntry | None = None
    message: Message | None = None
    letter: DunningLetter | None = None

    @property
    def kind(self) -> str:
        if self.entry is not None:
            return self.entry.channel
        return "letter" if self.letter is not None else "email"


def _message_condition(account: CustomerAccount):
    # As the Messages list: the account's own messages, and those to its holder about no account in particular.
    return or_(Message.account_id == account.id,
               and_(Message.account_id.is_(None), Message.party_id == account.holder_party_id))


def _parts(account: CustomerAccount, kind: str | None):
    tenant_id = require_tenant_id()
    parts = []
    if kind in (None, *CHANNELS):
        contacts = select(literal("contact").label("source"), ContactLogEntry.id.label("id"),
                          ContactLogEntry.occurred_at.label("at")).where(
            ContactLogEntry.tenant_id == tenant_id, ContactLogEntry.account_id == account.id)
        if kind is not None:
            contacts = contacts.where(ContactLogEntry.channel == kind)
        parts.append(contacts)
    if kind in (None, "letter"):
        parts.append(select(literal("letter").label("source"), DunningLetter.id.label("id"),
                            DunningLetter.created_at.label("at")).where(DunningLetter.tenant_id == tenant_id,
                                                                        DunningLetter.account_id == account.id))
    if kind in (None, "email"):
        parts.append(select(literal("message").label("source"), Message.id.label("id"),
                            Message.queued_at.label("at")).where(Message.tenant_id == tenant_id,
                                                                 _message_condition(account)))
    return parts


def timeline(*, account: CustomerAccount, kind: str | None = None, requested_page: str | None = None,
             size: int | None = 20) -> tuple[Page, list[TimelineItem]]:
    """The account's contacts newest first, narrowed to one kind (TIMELINE_KINDS) or not; one page of `size`
    (None: all of them, for an export)."""
    if kind is not None and kind not in TIMELINE_KINDS:
        kind = None
    merged = union_all(*_parts(account, kind)).subquery()
    options = {TENANT_FILTERED: True}
    total = db.session.scalar(select(func.count()).select_from(merged).execution_options(**options)) or 0
    page = page_of(requested=requested_page, total=total, size=size or max(total, 1))
    rows = db.session.execute(select(merged.c.source, merged.c.id).order_by(merged.c.at.desc(), merged.c.id.desc())
                              .offset(page.offset).limit(page.size).execution_options(**options)).all()
    entry_ids = [row_id for source, row_id in rows if source == "contact"]
    message_ids = [row_id for source, row_id in rows if source == "message"]
    entries = {e.id: e for e in db.session.scalars(select(ContactLogEntry).where(ContactLogEntry.id.in_(entry_ids)))
               } if entry_ids else {}
    messages = {m.id: m for m in db.session.scalars(select(Message).where(Message.id.in_(message_ids)))
                } if message_ids else {}
    letter_ids = [row_id for source, row_id in rows if source == "letter"]
    letters = {d.id: d for d in db.session.scalars(select(DunningLetter).where(DunningLetter.id.in_(letter_ids)))
               } if letter_ids else {}
    items = []
    for source, row_id in rows:
        if source == "contact":
            entry = entries[row_id]
            items.append(TimelineItem(at=entry.occurred_at, entry=entry))
        elif source == "letter":
            letter = letters[row_id]
            items.append(TimelineItem(at=letter.created_at, letter=letter))
        else:
            message = messages[row_id]
            items.append(TimelineItem(at=message.sent_at or message.queued_at, message=message))
    return page, items
