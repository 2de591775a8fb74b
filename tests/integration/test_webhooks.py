"""Webhooks on the database: events recorded in the caller's transaction, delivered after commit (never after a
rollback), signed, retried with back-off until they fail, never sent twice by a re-run job, replayable."""
from __future__ import annotations

import json
import time
from datetime import timedelta

import pytest
from sqlalchemy import event as sa_event
from sqlalchemy import func, select

from app.jobs import run_job
from domain.db import db, utcnow
from domain.webhooks import events as webhook_events
from domain.webhooks import jobs as webhook_jobs
from domain.webhooks import services
from domain.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEvent, WebhookSubscription
from domain.webhooks.signing import verify
from tenants.context import tenant_scope
from tests.clock import PINNED_AT
from tests.factories import make_webhook_subscription
from tests.webhook_support import Receiver, documented, local_receivers_allowed

BILL = {"number": "F-2026-000001", "account_number": "A1", "total_incl_tax": "12.30"}


@pytest.fixture
def receiver():
    with local_receivers_allowed(), Receiver() as running:
        yield running


@pytest.fixture
def dispatched(monkeypatch):
    """The jobs asked for (name, kwargs), instead of running them."""
    asked = []
    monkeypatch.setattr(webhook_events, "dispatch", lambda name, **kw: asked.append((name, kw)))
    return asked


def _count(model) -> int:
    return db.session.scalar(select(func.count(model.id)))


def _deliver(app, tenant_id: int, **kwargs):
    with app.app_context():
        return run_job("webhooks.deliver", tenant_id, kwargs=kwargs)


def test_publishing_without_listeners_is_one_query_and_writes_nothing(app, two_tenants, dispatched):
    a, _b = two_tenants
    with app.app_context(), tenant_scope(a.tenant_id):
        make_webhook_subscription(event_types=("payment.received",))
        make_webhook_subscription(event_types=("bill.issued",), status="paused")
        db.session.commit()
        seen = []
        engine = db.engine
        listener = lambda *args: seen.append(args[2])  # noqa: E731
        sa_event.listen(engine, "before_cursor_execute", listener)
        try:
            webhook_events.publish("bill.issued", [BILL], occurred_at=PINNED_AT)
            webhook_events.publish("bill.issued", [BILL], occurred_at=PINNED_AT)
        finally:
            sa_event.remove(engine, "before_cursor_execute", listener)
        db.session.commit()

        assert len([s for s in seen if "webhook_subscriptions" in s]) == 1
        assert _count(WebhookEvent) == 0 and _count(WebhookDelivery) == 0
    assert dispatched == []


def test_deliveries_are_asked_for_only_after_commit_and_a_rollback_sends_nothing(app, two_tenants, dispatched):
    a, b = two_tenants
    with app.app_context(), tenant_scope(a.tenant_id):
        make_webhook_subscription(event_types=("bill.issued", "payment.received"))
        make_webhook_subscription(event_types=("bill.issued",))
        db.session.commit()

        webhook_events.publish("bill.issued", [BILL, {**BILL, "number": "F-2"}], occurred_at=PINNED_AT)
        assert webhook_events.dispatch_committed() == 0  # not committed yet
        db.session.rollback()
        assert webhook_events.dispatch_committed() == 0
        assert _count(WebhookEvent) == 0

        webhook_events.publish("bill.issued", [BILL, {**BILL, "number": "F-2"}], occurred_at=PINNED_AT)
        db.session.commit()
        assert webhook_events.dispatch_committed() == 4

        assert _count(WebhookEvent) == 2 and _count(WebhookDelivery) == 4
    # The four first attempts in one job (FIRST_ATTEMPTS_PER_JOB to a job).
    [(name, kw)] = dispatched
    assert name == "webhooks.deliver_many" and kw["tenant_id"] == a.tenant_id
    with app.app_context(), tenant_scope(a.tenant_id):
        assert sorted(kw["delivery_ids"]) == sorted(db.session.scalars(select(WebhookDelivery.id)))
    with app.app_context(), tenant_scope(b.tenant_id):
        assert _count(WebhookEvent) == 0


