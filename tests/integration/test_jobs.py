"""Jobs run through one code path: in-process without Redis, on a real RQ worker with it."""
from __future__ import annotations

import os
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.jobs import enqueue_now, run_job
from domain.db import db, utcnow
from domain.identity import services as identity
from domain.identity.models import LoginSession
from tests.clock import pinned_command, pinned_env
from tenants.context import NoTenantContext, current_tenant_id, tenant_scope

ROOT = Path(__file__).resolve().parents[2]


def _sessions(app, tenant_id: int) -> int:
    with app.app_context(), tenant_scope(tenant_id):
        return db.session.scalar(select(func.count(LoginSession.id)))


def _expired_and_live_sessions(app, tenant_id: int) -> None:
    with app.app_context(), tenant_scope(tenant_id):
        past = utcnow() - timedelta(days=2)
        identity.open_session(user_kind="customer", user_id=1, now=past, lifetime=timedelta(hours=1))
        identity.open_session(user_kind="customer", user_id=1, now=utcnow(), lifetime=timedelta(hours=1))
        db.session.commit()


def test_job_runs_in_its_tenant_and_commits(app, two_tenants):
    a, b = two_tenants
    _expired_and_live_sessions(app, a.tenant_id)
    _expired_and_live_sessions(app, b.tenant_id)

    with app.app_context():
        result = run_job("identity.purge_expired_sessions", a.tenant_id, None, {"now_iso": utcnow().isoformat()})

    assert result == {"sessions": 1, "reset_tokens": 0}
    assert _sessions(app, a.tenant_id) == 1
    assert _sessions(app, b.tenant_id) == 2  # the other tenant's rows were out of reach
    assert current_tenant_id() is None  # the job left no tenant behind


def test_job_is_idempotent(app, two_tenants):
    a, _ = two_tenants
    _expired_and_live_sessions(app, a.tenant_id)
    now_iso = utcnow().isoformat()

    with app.app_context():
        run_job("identity.purge_expired_sessions", a.tenant_id, None, {"now_iso": now_iso})
        again = run_job("identity.purge_expired_sessions", a.tenant_id, None, {"now_iso": now_iso})

    assert again == {"sessions": 0, "reset_tokens": 0}
    assert _sessions(app, a.tenant_id) == 1


def test_job_function_outside_a_tenant_cannot_touch_tenant_data(app, two_tenants):
    from domain.identity.jobs import purge_expired_sessions

    with app.app_context(), pytest.raises(NoTenantContext):
        purge_expired_sessions(now_iso=utcnow().isoformat())


def test_enqueue_without_redis_runs_in_process(app, two_tenants):
    if app.config.get("REDIS_URL"):
        pytest.skip("REDIS_URL is set: jobs go to RQ (covered by the worker test)")
    a, _ = two_tenants
    _expired_and_live_sessions(app, a.tenant_id)

    with app.app_context():
        job_id = enqueue_now("identity.purge_expired_sessions", tenant_id=a.tenant_id,
                             now_iso=utcnow().isoformat())

    assert job_id is None
    assert _sessions(app, a.tenant_id) == 1


@pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs a real Redis (set REDIS_URL)")
def test_real_worker_in_burst_mode_runs_the_job(app, two_tenants):
    from redis import Redis

    a, _ = two_tenants
    _expired_and_live_sessions(app, a.tenant_id)
    Redis.from_url(os.environ["REDIS_URL"]).flushdb()

    with app.app_context():
        job_id = enqueue_now("identity.purge_expired_sessions", tenant_id=a.tenant_id,
                             now_iso=utcnow().isoformat())
    env = {
        **os.environ,
        "APP_ENV": "test",
        "SECRET_KEY": app.config["SECRET_KEY"],
        "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "INSTANCE_DIR": str(app.instance_path),
        "REDIS_URL": os.environ["REDIS_URL"],
        "WORKER_BURST": "1",
    }
    done = subprocess.run(pinned_command("worker.py"), cwd=ROOT, env=pinned_env(env), capture_output=True, text=True,
                          timeout=120)

    assert job_id
    assert done.returncode == 0, done.stderr[-2000:]
    assert _sessions(app, a.tenant_id) == 1


@pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs a real Redis (set REDIS_URL)")
def test_billing_jobs_are_given_back_to_the_queue_if_their_process_dies(app, two_tenants):
    # RQ retries a job whose work horse died (killed, out of memory) only if it has retries left: the billing
    # jobs are idempotent and get them; a job that sends mail or is not idempotent does not.
    from redis import Redis
    from rq.job import Job
    from rq.serializers import JSONSerializer

    a, _ = two_tenants
    redis = Redis.from_url(os.environ["REDIS_URL"])
    redis.flushdb()
    with app.app_context():
        chunk = enqueue_now("billing.bill_chunk", tenant_id=a.tenant_id, run_id=1, chunk_number=1)
        purge = enqueue_now("identity.purge_expired_sessions", tenant_id=a.tenant_id, now_iso=utcnow().isoformat())

    assert Job.fetch(chunk, connection=redis, serializer=JSONSerializer).retries_left == 3
    assert not Job.fetch(purge, connection=redis, serializer=JSONSerializer).retries_left
    redis.flushdb()
