"""Webhook deliveries through real Redis and a real RQ worker (burst mode): the job asked for after commit is run by
the worker, which posts the signed event to a local receiver; a failing receiver leaves the next attempt scheduled
in RQ one minute later."""
from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from domain.db import db
from domain.webhooks import events as webhook_events
from domain.webhooks.models import WebhookDelivery
from domain.webhooks.signing import verify
from tenants.context import tenant_scope
from tests.clock import PINNED_AT, pinned_command, pinned_env
from tests.factories import make_webhook_subscription
from tests.webhook_support import Receiver

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs a real Redis (set REDIS_URL)")


def _worker(app) -> subprocess.CompletedProcess:
    env = {**os.environ, "APP_ENV": "test", "SECRET_KEY": app.config["SECRET_KEY"],
           "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"], "INSTANCE_DIR": str(app.instance_path),
           "REDIS_URL": os.environ["REDIS_URL"], "WORKER_BURST": "1", "WORKER_DAILY_JOBS": "0",
           "WEBHOOKS_ALLOW_PRIVATE": "1", "WEBHOOKS_ALLOW_HTTP": "1"}
    return subprocess.run(pinned_command("worker.py"), cwd=ROOT, env=pinned_env(env), capture_output=True, text=True,
                          timeout=120)


def test_a_worker_delivers_signed_events_and_schedules_the_retry_of_a_failed_one(app, two_tenants):
    from redis import Redis
    from rq import Queue
    from rq.registry import ScheduledJobRegistry

    a, _b = two_tenants
    redis = Redis.from_url(os.environ["REDIS_URL"])
    redis.flushdb()
    with Receiver() as receiver, Receiver() as failing:
        failing.answers = [503]
        with app.app_context(), tenant_scope(a.tenant_id):
            good = make_webhook_subscription(url=receiver.url, event_types=("bill.issued",), secret="whsec_worker")
            bad = make_webhook_subscription(url=failing.url, event_types=("bill.issued",))
            db.session.commit()
            webhook_events.publish("bill.issued", [{"number": "F-1"}], occurred_at=PINNED_AT)
            db.session.commit()
            assert webhook_events.dispatch_committed() == 2  # to RQ: REDIS_URL is set
            ids = {sub: delivery for sub, delivery in db.session.execute(
                select(WebhookDelivery.subscription_id, WebhookDelivery.id)).all()}

        done = _worker(app)

        assert done.returncode == 0, done.stderr[-2000:]
        [request] = receiver.requests
        assert verify(secret="whsec_worker", header=request["headers"]["Webhook-Signature"], body=request["body"],
                      now=int(time.time()))
        assert len(failing.requests) == 1
    scheduled = ScheduledJobRegistry(queue=Queue("default", connection=redis)).get_job_ids()
    assert f"webhooks-{a.tenant_id}-delivery-{ids[bad.id]}-2" in scheduled
    with app.app_context(), tenant_scope(a.tenant_id):
        assert db.session.get(WebhookDelivery, ids[good.id]).status == "delivered"
        retried = db.session.get(WebhookDelivery, ids[bad.id])
        assert (retried.status, retried.attempts) == ("pending", 1)
