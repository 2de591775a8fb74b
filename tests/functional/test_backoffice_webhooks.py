"""The administrator's webhook pages: a subscription is added (its secret shown once, sealed at rest), refused with
a clear message for a private address (nothing saved), paused, edited, sent a test event that a real local receiver
gets signed, its deliveries listed with their answers and sent again; only administrators reach the pages."""
from __future__ import annotations

import html
import json
import re
import time

import pytest
from sqlalchemy import func, select

from domain.db import db, utcnow
from domain.webhooks import events as webhook_events
from domain.webhooks.models import WebhookDelivery, WebhookEvent, WebhookSubscription
from domain.webhooks.signing import verify
from tenants.context import tenant_scope
from tests.webhook_support import Receiver, local_receivers_allowed

SECRET = re.compile(r'id="signing-secret">(whsec_[0-9a-f]+)<')


@pytest.fixture
def admin(browser, two_tenants):
    a, _b = two_tenants
    office = browser(a.slug)
    office.login(a.staff_emails["tenant_admin"], area="/backoffice")
    return office


def _subscriptions(app, data) -> list[WebhookSubscription]:
    with app.app_context(), tenant_scope(data.tenant_id):
        return list(db.session.scalars(select(WebhookSubscription)))


def test_a_private_address_is_refused_with_a_message_and_nothing_is_saved(app, admin, two_tenants):
    a, _b = two_tenants

    for url in ("https://127.0.0.1/hooks", "https://10.0.0.8/hooks", "https://169.254.169.254/latest",
                "https://[::1]/hooks", "https://[::ffff:127.0.0.1]/hooks"):
        answer = admin.submit("/backoffice/admin/webhooks", {"url": url, "event_types": ["bill.issued"]})

        assert answer.status_code == 422
        assert "private or local network" in html.unescape(answer.get_data(as_text=True))
    no_events = admin.submit("/backoffice/admin/webhooks", {"url": "https://93.184.216.34/h"})
    assert no_events.status_code == 422 and "Choose at least one event." in no_events.get_data(as_text=True)
    plain = admin.submit("/backoffice/admin/webhooks",
                         {"url": "http://93.184.216.34/h", "event_types": ["bill.issued"]})
    assert plain.status_code == 422 and "https://" in plain.get_data(as_text=True)
    assert _subscriptions(app, a) == []


def test_the_secret_is_shown_once_and_a_test_event_reaches_the_receiver_signed(app, admin, two_tenants, monkeypatch):
    a, _b = two_tenants
    monkeypatch.setitem(app.config, "REDIS_URL", None)  # the delivery job runs in-process, after the request
    with local_receivers_allowed(), Receiver() as receiver:
        created = admin.submit("/backoffice/admin/webhooks", {
            "url": receiver.url, "description": "ERP", "event_types": ["bill.issued", "payment.received"]})
        assert created.status_code == 201 and created.headers["Cache-Control"] == "no-store"
        secret = SECRET.search(created.get_data(as_text=True)).group(1)
        [subscription] = _subscriptions(app, a)
        assert subscription.event_types == ["bill.issued", "payment.received"]
        assert secret not in subscription.secret_sealed
        page = admin.get(f"/backoffice/admin/webhooks/{subscription.public_id}").get_data(as_text=True)
        assert secret not in page and receiver.url in page

        sent = admin.submit(f"/backoffice/admin/webhooks/{subscription.public_id}", {},
                            action=f"/backoffice/admin/webhooks/{subscription.public_id}/test")

        assert sent.status_code == 302
        [request] = receiver.requests
        assert verify(secret=secret, header=request["headers"]["Webhook-Signature"], body=request["body"],
                      now=int(time.time()))
        assert json.loads(request["body"])["type"] == "webhook.test"
        page = admin.get(f"/backoffice/admin/webhooks/{subscription.public_id}").get_data(as_text=True)
        assert "webhook.test" in page and "HTTP 200" in page and "Delivered" in page

        delivery = _one_delivery(app, a)
        again = admin.submit(f"/backoffice/admin/webhooks/{subscription.public_id}", {},
                             action=f"/backoffice/admin/webhooks/{subscription.public_id}/deliveries/{delivery}/replay")
        assert again.status_code == 302 and len(receiver.requests) == 2
        assert receiver.requests[0]["body"] == receiver.requests[1]["body"]

        # Paused, an event sent again waits for the subscription to be resumed, and goes then.
        path = f"/backoffice/admin/webhooks/{subscription.public_id}"
        with app.app_context(), tenant_scope(a.tenant_id):
            webhook_events.publish("payment.received", [{"amount": "10.00"}], occurred_at=utcnow())
            db.session.commit()
            payment = db.session.scalar(select(WebhookDelivery.public_id).join(
                WebhookEvent, WebhookEvent.id == WebhookDelivery.event_id).where(
                WebhookEvent.event_type == "payment.received"))
        admin.submit(path, {"status": "paused"}, action=f"{path}/status")
        waiting = admin.submit(path, {}, action=f"{path}/deliveries/{payment}/replay")
        told = admin.get(waiting.headers["Location"]).get_data(as_text=True)
        assert "The event will be sent again once the subscription is resumed." in told
        assert len(receiver.requests) == 2
        admin.submit(path, {"status": "active"}, action=f"{path}/status")
        assert len(receiver.requests) == 3 and json.loads(receiver.requests[2]["body"])["type"] == "payment.received"

        rolled = admin.submit(f"/backoffice/admin/webhooks/{subscription.public_id}", {"confirm": "y"},
                              action=f"/backoffice/admin/webhooks/{subscription.public_id}/secret")
        new_secret = SECRET.search(rolled.get_data(as_text=True)).group(1)
        assert new_secret != secret