def test_a_delivery_is_posted_signed_to_a_real_receiver(app, two_tenants, receiver):
    a, _b = two_tenants
    with app.app_context(), tenant_scope(a.tenant_id):
        make_webhook_subscription(url=receiver.url, event_types=("bill.issued",), secret="whsec_abc")
        db.session.commit()
        webhook_events.publish("bill.issued", [BILL], occurred_at=PINNED_AT)
        db.session.commit()
        delivery_id = db.session.scalar(select(WebhookDelivery.id))
        event_id = db.session.scalar(select(WebhookEvent.public_id))

    _deliver(app, a.tenant_id, delivery_id=delivery_id, attempt=1)

    [request] = receiver.requests
    body = request["body"]
    assert verify(secret="whsec_abc", header=request["headers"]["Webhook-Signature"], body=body,
                  now=int(time.time()))
    assert not verify(secret="whsec_abc", header=request["headers"]["Webhook-Signature"],
                      body=body.replace(b"12.30", b"1.30"), now=int(time.time()))
    sent = json.loads(body)
    assert sent == {"id": event_id, "type": "bill.issued", "created": int(PINNED_AT.timestamp()), "data": BILL}
    assert request["headers"]["Webhook-Id"] == event_id
    assert request["headers"]["Content-Type"] == "application/json"
    with app.app_context(), tenant_scope(a.tenant_id):
        delivery = db.session.get(WebhookDelivery, delivery_id)
        [attempt] = db.session.scalars(select(WebhookAttempt)).all()
        assert delivery.status == "delivered" and delivery.attempts == 1
        assert attempt.status_code == 200 and attempt.response_excerpt == "ok" and attempt.error is None

    # The job run again (RQ's retry after a crash) sends nothing more.
    result = _deliver(app, a.tenant_id, delivery_id=delivery_id, attempt=1)
    assert "skipped" in result
    assert len(receiver.requests) == 1


def test_a_failing_receiver_is_retried_with_back_off_then_the_delivery_fails(app, two_tenants, receiver,
                                                                               monkeypatch):
    a, _b = two_tenants
    asked = []
    monkeypatch.setattr(webhook_jobs, "dispatch_attempt", lambda **kw: asked.append(kw))
    receiver.answers = [500] * 6
    with app.app_context(), tenant_scope(a.tenant_id):
        make_webhook_subscription(url=receiver.url, event_types=("payment.received",))
        db.session.commit()
        webhook_events.publish("payment.received", [{"amount": "10.00"}], occurred_at=PINNED_AT)
        db.session.commit()
        delivery_id = db.session.scalar(select(WebhookDelivery.id))

    now = PINNED_AT
    waits = []
    for attempt in range(1, 7):
        result = _deliver(app, a.tenant_id, delivery_id=delivery_id, attempt=attempt, now_iso=now.isoformat())
        assert result["delivered"] is False
        if attempt < 6:
            at = asked[-1]["at"]
            waits.append(at - now)
            assert asked[-1]["attempt"] == attempt + 1
            now = at

    assert waits == [timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=30), timedelta(hours=2),
                     timedelta(hours=6)]
    assert result["failed"] is True and len(asked) == 5 and len(receiver.requests) == 6
    with app.app_context(), tenant_scope(a.tenant_id):
        delivery = db.session.get(WebhookDelivery, delivery_id)
        attempts = db.session.scalars(select(WebhookAttempt).order_by(WebhookAttempt.number)).all()
        assert delivery.status == "failed" and delivery.next_attempt_at is None
        assert [x.status_code for x in attempts] == [500] * 6
        assert all(len(x.response_excerpt) == 1000 for x in attempts)  # the answer is kept, capped


