"""Isolation cases of the administration's webhooks: tenant A's administrator neither sees nor changes B's
subscriptions, deliveries or secrets; B's identifiers answer 404 exactly like missing ones."""
from __future__ import annotations

from sqlalchemy import select

from domain.db import db
from domain.webhooks.models import WebhookDelivery, WebhookEvent, WebhookSubscription
from tenants.context import tenant_scope
from tests.clock import PINNED_AT
from tests.factories import make_webhook_subscription

B_URL = "https://bravo-erp.example.test/hooks"


def _subscription(app, data, url: str, secret: str = "whsec_bravo_secret") -> tuple[str, str]:
    """(subscription public id, delivery public id) of a subscription of `data`'s tenant with one delivery."""
    with app.app_context(), tenant_scope(data.tenant_id):
        subscription = make_webhook_subscription(url=url, event_types=("bill.issued",), secret=secret)
        event = WebhookEvent(event_type="bill.issued", occurred_at=PINNED_AT, payload='{"number":"B-1"}')
        db.session.add(event)
        db.session.flush()
        delivery = WebhookDelivery(subscription_id=subscription.id, event_id=event.id, status="delivered",
                                   attempts=1, created_at=PINNED_AT)
        db.session.add(delivery)
        db.session.commit()
        return subscription.public_id, delivery.public_id


def _b_state(app, b):
    with app.app_context(), tenant_scope(b.tenant_id):
        row = db.session.scalar(select(WebhookSubscription))
        deliveries = db.session.scalars(select(WebhookDelivery)).all()
        return row.url, row.status, row.secret_sealed, [(d.status, d.attempts) for d in deliveries]


def _admin(browser, a):
    office = browser(a.slug)
    office.login(a.staff_emails["tenant_admin"], area="/backoffice")
    return office


def _refused_like_missing(app, browser, a, b, suffix: str, data: dict | None = None, method: str = "post"):
    b_sub, b_delivery = _subscription(app, b, B_URL)
    a_sub, _a_delivery = _subscription(app, a, "https://alpha-erp.example.test/hooks")
    before = _b_state(app, b)
    office = _admin(browser, a)
    path = f"/backoffice/admin/webhooks/{{sub}}{suffix}".replace("{delivery}", b_delivery)
    if method == "get":
        foreign, missing = (office.get(path.format(sub=s)) for s in (b_sub, "no-such-subscription"))
    else:
        token = office.csrf(f"/backoffice/admin/webhooks/{a_sub}")
        fields = {**(data or {}), "csrf_token": token}
        foreign, missing = (office.post(path.format(sub=s), data=fields) for s in (b_sub, "no-such-subscription"))
    assert foreign.status_code == missing.status_code == 404
    assert B_URL not in foreign.get_data(as_text=True)
    assert _b_state(app, b) == before
    return office, a_sub, b_sub, b_delivery


def case_admin_webhooks_page(app, browser, a, b):
    _subscription(app, b, B_URL)
    page = _admin(browser, a).get("/backoffice/admin/webhooks")
    assert page.status_code == 200
    assert B_URL not in page.get_data(as_text=True) and "No subscription yet" in page.get_data(as_text=True)


def case_admin_webhook_create(app, browser, a, b):
    _subscription(app, b, B_URL)
    before = _b_state(app, b)
    created = _admin(browser, a).submit("/backoffice/admin/webhooks", {
        "url": "https://93.184.216.34/a-hooks", "event_types": ["payment.received"]})
    assert created.status_code == 201 and B_URL not in created.get_data(as_text=True)
    assert _b_state(app, b) == before
    with app.app_context(), tenant_scope(a.tenant_id):
        assert db.session.scalar(select(WebhookSubscription.url)) == "https://93.184.216.34/a-hooks"


def case_admin_webhook_page(app, browser, a, b):
    _refused_like_missing(app, browser, a, b, "", method="get")


def case_admin_webhook_save(app, browser, a, b):
    _refused_like_missing(app, browser, a, b, "", {"url": "https://93.184.216.34/x", "event_types": ["bill.issued"]})


def case_admin_webhook_status(app, browser, a, b):
    _refused_like_missing(app, browser, a, b, "/status", {"status": "paused"})


def case_admin_webhook_roll_secret(app, browser, a, b):
    _refused_like_missing(app, browser, a, b, "/secret", {"confirm": "y"})


def case_admin_webhook_delete(app, browser, a, b):
    _refused_like_missing(app, browser, a, b, "/delete", {"confirm": "y"})


def case_admin_webhook_test(app, browser, a, b):
    _refused_like_missing(app, browser, a, b, "/test")


def case_admin_webhook_replay(app, browser, a, b):
    office, a_sub, b_sub, b_delivery = _refused_like_missing(app, browser, a, b, "/deliveries/{delivery}/replay")
    # B's delivery under A's own subscription is not found either.
    token = office.csrf(f"/backoffice/admin/webhooks/{a_sub}")
    answer = office.post(f"/backoffice/admin/webhooks/{a_sub}/deliveries/{b_delivery}/replay",
                         data={"csrf_token": token})
    assert answer.status_code == 404


# --- the API's writes (api/writes.py) ---------------------------------------------------------------------------

def _b_counts(app, b):
    from domain.accounting.models import Payment
    from domain.requests.models import ServiceRequest
    from sqlalchemy import func

    with app.app_context(), tenant_scope(b.tenant_id):
        return (db.session.scalar(select(func.count(Payment.id))),
                db.session.scalar(select(func.count(ServiceRequest.id))))


def case_api_create_service_request(app, browser, a, b):
    from tests.api_support import api_client, make_api_key

    before = _b_counts(app, b)
    api = api_client(browser(b.slug).client, make_api_key(app, a.tenant_id), host=f"{b.slug}.localhost")
    body = {"kind": "complaint", "subject": "S", "description": "D"}
    foreign = api.post("/api/v1/requests", json={**body, "account_number": b.account_number})
    missing = api.post("/api/v1/requests", json={**body, "account_number": "NO-SUCH"})
    own = api.post("/api/v1/requests", json={**body, "account_number": a.account_number})
    assert foreign.status_code == missing.status_code == 404 and foreign.get_json() == missing.get_json()
    assert own.status_code == 201
    assert _b_counts(app, b) == before


def case_api_record_payment(app, browser, a, b):
    from tests.api_support import api_client, make_api_key

    before = _b_counts(app, b)
    api = api_client(browser(b.slug).client, make_api_key(app, a.tenant_id), host=f"{b.slug}.localhost")
    body = {"amount": "10.00", "currency": "EUR", "date": "2026-11-01", "reference": "X-1"}
    foreign = api.post("/api/v1/payments", json={**body, "account_number": b.account_number})
    missing = api.post("/api/v1/payments", json={**body, "account_number": "NO-SUCH"})
    own = api.post("/api/v1/payments", json={**body, "account_number": a.account_number})
    assert foreign.status_code == missing.status_code == 404 and foreign.get_json() == missing.get_json()
    assert own.status_code == 201
    assert _b_counts(app, b) == before