def _one_delivery(app, data) -> str:
    with app.app_context(), tenant_scope(data.tenant_id):
        return db.session.scalar(select(WebhookDelivery.public_id))


def test_pause_edit_and_delete(app, admin, two_tenants):
    a, _b = two_tenants
    admin.submit("/backoffice/admin/webhooks", {"url": "https://93.184.216.34/h", "event_types": ["bill.issued"]})
    [subscription] = _subscriptions(app, a)
    path = f"/backoffice/admin/webhooks/{subscription.public_id}"

    paused = admin.submit(path, {"status": "paused"}, action=f"{path}/status")
    edited = admin.submit(path, {"url": "https://93.184.216.34/other", "event_types": ["customer.updated"],
                                 "description": "CRM"})
    [changed] = _subscriptions(app, a)
    unconfirmed = admin.submit(path, {}, action=f"{path}/delete")
    deleted = admin.submit(path, {"confirm": "y"}, action=f"{path}/delete")

    assert paused.status_code == edited.status_code == 302
    assert (changed.status, changed.url, changed.event_types, changed.description) == (
        "paused", "https://93.184.216.34/other", ["customer.updated"], "CRM")
    assert unconfirmed.status_code == 422
    assert deleted.status_code == 302 and _subscriptions(app, a) == []


def test_only_administrators_reach_the_webhook_pages(app, browser, two_tenants):
    a, _b = two_tenants
    agent = browser(a.slug)
    agent.login(a.staff_emails["agent"], area="/backoffice")

    assert agent.get("/backoffice/admin/webhooks").status_code == 403
    with app.app_context(), tenant_scope(a.tenant_id):
        assert db.session.scalar(select(func.count(WebhookSubscription.id))) == 0


def test_deliveries_are_listed_latest_first_fifty_a_page(app, admin, two_tenants):
    from domain.webhooks.events import record
    from tests.clock import PINNED_AT
    from tests.factories import make_webhook_subscription

    a, _b = two_tenants
    with app.app_context(), tenant_scope(a.tenant_id):
        subscription = make_webhook_subscription()
        record("bill.issued", [{"number": f"F-{n}"} for n in range(51)], occurred_at=PINNED_AT,
               subscription_ids=[subscription.id])
        db.session.commit()
        public_id = subscription.public_id
    path = f"/backoffice/admin/webhooks/{public_id}"

    first = admin.get(path).get_data(as_text=True)
    older = re.search(r'href="([^"]+after=[^"]+)"', first).group(1)
    second = admin.get(html.unescape(older)).get_data(as_text=True)

    assert first.count(">Send again<") == 50 and second.count(">Send again<") == 1
    assert "Older deliveries" not in second