def test_a_redirect_is_not_followed_and_an_unreachable_receiver_is_recorded(app, two_tenants, receiver, monkeypatch):
    a, _b = two_tenants
    monkeypatch.setattr(webhook_jobs, "dispatch_attempt", lambda **kw: None)
    receiver.answers = [302]
    with app.app_context(), tenant_scope(a.tenant_id):
        make_webhook_subscription(url=receiver.url, event_types=("payment.received",))
        make_webhook_subscription(url="http://127.0.0.1:9/closed", event_types=("payment.received",))
        db.session.commit()
        webhook_events.publish("payment.received", [{"amount": "10.00"}], occurred_at=PINNED_AT)
        db.session.commit()
        ids = db.session.scalars(select(WebhookDelivery.id).order_by(WebhookDelivery.id)).all()

    for delivery_id in ids:
        _deliver(app, a.tenant_id, delivery_id=delivery_id, attempt=1)

    assert len(receiver.requests) == 1
    with app.app_context(), tenant_scope(a.tenant_id):
        redirected, closed = (db.session.scalar(select(WebhookAttempt).where(WebhookAttempt.delivery_id == i))
                              for i in ids)
        assert redirected.status_code == 302
        assert closed.status_code is None and closed.error
        assert {d.status for d in db.session.scalars(select(WebhookDelivery))} == {"pending"}


def test_without_the_platform_switch_a_local_receiver_is_refused_at_connection(app, two_tenants, monkeypatch):
    a, _b = two_tenants
    monkeypatch.setattr(webhook_jobs, "dispatch_attempt", lambda **kw: None)
    with Receiver() as running, app.app_context(), tenant_scope(a.tenant_id):
        make_webhook_subscription(url=running.url.replace("http:", "https:"), event_types=("bill.issued",))
        db.session.commit()
        webhook_events.publish("bill.issued", [BILL], occurred_at=PINNED_AT)
        db.session.commit()
        delivery_id = db.session.scalar(select(WebhookDelivery.id))
        result = webhook_jobs.deliver(delivery_id=delivery_id, attempt=1)
        db.session.commit()

        assert result["delivered"] is False and running.requests == []
        assert db.session.scalar(select(WebhookAttempt.error)).startswith("refused: private")


def test_a_replay_sends_a_delivered_event_once_more_and_a_test_event_goes_to_one_subscription(app, two_tenants,
                                                                                               receiver, monkeypatch):
    a, _b = two_tenants
    monkeypatch.setitem(app.config, "REDIS_URL", None)  # jobs in-process
    with app.app_context(), tenant_scope(a.tenant_id):
        subscription = make_webhook_subscription(url=receiver.url, event_types=("bill.issued",), secret="whsec_x")
        make_webhook_subscription(url=receiver.url, event_types=("bill.issued",), status="paused")
        db.session.commit()
        webhook_events.publish("bill.issued", [BILL], occurred_at=PINNED_AT)
        db.session.commit()
        webhook_events.dispatch_committed()  # in-process: the job runs now
        delivery = db.session.scalar(select(WebhookDelivery))
        assert delivery.status == "delivered" and len(receiver.requests) == 1

        services.replay(delivery=delivery, now=PINNED_AT + timedelta(hours=1))
        db.session.commit()
        webhook_events.dispatch_committed()
        services.send_test_event(subscription=subscription, now=PINNED_AT)
        db.session.commit()
        webhook_events.dispatch_committed()

        delivery = db.session.scalar(select(WebhookDelivery).where(WebhookDelivery.id == delivery.id))
        assert delivery.status == "delivered" and delivery.attempts == 2
    assert len(receiver.requests) == 3
    assert receiver.requests[0]["body"] == receiver.requests[1]["body"]  # the same event, byte for byte
    test_event = json.loads(receiver.requests[2]["body"])
    assert test_event["type"] == "webhook.test" and documented("webhook.test", test_event["data"])


