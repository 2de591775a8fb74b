"""The contact log on the database: a call, letter or visit is recorded with its note, refused without one (nothing
written), and read back with the e-mails sent as one timeline, newest first, paged and narrowed by kind."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from domain.communications.models import Message
from domain.contacts import services as contacts
from domain.contacts.models import ContactLogEntry
from domain.contracts.models import CustomerAccount
from domain.db import db
from tenants.context import tenant_scope
from tests.clock import PINNED_AT


def _account(data) -> CustomerAccount:
    return db.session.scalar(select(CustomerAccount).where(CustomerAccount.account_number == data.account_number))


def _record(account, minutes: int, channel="phone", note="Called", **kwargs):
    return contacts.record_contact(account=account, channel=channel, direction=kwargs.pop("direction", "inbound"),
                                   note=note, subject=kwargs.pop("subject", None), staff_user_id=None,
                                   staff_name="Agent", now=PINNED_AT + timedelta(minutes=minutes))


def _mail(account, minutes: int, subject: str):
    db.session.add(Message(kind="bill_available", category="transactional", recipient="c@example.test",
                           account_id=account.id, sender_name="U", sender_address="u@example.test", subject=subject,
                           text_body=".", status="sent", message_id=f"<{subject}@x>",
                           queued_at=PINNED_AT + timedelta(minutes=minutes)))


@pytest.mark.parametrize(("fields", "code"), [
    ({"note": "   "}, "note_missing"), ({"note": "x" * 4001}, "note_long"), ({"channel": "fax"}, "channel"),
    ({"direction": "sideways"}, "direction"), ({"subject": "s" * 201}, "subject_long")])
def test_a_contact_that_cannot_be_recorded_says_why_and_writes_nothing(app, two_tenants, fields, code):
    a, _b = two_tenants
    with app.app_context(), tenant_scope(a.tenant_id):
        account = _account(a)
        arguments = {"channel": "phone", "direction": "inbound", "note": "Called", "subject": None, **fields}

        with pytest.raises(contacts.ContactRefused) as refused:
            contacts.record_contact(account=account, staff_user_id=None, staff_name="Agent", now=PINNED_AT,
                                    **arguments)

        assert refused.value.code == code
        assert db.session.scalar(select(func.count(ContactLogEntry.id))) == 0


def test_the_timeline_merges_contacts_and_e_mails_newest_first_in_pages(app, two_tenants):
    a, _b = two_tenants
    with app.app_context(), tenant_scope(a.tenant_id):
        account = _account(a)
        _record(account, 1, note="First call", subject="  Bill  ")
        _mail(account, 2, "Bill ready")
        _record(account, 3, channel="letter", direction="outbound", note="Letter sent")
        _record(account, 4, channel="visit", note="Came to the office")
        db.session.flush()

        first, items = contacts.timeline(account=account, size=3)
        second, rest = contacts.timeline(account=account, size=3, requested_page="2")
        _page, mails = contacts.timeline(account=account, kind="email")
        _page, letters = contacts.timeline(account=account, kind="letter")

        assert first.total == 4 and [i.kind for i in items] == ["visit", "letter", "email"]
        assert [i.entry.note for i in rest] == ["First call"] and rest[0].entry.subject == "Bill"
        assert second.number == 2
        assert [i.message.subject for i in mails] == ["Bill ready"]
        assert [i.entry.note for i in letters] == ["Letter sent"]


def test_another_accounts_contacts_are_not_in_the_timeline(app, two_tenants):
    a, b = two_tenants
    with app.app_context(), tenant_scope(b.tenant_id):
        _record(_account(b), 1, note="B's call")
        db.session.commit()
    with app.app_context(), tenant_scope(a.tenant_id):
        page, items = contacts.timeline(account=_account(a))

        assert page.total == 0 and items == []
