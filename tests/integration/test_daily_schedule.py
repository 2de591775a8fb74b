"""Each tenant's daily jobs run once per local day: contracts reaching their move-out date end, expired
sessions go; on Redis, several workers dispatch a tenant day once."""
from __future__ import annotations

import os
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from app.schedule import TenantDay, claim, run_due, started_days
from domain.contracts.models import Contract
from domain.db import db
from domain.identity.models import LoginSession
from tenants.context import tenant_scope
from tests.factories import ContractFactory


def test_a_tenant_day_starts_at_two_in_the_morning_local_time():
    paris, new_york = (1, "Europe/Paris"), (2, "America/New_York")

    before = started_days([paris, new_york], datetime(2026, 11, 28, 0, 30, tzinfo=UTC))  # 01:30 Paris
    after = started_days([paris, new_york], datetime(2026, 11, 28, 1, 30, tzinfo=UTC))  # 02:30 Paris

    assert before == [TenantDay(1, date(2026, 11, 27)), TenantDay(2, date(2026, 11, 27))]  # 19:30 in New York
    assert after == [TenantDay(1, date(2026, 11, 28)), TenantDay(2, date(2026, 11, 27))]


def _tenant_with_due_work(app, make_tenant):
    tenant = make_tenant("daily")
    with app.app_context(), tenant_scope(tenant.id):
        moved_out = ContractFactory(end_date=date(2026, 11, 20))
        staying = ContractFactory()
        now = datetime.now(UTC)
        db.session.add(LoginSession(token_hash="a" * 64, user_kind="customer", user_id=1,
                                    created_at=now - timedelta(days=40), expires_at=now - timedelta(days=10)))
        db.session.commit()
        return tenant.id, tenant.slug, moved_out.id, staying.id


def test_the_daily_command_ends_reached_contracts_and_purges_sessions(app, make_tenant, monkeypatch):
    monkeypatch.setitem(app.config, "REDIS_URL", None)
    tenant_id, slug, moved_out_id, staying_id = _tenant_with_due_work(app, make_tenant)

    result = app.test_cli_runner().invoke(args=["jobs", "daily", "--tenant", slug])

    assert result.exit_code == 0, result.output
    assert "requests.end_contracts_reached" in result.output
    with app.app_context(), tenant_scope(tenant_id):
        statuses = dict(db.session.execute(select(Contract.id, Contract.status)).all())
        assert statuses == {moved_out_id: "ended", staying_id: "active"}
        assert db.session.scalar(select(LoginSession.id)) is None


def test_an_unknown_tenant_is_refused(app):
    result = app.test_cli_runner().invoke(args=["jobs", "daily", "--tenant", "nowhere"])
    assert result.exit_code != 0
    assert "no tenant 'nowhere'" in result.output


@pytest.fixture
def redis_conn():
    url = os.environ.get("REDIS_URL")
    if not url:
        pytest.skip("needs Redis (REDIS_URL): the claim of a tenant day is a Redis SET NX")
    from redis import Redis
    conn = Redis.from_url(url)
    for key in conn.scan_iter("schedule:daily:*"):
        conn.delete(key)
    yield conn
    for key in conn.scan_iter("schedule:daily:*"):
        conn.delete(key)


def test_a_tenant_day_is_claimed_once_across_workers(redis_conn):
    day = TenantDay(7, date(2026, 11, 28))

    assert claim(redis_conn, day) is True
    assert claim(redis_conn, day) is False
    assert claim(redis_conn, TenantDay(7, date(2026, 11, 29))) is True


def test_two_scheduler_ticks_dispatch_a_tenant_day_once(app, make_tenant, redis_conn, monkeypatch):
    monkeypatch.setitem(app.config, "REDIS_URL", None)  # the jobs themselves run in-process here
    tenant_id, _slug, moved_out_id, _ = _tenant_with_due_work(app, make_tenant)
    now = datetime.now(UTC)

    first = run_due(app, redis_conn, now)
    second = run_due(app, redis_conn, now)

    assert [d.tenant_id for d in first].count(tenant_id) == 1
    assert [d.tenant_id for d in second].count(tenant_id) == 0
    with app.app_context(), tenant_scope(tenant_id):
        assert db.session.get(Contract, moved_out_id).status == "ended"