def test_a_subscription_is_saved_with_a_sealed_secret_shown_once_and_refuses_private_urls(app, two_tenants):
    a, _b = two_tenants
    with app.app_context(), tenant_scope(a.tenant_id):
        with pytest.raises(services.SubscriptionRefused) as refused:
            services.create_subscription(url="https://169.254.169.254/x", event_types=["bill.issued"],
                                         description=None, now=PINNED_AT)
        assert refused.value.code == "private"
        with pytest.raises(services.SubscriptionRefused) as refused:
            services.create_subscription(url="https://93.184.216.34/x", event_types=[], description=None,
                                         now=PINNED_AT)
        assert refused.value.field == "event_types"

        saved = services.create_subscription(url="https://93.184.216.34/x", event_types=["bill.issued"],
                                             description="ERP", now=PINNED_AT)
        db.session.commit()

        assert saved.secret.startswith("whsec_")
        assert saved.secret not in saved.subscription.secret_sealed
        rolled = services.roll_secret(subscription=saved.subscription, now=PINNED_AT)
        assert rolled != saved.secret


def test_the_daily_job_asks_again_for_lost_deliveries_and_purges_old_finished_ones(app, two_tenants, monkeypatch):
    a, _b = two_tenants
    asked = []
    monkeypatch.setattr(webhook_jobs, "dispatch_attempt", lambda **kw: asked.append(kw))
    old, recent = PINNED_AT - timedelta(days=100), PINNED_AT - timedelta(days=1)
    with app.app_context(), tenant_scope(a.tenant_id):
        subscription = make_webhook_subscription(event_types=("bill.issued",))
        rows = {}
        for name, moment, status in (("old_done", old, "delivered"), ("old_failed", old, "failed"),
                                     ("old_waiting", old, "pending"), ("recent_done", recent, "delivered")):
            event = WebhookEvent(event_type="bill.issued", occurred_at=moment, payload="{}")
            db.session.add(event)
            db.session.flush()
            delivery = WebhookDelivery(subscription_id=subscription.id, event_id=event.id, status=status,
                                       attempts=2, created_at=moment, next_attempt_at=moment)
            db.session.add(delivery)
            db.session.flush()
            db.session.add(WebhookAttempt(delivery_id=delivery.id, number=1, attempted_at=moment, duration_ms=1))
            rows[name] = delivery.id
        db.session.commit()

    result = _deliver_daily(app, a.tenant_id)

    assert result == {"asked_again": 1, "purged_events": 2}
    assert [(kw["delivery_id"], kw["attempt"]) for kw in asked] == [(rows["old_waiting"], 3)]
    with app.app_context(), tenant_scope(a.tenant_id):
        left = set(db.session.scalars(select(WebhookDelivery.id)))
        assert left == {rows["old_waiting"], rows["recent_done"]}
        assert _count(WebhookEvent) == 2 and _count(WebhookAttempt) == 2


def test_the_daily_job_asks_again_for_lost_first_attempts_a_hundred_to_a_job(app, two_tenants, dispatched):
    """Redis emptied after a billing run published its bills: the deliveries never attempted go back in jobs of a
    hundred, as after the commit, not a job each."""
    a, _b = two_tenants
    ids = _bills_published(app, a.tenant_id, 150, at=PINNED_AT - timedelta(hours=2), asked=False)

    result = _deliver_daily(app, a.tenant_id)

    assert result["asked_again"] == 150
    assert [(name, kw["delivery_ids"]) for name, kw in dispatched] == [
        ("webhooks.deliver_many", ids[:100]), ("webhooks.deliver_many", ids[100:])]


