"""The mail pipeline on the database: a message is recorded in its transaction and sent only after the commit, in
batches on one transport session, retried with back-off on 4xx, failed at once on 5xx (address marked failing),
taken up again by the sweep; on PostgreSQL two workers never claim the same message."""
from __future__ import annotations

import email
from datetime import timedelta
from email import policy

import pytest
from sqlalchemy import select, text

from domain.communications import pipeline, sending
from domain.communications.models import FailingAddress, Message
from domain.communications.outbound import SMTPTransport
from domain.db import db, utcnow
from domain.jobs import inline_jobs
from tenants.context import tenant_scope
from tenants.models import Tenant
from tests.unit.test_outbound_mail import _Server


@pytest.fixture
def platform_mail(app):
    """Put a transport in place of the platform's (the outbox folder by default) for one test."""
    saved = app.extensions.get("mail_transport")

    def _use(transport):
        app.extensions["mail_transport"] = transport
        return transport

    yield _use
    if saved is None:
        app.extensions.pop("mail_transport", None)
    else:
        app.extensions["mail_transport"] = saved


@pytest.fixture
def dispatched(monkeypatch):
    """The sending jobs asked for (by tenant), instead of running them."""
    calls = []
    monkeypatch.setattr(pipeline, "dispatch", lambda name, *, tenant_id, **kw: calls.append((name, tenant_id)))
    return calls


def _queue(tenant_id: int, to: str = "client@example.com", *, locale: str = "en", kind: str = "password_reset"):
    from flask_babel import lazy_gettext as _l

    from app.messages import queue_message

    tenant = db.session.get(Tenant, tenant_id)
    return queue_message(kind=kind, tenant=tenant, to=to, locale=locale, subject=_l("Reset your password"),
                         link="https://alpha.localhost/password/reset/abc")


def _messages() -> list[Message]:
    return list(db.session.scalars(select(Message).order_by(Message.id)))


def test_a_message_is_recorded_in_its_transaction_and_its_sending_asked_for_after_the_commit(app, two_tenants,
                                                                                                 dispatched):
    a, _b = two_tenants
    with app.app_context(), tenant_scope(a.tenant_id):
        message = _queue(a.tenant_id)
        asked_before_commit = list(dispatched)
        recorded = (message.status, message.kind, message.category, message.recipient, message.attempts)
        db.session.commit()
        pipeline.dispatch_committed()

    assert recorded == ("queued", "password_reset", "transactional", "client@example.com", 0)
    assert asked_before_commit == []
    assert dispatched == [("communications.send_queued", a.tenant_id)]


def test_a_rolled_back_transaction_records_and_sends_nothing(app, two_tenants, dispatched, outbox):
    a, _b = two_tenants
    with app.app_context(), tenant_scope(a.tenant_id):
        _queue(a.tenant_id)
        db.session.rollback()
        pipeline.dispatch_committed()
        count = len(_messages())

    assert count == 0 and dispatched == [] and outbox() == []


def test_the_outbox_mode_writes_the_recorded_message_as_an_eml_file(app, two_tenants, outbox):
    a, _b = two_tenants
    with app.app_context(), tenant_scope(a.tenant_id):
        _queue(a.tenant_id, locale="fr")
        db.session.commit()
        with inline_jobs():  # in-process, as without workers: the sending job runs now
            pipeline.dispatch_committed()
    with app.app_context(), tenant_scope(a.tenant_id):
        (message,) = _messages()

    (mail,) = outbox()
    assert message.status == "sent" and message.sent_at is not None and message.attempts == 1
    assert mail["Message-ID"] == message.message_id
    assert mail["Subject"] == message.subject == "Réinitialisation de votre mot de passe"
    assert "Alpha Utility" in mail["From"]


def test_real_smtp_carries_the_language_branding_sender_and_recipient(app, two_tenants, platform_mail):
    a, _b = two_tenants
    with _Server() as server:
        platform_mail(SMTPTransport(f"smtp://127.0.0.1:{server.port}"))
        with app.app_context(), tenant_scope(a.tenant_id):
            _queue(a.tenant_id, to="francoise@example.com", locale="fr")
            _queue(a.tenant_id, to="john@example.com", locale="en")
            db.session.commit()
            result = sending.send_queued()
            messages = _messages()

    assert result == {"sent": 2, "retry": 0, "failed": 0}
    assert server.connections == 1  # the batch on one connection
    french, english = (email.message_from_bytes(e.content, policy=policy.default) for e in server.received)
    assert [e.rcpt_tos for e in server.received] == [["francoise@example.com"], ["john@example.com"]]
    assert french["Subject"] == "Réinitialisation de votre mot de passe" and english["Subject"] == "Reset your password"
    (sender,) = french["From"].addresses
    assert sender.display_name == "Alpha Utility" and sender.addr_spec.endswith("@alpha.localhost")
    assert french["Message-ID"] == messages[0].message_id
    assert "Alpha Utility" in french.get_body(("html",)).get_content()  # the branding and footer
    assert [m.status for m in messages] == ["sent", "sent"]


