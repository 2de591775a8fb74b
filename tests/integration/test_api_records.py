"""What API keys leave behind: calls kept 90 days, idempotent answers a day; the daily job purges the rest."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from domain.apikeys import services as keys
from domain.apikeys.jobs import purge_api_records
from domain.apikeys.models import ApiCall, ApiIdempotentAnswer
from domain.db import db, utcnow
from tenants.context import tenant_scope


def test_old_calls_and_answers_are_purged_recent_ones_kept(app, two_tenants):
    a, b = two_tenants
    now = utcnow()
    for tenant in (a, b):
        with app.app_context(), tenant_scope(tenant.tenant_id):
            key, _token = keys.create_key(tenant_slug="x", name="ERP", scopes={"bills:read"}, now=now)
            for age in (timedelta(days=91), timedelta(days=89)):
                keys.record_call(key_id=key.id, called_at=now - age, method="GET", endpoint="/api/v1/key",
                                 status=200, duration_ms=3, error_code=None)
            for number, age in enumerate((timedelta(hours=25), timedelta(hours=23))):
                keys.keep_answer(key_id=key.id, idempotency_key=f"k{number}", request_digest="0" * 64, status=200,
                                 body=b"{}", now=now - age)
            db.session.commit()

    with app.app_context(), tenant_scope(a.tenant_id):
        result = purge_api_records(now_iso=now.isoformat())
        db.session.commit()
        again = purge_api_records(now_iso=now.isoformat())

        assert result == {"calls": 1, "answers": 1} and again == {"calls": 0, "answers": 0}
        assert db.session.scalar(select(func.count(ApiCall.id))) == 1
        assert db.session.scalar(select(ApiIdempotentAnswer.idempotency_key)) == "k1"
    with app.app_context(), tenant_scope(b.tenant_id):
        assert db.session.scalar(select(func.count(ApiCall.id))) == 2  # another utility's records are its own job's


def test_an_expired_answer_no_longer_replays_and_its_key_can_be_used_again(app, two_tenants):
    a, _b = two_tenants
    now = utcnow()
    with app.app_context(), tenant_scope(a.tenant_id):
        key, _token = keys.create_key(tenant_slug="alpha", name="ERP", scopes={"bills:read"}, now=now)
        keys.keep_answer(key_id=key.id, idempotency_key="batch-1", request_digest="a" * 64, status=200,
                         body=b"{}", now=now - timedelta(hours=25))
        db.session.commit()

        assert keys.kept_answer(key_id=key.id, idempotency_key="batch-1", now=now) is None
        keys.keep_answer(key_id=key.id, idempotency_key="batch-1", request_digest="b" * 64, status=201, body=b"[]",
                         now=now)
        db.session.commit()
        assert keys.kept_answer(key_id=key.id, idempotency_key="batch-1", now=now).status == 201