def test_without_workers_the_sweep_command_sends_the_retries_whose_time_has_come(app, two_tenants, receiver,
                                                                                  monkeypatch):
    """The embedded default: nothing in-process waits for a retry's moment; `flask jobs sweep` (cron, every
    minute) sends each retry once its time has come, and not before."""
    from tests import clock

    a, _b = two_tenants
    monkeypatch.setitem(app.config, "REDIS_URL", None)  # jobs in-process
    receiver.answers = [503]
    with app.app_context(), tenant_scope(a.tenant_id):
        make_webhook_subscription(url=receiver.url, event_types=("bill.issued",))
        db.session.commit()
        webhook_events.publish("bill.issued", [BILL], occurred_at=utcnow())
        db.session.commit()
        webhook_events.dispatch_committed()  # the first attempt, in-process now: 503
    runner = app.test_cli_runner()

    early = runner.invoke(args=["jobs", "sweep"])
    early_requests = len(receiver.requests)
    clock.advance(61)  # the first retry comes a minute after
    due = runner.invoke(args=["jobs", "sweep"])

    assert early.exit_code == 0 and early_requests == 1
    assert due.exit_code == 0 and "webhooks: swept" in due.output
    assert len(receiver.requests) == 2
    with app.app_context(), tenant_scope(a.tenant_id):
        delivery = db.session.scalar(select(WebhookDelivery))
        assert (delivery.status, delivery.attempts) == ("delivered", 2)


def _bills_published(app, tenant_id: int, count: int, *, url: str = "https://hooks.example.test/in",
                     at=PINNED_AT, asked: bool = True) -> list[int]:
    """`count` bills published as `bill.issued` to one subscription and committed, their first attempts asked for
    (`asked=False`: their jobs lost, never asked for). Returns the deliveries' ids in order."""
    with app.app_context(), tenant_scope(tenant_id):
        make_webhook_subscription(url=url, event_types=("bill.issued",))
        db.session.commit()
        webhook_events.publish("bill.issued", [{**BILL, "number": f"F-{n}"} for n in range(count)], occurred_at=at)
        db.session.commit()
        if asked:
            assert webhook_events.dispatch_committed() == count
        else:
            db.session.info.pop(webhook_events._COMMITTED, None)
        return list(db.session.scalars(select(WebhookDelivery.id).order_by(WebhookDelivery.id)))


def _deliver_daily(app, tenant_id: int):
    with app.app_context():
        return run_job("webhooks.daily", tenant_id, kwargs={"now_iso": PINNED_AT.isoformat()})


def test_a_paused_subscription_sends_nothing_until_it_is_resumed_then_what_waited_goes(app, two_tenants, receiver,
                                                                                       monkeypatch):
    a, _b = two_tenants
    monkeypatch.setattr(webhook_jobs, "dispatch_attempt", lambda **kw: None)
    receiver.answers = [500]
    with app.app_context(), tenant_scope(a.tenant_id):
        subscription_id = make_webhook_subscription(url=receiver.url, event_types=("payment.received",)).id
        db.session.commit()
        webhook_events.publish("payment.received", [{"amount": "10.00"}], occurred_at=PINNED_AT)
        db.session.commit()
        delivery_id = db.session.scalar(select(WebhookDelivery.id))
    assert _deliver(app, a.tenant_id, delivery_id=delivery_id, attempt=1)["delivered"] is False  # a retry waits
    with app.app_context(), tenant_scope(a.tenant_id):
        services.set_status(subscription=_subscription(subscription_id), status="paused", now=PINNED_AT)
        db.session.commit()

    # The retry's job comes while the utility has paused it: nothing is sent, the delivery still waits.
    assert _deliver(app, a.tenant_id, delivery_id=delivery_id, attempt=2) == {"skipped": "subscription paused"}
    assert len(receiver.requests) == 1
    with app.app_context(), tenant_scope(a.tenant_id):
        delivery = db.session.get(WebhookDelivery, delivery_id)
        assert (delivery.status, delivery.attempts) == ("pending", 1)
        # A test event still goes to a paused subscription (the administrator asked for it).
        test = services.send_test_event(subscription=_subscription(subscription_id), now=PINNED_AT)
        db.session.commit()
        test_id = test.id
    assert _deliver(app, a.tenant_id, delivery_id=test_id, attempt=1)["delivered"] is True

    asked = []
    monkeypatch.setattr(webhook_events, "dispatch", lambda name, **kw: asked.append(kw))
    with app.app_context(), tenant_scope(a.tenant_id):
        services.set_status(subscription=_subscription(subscription_id), status="active", now=PINNED_AT)
        db.session.commit()
        webhook_events.dispatch_committed()
    assert [(kw["delivery_id"], kw["attempt"]) for kw in asked] == [(delivery_id, 2)]
    assert _deliver(app, a.tenant_id, delivery_id=delivery_id, attempt=2)["delivered"] is True
    assert len(receiver.requests) == 3


