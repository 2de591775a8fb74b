"""A real `worker.py` on the `mail` queue (PostgreSQL + Redis) sends the messages a committed transaction queued,
over SMTP, on one connection."""
from __future__ import annotations

import os

import pytest
from sqlalchemy import select

from domain.communications import pipeline
from domain.communications.models import Message
from domain.db import db
from tenants.context import tenant_scope
from tests.integration.test_mail_pipeline import _queue
from tests.integration.test_runs_with_workers import _empty_redis, workers  # noqa: F401  (fixtures)
from tests.unit.test_outbound_mail import _Server

pytestmark = pytest.mark.skipif(
    not os.environ.get("REDIS_URL") or not os.environ.get("TEST_DATABASE_URL", "").startswith("postgresql"),
    reason="needs PostgreSQL and Redis: a real RQ worker (CI runs it)",
)


def test_a_mail_worker_sends_what_was_queued_on_one_connection(app, two_tenants, workers, monkeypatch):  # noqa: F811
    a, _b = two_tenants
    with _Server() as server:
        monkeypatch.setenv("MAIL_URL", f"smtp://127.0.0.1:{server.port}")
        with app.app_context(), tenant_scope(a.tenant_id):
            for n in range(3):
                _queue(a.tenant_id, to=f"customer{n}@example.com", locale="de")
            db.session.commit()
            pipeline.dispatch_committed()  # REDIS_URL is set: one job on the `mail` queue
            waiting = [m.status for m in db.session.scalars(select(Message))]

        worker = workers("mail", burst=True)
        assert worker.wait(timeout=90) == 0, workers.log.read_text()[-3000:]
        with app.app_context(), tenant_scope(a.tenant_id):
            statuses = [m.status for m in db.session.scalars(select(Message).order_by(Message.id))]

    assert waiting == ["queued"] * 3
    assert statuses == ["sent"] * 3
    assert sorted(e.rcpt_tos[0] for e in server.received) == [f"customer{n}@example.com" for n in range(3)]
    assert server.connections == 1
