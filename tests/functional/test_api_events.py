"""`GET /events`: what was recorded for the utility's webhooks, paged oldest first, by type, for its key only."""
from __future__ import annotations

from datetime import timedelta

from domain.db import db, utcnow
from domain.webhooks.events import publish
from tenants.context import tenant_scope
from tests.api_support import api_client, make_api_key
from tests.factories import make_webhook_subscription


def _record(app, tenant_id: int, event_type: str, objects: list[dict], at) -> None:
    with app.app_context(), tenant_scope(tenant_id):
        publish(event_type, objects, occurred_at=at)
        db.session.commit()


def _listening(app, tenant_id: int) -> None:
    with app.app_context(), tenant_scope(tenant_id):
        make_webhook_subscription(url="https://hooks.example.invalid/in",
                                  event_types=("bill.issued", "payment.received"))
        db.session.commit()


def test_events_page_oldest_first_and_filter_by_type_and_time(app, client, two_tenants, monkeypatch):
    monkeypatch.setitem(app.config, "REDIS_URL", None)
    a, b = two_tenants
    _listening(app, a.tenant_id)
    _listening(app, b.tenant_id)
    start = utcnow() - timedelta(hours=3)
    _record(app, a.tenant_id, "bill.issued", [{"number": f"F{n}"} for n in range(3)], start)
    _record(app, a.tenant_id, "payment.received", [{"reference": "P1"}], start + timedelta(hours=1))
    _record(app, a.tenant_id, "bill.issued", [{"number": "F9"}], start + timedelta(hours=2))
    _record(app, b.tenant_id, "bill.issued", [{"number": "B1"}], start)
    api = api_client(client, make_api_key(app, a.tenant_id, scopes={"events:read"}))

    first = api.get("/api/v1/events?limit=2").get_json()
    rest = api.get(f"/api/v1/events?limit=2&cursor={first['next_cursor']}").get_json()
    last = api.get(f"/api/v1/events?limit=2&cursor={rest['next_cursor']}").get_json()
    bills = api.get("/api/v1/events?type=bill.issued").get_json()["data"]
    since = (start + timedelta(minutes=30)).isoformat().replace("+00:00", "Z")
    recent = api.get("/api/v1/events", query_string={"updated_since": since}).get_json()["data"]

    walked = [e["data"] for page in (first, rest, last) for e in page["data"]]
    assert last["next_cursor"] is None and len(walked) == 5
    assert {d.get("number") for d in walked[:3]} == {"F0", "F1", "F2"}
    assert walked[3:] == [{"reference": "P1"}, {"number": "F9"}]
    assert [e["type"] for e in bills] == ["bill.issued"] * 4 and all(e["data"] != {"number": "B1"} for e in bills)
    assert [e["data"] for e in recent] == [{"reference": "P1"}, {"number": "F9"}]
    assert all(set(e) == {"id", "type", "created", "data"} for e in first["data"] + bills)


def test_a_forged_cursor_is_a_422(app, client, two_tenants):
    a, _b = two_tenants
    api = api_client(client, make_api_key(app, a.tenant_id, scopes={"events:read"}))

    from api.pagination import encode_cursor
    for cursor in ("not-a-cursor", encode_cursor("x", 1), encode_cursor(1, 2, 3)):
        answer = api.get("/api/v1/events", query_string={"cursor": cursor})

        assert answer.status_code == 422 and answer.get_json()["error"]["code"] == "invalid_cursor"
