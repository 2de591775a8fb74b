"""A `mail` worker killed (SIGKILL, with its work horse) in the middle of a campaign, then restarted: every
recipient gets the message, nothing recorded sent goes again, and exactly the messages in flight at the kill (handed
to the server in the killed batch, not yet recorded) go a second time: at most one batch.

Real `worker.py` processes on real Redis and PostgreSQL, and an SMTP server in its own process (bench/smtp_sink.py)
that takes 50 ms per message, so the kill lands inside a batch.
"""
from __future__ import annotations

import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.jobs import enqueue_now
from domain.campaigns import services
from domain.campaigns.models import Campaign, CampaignRecipient
from domain.db import db, utcnow
from tenants.context import tenant_scope
from tenants.models import Tenant
from tests.campaign_support import customer
from tests.clock import pinned_command, pinned_env
from tests.integration.test_worker_crash import _kill_with_its_children, _wait

ROOT = Path(__file__).resolve().parents[2]
RECIPIENTS = 60
BATCH = 8

pytestmark = pytest.mark.skipif(
    not os.environ.get("REDIS_URL") or not os.environ.get("TEST_DATABASE_URL", "").startswith("postgresql"),
    reason="needs PostgreSQL and Redis: a real RQ worker is killed in the middle of a batch (row locks of PostgreSQL "
           "are what hand its recipients back)",
)


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _worker(app, *, burst: bool, log: Path, mail_url: str) -> subprocess.Popen:
    env = {**os.environ, "APP_ENV": "test", "SECRET_KEY": app.config["SECRET_KEY"],
           "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"], "INSTANCE_DIR": str(app.instance_path),
           "REDIS_URL": os.environ["REDIS_URL"], "WORKER_DAILY_JOBS": "0", "WORKER_BURST": "1" if burst else "0",
           "MAIL_URL": mail_url, "CAMPAIGN_BATCH_SIZE": str(BATCH)}
    with log.open("a") as out:
        return subprocess.Popen(pinned_command("worker.py", "mail"), cwd=ROOT, env=pinned_env(env), stdout=out,
                                stderr=subprocess.STDOUT)


def _sent(app, tenant_id: int, campaign_id: int) -> set[str]:
    with app.app_context(), tenant_scope(tenant_id):
        rows = set(db.session.scalars(select(CampaignRecipient.email).where(
            CampaignRecipient.campaign_id == campaign_id, CampaignRecipient.status == "sent")))
        db.session.rollback()
        return rows


def test_a_mail_worker_killed_mid_batch_then_restarted_sends_to_everyone_and_repeats_only_the_batch_in_flight(
        app, make_tenant, tmp_path):
    from redis import Redis

    Redis.from_url(os.environ["REDIS_URL"]).flushdb()
    tenant = make_tenant("mailcrash")
    with app.app_context(), tenant_scope(tenant.id):
        for n in range(RECIPIENTS):
            customer(email=f"r{n:03d}@example.test", consent=True)
        campaign = services.create_campaign(name="Crash", purpose="marketing", criteria={}, created_by="test",
                                            now=utcnow())
        services.save_template(campaign, locale="en", subject="Hi {{ customer_name }}", text="Hello", html=None)
        db.session.commit()
        campaign_id = campaign.id
    port = _free_port()
    received_file, count_file = tmp_path / "received.txt", tmp_path / "count"
    sink = subprocess.Popen([sys.executable, str(ROOT / "bench" / "smtp_sink.py"), str(port), str(count_file),
                             "--recipients", str(received_file), "--delay", "0.05"], cwd=ROOT)
    log = tmp_path / "worker.log"
    worker = restarted = None
    try:
        _wait(lambda: count_file.exists(), "the SMTP server")
        worker = _worker(app, burst=False, log=log, mail_url=f"smtp://127.0.0.1:{port}")
        _wait(lambda: log.exists() and "Listening on" in log.read_text(), "the worker to listen")
        with app.app_context(), tenant_scope(tenant.id):
            services.send_now(db.session.get(Campaign, campaign_id), tenant=db.session.get(Tenant, tenant.id),
                              now=utcnow())
            db.session.commit()
            enqueue_now("campaigns.start", tenant_id=tenant.id, campaign_id=campaign_id)  # to Redis: the worker

        # Kill inside a batch: after the first batch is recorded, while the server is taking the next ones.
        def mid_batch():
            received = received_file.read_text().count("\n") if received_file.exists() else 0
            return received % BATCH in (2, 3, 4, 5) and len(_sent(app, tenant.id, campaign_id)) >= BATCH
        _wait(mid_batch, "a batch in flight", timeout=60)
        _kill_with_its_children(worker.pid)
        worker.wait(timeout=10)
        time.sleep(0.3)  # the server finishes the message it was reading, if any
        at_kill = received_file.read_text().splitlines()
        recorded_at_kill = _sent(app, tenant.id, campaign_id)
        in_flight = [address for address in at_kill if address not in recorded_at_kill]

        restarted = _worker(app, burst=True, log=log, mail_url=f"smtp://127.0.0.1:{port}")
        assert restarted.wait(timeout=120) == 0, log.read_text()[-3000:]
        time.sleep(0.3)
    finally:
        for process in (worker, restarted):
            if process is not None and process.poll() is None:
                _kill_with_its_children(process.pid)
        sink.terminate()
        sink.wait(timeout=10)

    received = Counter(received_file.read_text().splitlines())
    with app.app_context(), tenant_scope(tenant.id):
        status = db.session.get(Campaign, campaign_id).status
        statuses = dict(db.session.execute(select(CampaignRecipient.status, func.count(CampaignRecipient.id))
                                           .where(CampaignRecipient.campaign_id == campaign_id)
                                           .group_by(CampaignRecipient.status)).all())
    twice = sorted(address for address, count in received.items() if count == 2)
    assert status == "completed" and statuses == {"sent": RECIPIENTS}, log.read_text()[-3000:]
    assert set(received) == {f"r{n:03d}@example.test" for n in range(RECIPIENTS)}  # nobody lost
    assert max(received.values()) <= 2
    assert not set(twice) & recorded_at_kill  # nothing recorded sent went again
    assert twice == sorted(in_flight)  # exactly the messages in flight at the kill went twice...
    assert 1 <= len(twice) <= BATCH  # ...one batch at most (2 to 5 of them here)