def test_a_temporary_refusal_is_retried_after_the_back_off_and_then_sent(app, two_tenants, platform_mail):
    a, _b = two_tenants
    with _Server({"busy@example.com": ["451 4.3.0 try again later"]}) as server:
        platform_mail(SMTPTransport(f"smtp://127.0.0.1:{server.port}"))
        with app.app_context(), tenant_scope(a.tenant_id):
            _queue(a.tenant_id, to="busy@example.com")
            db.session.commit()
            now = utcnow()
            first = sending.send_queued(now_iso=now.isoformat())
            (after_first,) = [(m.status, m.attempts, m.next_attempt_at, m.failure_reason) for m in _messages()]
            too_early = sending.send_queued(now_iso=(now + timedelta(seconds=30)).isoformat())
            second = sending.send_queued(now_iso=(now + timedelta(minutes=1)).isoformat())
            (message,) = _messages()

    assert first == {"sent": 0, "retry": 1, "failed": 0}
    assert after_first == ("queued", 1, now + timedelta(minutes=1), "4.3.0 try again later")
    assert too_early == {"sent": 0, "retry": 0, "failed": 0}
    assert second == {"sent": 1, "retry": 0, "failed": 0}
    assert (message.status, message.attempts, message.failure_reason) == ("sent", 2, None)
    assert [e.rcpt_tos for e in server.received] == [["busy@example.com"]]


def test_a_message_refused_for_now_too_often_fails_with_its_reason(app, two_tenants):
    a, _b = two_tenants
    now = utcnow()
    with app.app_context(), tenant_scope(a.tenant_id):
        message = _queue(a.tenant_id)
        message.attempts = 8
        sending.mark_temporary_failure(message, reason="451 busy", now=now)

    assert (message.status, message.next_attempt_at) == ("failed", None)
    assert message.failure_reason == "gave up after 8 attempts: 451 busy"


def test_a_permanent_refusal_fails_at_once_and_marks_the_address_until_a_mail_gets_through(
        app, two_tenants, platform_mail):
    a, _b = two_tenants
    with _Server({"Gone@example.com": ["550 5.1.1 no such user"]}) as server:
        platform_mail(SMTPTransport(f"smtp://127.0.0.1:{server.port}"))
        with app.app_context(), tenant_scope(a.tenant_id):
            _queue(a.tenant_id, to="Gone@example.com")
            _queue(a.tenant_id, to="ok@example.com")
            db.session.commit()
            result = sending.send_queued()
            failed, sent = _messages()
            failing = [(f.address, f.failure_reason) for f in db.session.scalars(select(FailingAddress))]
            _queue(a.tenant_id, to="gone@example.com")  # the mailbox exists again
            db.session.commit()
            sending.send_queued()
            still_failing = len(list(db.session.scalars(select(FailingAddress))))

    assert result == {"sent": 1, "retry": 0, "failed": 1}
    assert (failed.status, failed.attempts, failed.next_attempt_at) == ("failed", 1, None)
    assert failed.failure_reason == "5.1.1 no such user" and sent.status == "sent"
    assert failing == [("gone@example.com", "5.1.1 no such user")]
    assert still_failing == 0


def test_the_sweep_takes_up_messages_a_dead_worker_left_sending(app, two_tenants, outbox):
    a, _b = two_tenants
    with app.app_context(), tenant_scope(a.tenant_id):
        _queue(a.tenant_id, to="one@example.com")
        _queue(a.tenant_id, to="two@example.com")
        db.session.commit()
        now = utcnow()
        claimed = sending.claim_batch(now=now, limit=1)  # by a worker that then died
        claimed[0].claimed_at = now - timedelta(minutes=20)
        db.session.commit()
        recent = sending.claim_batch(now=now, limit=1)  # a worker still at work
        db.session.commit()
        with inline_jobs():  # the sending job it asks for runs now
            swept = sending.sweep(now_iso=now.isoformat())
        statuses = {m.recipient: m.status for m in _messages()}

    assert [m.recipient for m in claimed] == ["one@example.com"] and len(recent) == 1
    assert swept == {"released": 1, "due": 1}
    assert statuses == {"one@example.com": "sent", "two@example.com": "sending"}
    assert [m["To"] for m in outbox()] == ["one@example.com"]


def test_a_batch_is_claimed_by_one_worker_only(app, two_tenants):
    """PostgreSQL: FOR UPDATE SKIP LOCKED; a second worker claiming while the first holds its batch gets others."""
    a, _b = two_tenants
    from sqlalchemy.orm import Session

    with app.app_context(), tenant_scope(a.tenant_id):
        if db.engine.dialect.name != "postgresql":
            pytest.skip("row locks: PostgreSQL only (SQLite has one writer)")
        for n in range(5):
            _queue(a.tenant_id, to=f"c{n}@example.com")
        db.session.commit()
        now = utcnow()
        first = [m.recipient for m in sending.claim_batch(now=now, limit=3)]  # not committed: rows locked
        other = Session(bind=db.engine)  # another worker's connection: sets its tenant as the guard would
        try:
            other.execute(text("SELECT set_config('app.tenant_id', :id, true)"), {"id": str(a.tenant_id)})
            stmt = (select(Message.recipient).where(Message.tenant_id == a.tenant_id, Message.status == "queued",
                                                    Message.next_attempt_at <= now)
                    .order_by(Message.id).with_for_update(skip_locked=True))
            second = list(other.scalars(stmt))
        finally:
            other.rollback()
            other.close()
        db.session.rollback()

    assert first == ["c0@example.com", "c1@example.com", "c2@example.com"]
    assert second == ["c3@example.com", "c4@example.com"]


def test_production_with_the_outbox_folder_sends_nothing_and_keeps_the_messages_queued(app, two_tenants, outbox,
                                                                                        monkeypatch):
    a, _b = two_tenants
    monkeypatch.setitem(app.config, "ENV_NAME", "production")
    monkeypatch.delitem(app.extensions, "mail_transport", raising=False)
    with app.app_context(), tenant_scope(a.tenant_id):
        _queue(a.tenant_id)
        db.session.commit()
        result = sending.send_queued()
        (message,) = _messages()

    assert result == {"sent": 0, "retry": 1, "failed": 0}
    assert (message.status, message.failure_code, message.failure_reason) == (
        "queued", "retrying", "mail is not configured")
    assert outbox() == []