def _subscription(subscription_id: int) -> WebhookSubscription:
    return db.session.get(WebhookSubscription, subscription_id)


def test_first_attempts_go_a_hundred_to_a_job_each_recorded_and_a_rerun_job_sends_nothing_twice(
        app, two_tenants, receiver, dispatched, monkeypatch):
    """A billing chunk or a batch of readings publishes hundreds of events: their first attempts are asked for a
    hundred to a job, not one job each; the job posts each in order, records each attempt as it goes, and run again
    (RQ's retry after a crash) sends none of them again."""
    a, _b = two_tenants
    monkeypatch.setattr(webhook_jobs, "dispatch_attempt", lambda **kw: None)  # the failed one's retry: not here
    receiver.answers = [200, 200, 503] + [200] * 300
    ids = _bills_published(app, a.tenant_id, 250, url=receiver.url)

    assert [name for name, _kw in dispatched] == ["webhooks.deliver_many"] * 3
    assert [kw["delivery_ids"] for _name, kw in dispatched] == [ids[:100], ids[100:200], ids[200:]]
    assert len({kw["job_id"] for _name, kw in dispatched}) == 3

    first = dispatched[0][1]
    with app.app_context():
        result = run_job("webhooks.deliver_many", a.tenant_id, kwargs={"delivery_ids": first["delivery_ids"]})
    assert result == {"delivered": 99, "not_delivered": 1, "skipped": 0, "errors": 0}
    numbers = [json.loads(r["body"])["data"]["number"] for r in receiver.requests]
    assert numbers == [f"F-{n}" for n in range(100)]

    with app.app_context():
        again = run_job("webhooks.deliver_many", a.tenant_id, kwargs={"delivery_ids": first["delivery_ids"]})
    assert again["skipped"] == 100 and len(receiver.requests) == 100
    with app.app_context(), tenant_scope(a.tenant_id):
        statuses = dict(db.session.execute(select(WebhookDelivery.id, WebhookDelivery.status)).all())
        assert [statuses[i] for i in ids[:4]] == ["delivered", "delivered", "pending", "delivered"]
        assert all(statuses[i] == "pending" for i in ids[100:])
        assert _count(WebhookAttempt) == 100


def test_a_job_of_first_attempts_out_of_time_leaves_the_rest_to_another_job(app, two_tenants, receiver, dispatched,
                                                                            monkeypatch):
    a, _b = two_tenants
    monkeypatch.setattr(webhook_jobs, "MANY_BUDGET_SECONDS", 0.0)  # out of time after the first attempt
    ids = _bills_published(app, a.tenant_id, 3, url=receiver.url)
    dispatched.clear()

    with app.app_context():
        result = run_job("webhooks.deliver_many", a.tenant_id, kwargs={"delivery_ids": ids})

    assert result["delivered"] == 1 and result["left_for_another_job"] == 2 and len(receiver.requests) == 1
    [(name, kw)] = dispatched
    assert name == "webhooks.deliver_many" and kw["delivery_ids"] == ids[1:]
