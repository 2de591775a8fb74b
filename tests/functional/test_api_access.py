"""The integration API's door: keys, scopes, expiry, revocation, the key's tenant, rate limits, the call log,
one error shape, and the public description of the API."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from domain.apikeys import services as keys
from domain.apikeys.models import ApiCall, ApiKey
from domain.db import db, utcnow
from tenants.context import tenant_scope
from tests.api_support import api_client, make_api_key


def _error(response) -> dict:
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "details"}
    return body["error"]


def test_a_key_reaches_its_own_utility_whatever_the_host(app, client, two_tenants):
    a, b = two_tenants
    token = make_api_key(app, a.tenant_id, name="CRM sync")

    on_b_host = api_client(client, token, host=f"{b.slug}.localhost").get("/api/v1/key")

    assert on_b_host.status_code == 200
    assert on_b_host.get_json()["utility"] == "Alpha Utility" and on_b_host.get_json()["name"] == "CRM sync"


def test_no_key_a_malformed_key_and_a_wrong_secret_are_refused_alike(app, client, two_tenants):
    a, _b = two_tenants
    token = make_api_key(app, a.tenant_id)
    wrong_secret = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")

    missing = api_client(client, None).get("/api/v1/key")
    malformed = api_client(client, "not-a-key").get("/api/v1/key")
    wrong = api_client(client, wrong_secret).get("/api/v1/key")
    other_slug = api_client(client, token.replace("_alpha_", "_bravo_")).get("/api/v1/key")

    assert missing.status_code == 401 and _error(missing)["code"] == "missing_key"
    assert missing.headers["WWW-Authenticate"].startswith("Bearer")
    for refused in (malformed, wrong, other_slug):
        assert refused.status_code == 401 and _error(refused)["code"] == "invalid_key"
    assert wrong.get_data() == malformed.get_data() == other_slug.get_data()


def test_a_revoked_key_is_refused_at_once(app, client, two_tenants):
    a, _b = two_tenants
    token = make_api_key(app, a.tenant_id)
    api = api_client(client, token)
    assert api.get("/api/v1/key").status_code == 200
    with app.app_context(), tenant_scope(a.tenant_id):
        key = db.session.scalar(select(ApiKey))
        assert keys.revoke_key(key=key, now=utcnow(), staff_id=None)
        db.session.commit()

    refused = api.get("/api/v1/key")

    assert refused.status_code == 401 and _error(refused)["code"] == "revoked_key"


def test_an_expired_key_is_refused(app, client, two_tenants, clock):
    a, _b = two_tenants
    token = make_api_key(app, a.tenant_id, expires_at=utcnow() + timedelta(days=30))
    api = api_client(client, token)
    assert api.get("/api/v1/key").status_code == 200

    clock.move_to(utcnow() + timedelta(days=30, seconds=1))
    refused = api.get("/api/v1/key")

    assert refused.status_code == 401 and _error(refused)["code"] == "expired_key"


def test_a_key_without_the_scope_gets_403_naming_it(app, client, two_tenants):
    a, _b = two_tenants
    from api.registry import OPERATIONS

    scoped = next((op for op in OPERATIONS if op.scope and op.method == "GET" and not op.path_params), None)
    if scoped is None:
        pytest.skip("no operation with a scope is registered yet")
    other_scope = "events:read" if scoped.scope != "events:read" else "bills:read"
    token = make_api_key(app, a.tenant_id, scopes={other_scope})

    refused = api_client(client, token).get("/api/v1" + scoped.path)

    assert refused.status_code == 403
    assert _error(refused)["code"] == "insufficient_scope"
    assert _error(refused)["details"] == {"required_scope": scoped.scope}


def test_the_rate_limit_answers_429_with_retry_after(app, client, two_tenants):
    a, _b = two_tenants
    token = make_api_key(app, a.tenant_id, rate_limit_per_minute=3)
    other = make_api_key(app, a.tenant_id, rate_limit_per_minute=3, name="Other system")
    api = api_client(client, token)

    answers = [api.get("/api/v1/key").status_code for _ in range(4)]
    limited = api.get("/api/v1/key")

    assert answers == [200, 200, 200, 429]
    assert limited.status_code == 429 and _error(limited)["code"] == "rate_limited"
    assert 1 <= int(limited.headers["Retry-After"]) <= 60
    assert api_client(client, other).get("/api/v1/key").status_code == 200  # a limit per key


def test_every_call_of_a_key_is_logged_with_its_route_not_its_identifiers(app, client, two_tenants):
    a, b = two_tenants
    token = make_api_key(app, a.tenant_id)
    api = api_client(client, token)

    api.get("/api/v1/key")
    api.get("/api/v1/no-such-thing")
    api.post("/api/v1/key")

    with app.app_context(), tenant_scope(a.tenant_id):
        logged = [(c.method, c.endpoint, c.status, c.error_code)
                  for c in db.session.scalars(select(ApiCall).order_by(ApiCall.id))]
    with app.app_context(), tenant_scope(b.tenant_id):
        assert db.session.scalar(select(ApiCall)) is None
    assert logged[0] == ("GET", "/api/v1/key", 200, None)
    assert ("POST", "/api/v1/key", 405, "method_not_allowed") in logged


def test_framework_errors_under_the_api_are_json_in_the_one_shape(app, client, two_tenants):
    a, _b = two_tenants
    api = api_client(client, make_api_key(app, a.tenant_id))

    not_found = api.get("/api/v1/no-such-thing")
    wrong_method = api.request("DELETE", "/api/v1/key")

    assert not_found.status_code == 404 and _error(not_found)["code"] == "not_found"
    assert wrong_method.status_code == 405 and _error(wrong_method)["code"] == "method_not_allowed"


def test_errors_are_worded_in_the_callers_language(app, client, two_tenants):
    answer = api_client(client, None).get("/api/v1/key", headers={"Accept-Language": "fr"})

    assert answer.status_code == 401 and "clé" in _error(answer)["message"]


def test_the_openapi_description_is_public_and_lists_every_operation(app, client):
    from api.registry import OPERATIONS

    answer = client.get("/api/v1/openapi.json", base_url="http://api.localhost")

    document = answer.get_json()
    assert answer.status_code == 200 and document["openapi"] == "3.1.0"
    listed = {(method.upper(), path) for path, item in document["paths"].items() for method in item}
    assert listed == {(op.method, "/" + op.openapi_path.lstrip("/")) for op in OPERATIONS}
    assert document["components"]["schemas"]["Error"]["properties"]["error"]
    # Every event type's body is described, down to its data's fields (checked against published events in
    # tests/integration/test_webhook_emitters.py and test_reading_batch.py).
    from domain.webhooks.models import EVENT_TYPES

    schemas = document["components"]["schemas"]
    assert set(EVENT_TYPES) <= set(document["webhooks"])
    for event_type, hook in document["webhooks"].items():
        body = schemas[hook["post"]["requestBody"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]]
        assert body["properties"]["type"]["const"] == event_type
        data = schemas[body["properties"]["data"]["$ref"].rsplit("/", 1)[1]]
        assert data["properties"] and data.get("additionalProperties") is False
    assert "register" in schemas["ReadingData"]["properties"]
    page = client.get("/api/v1/reference", base_url="http://api.localhost")
    assert page.status_code == 200 and "GET /key" in page.get_data(as_text=True)
    # Styled on that host too: its stylesheets answer there, while its other paths stay unknown.
    sheets = re.findall(r'<link rel="stylesheet" href="([^"]+)"', page.get_data(as_text=True))
    assert sheets and all(client.get(sheet, base_url="http://api.localhost").status_code == 200 for sheet in sheets)
    assert client.get("/login", base_url="http://api.localhost").status_code == 404


def test_keys_are_created_with_known_scopes_and_stored_hashed(app, two_tenants):
    a, _b = two_tenants
    with app.app_context(), tenant_scope(a.tenant_id):
        key, token = keys.create_key(tenant_slug="alpha", name="ERP", scopes={"bills:read"}, now=utcnow())
        secret = token.split("_", 3)[3]
        db.session.commit()

        assert token.startswith(f"uak_alpha_{key.key_id}_") and secret not in key.secret_hash
        assert len(secret) >= 40
        for bad in ({"name": "", "scopes": {"bills:read"}}, {"name": "X", "scopes": {"bills:write"}},
                    {"name": "X", "scopes": set()}):
            try:
                keys.create_key(tenant_slug="alpha", now=utcnow(), **bad)
            except keys.KeyProblem:
                continue
            raise AssertionError(f"{bad} was accepted")


def test_a_nul_character_in_a_json_body_is_refused_before_anything_is_read(app, client, two_tenants):
    a, _b = two_tenants
    api = api_client(client, make_api_key(app, a.tenant_id))

    answer = api.post("/api/v1/meter-exchanges", data=b'{"point": "PDL\\u0000", "exchange_date": "2026-01-01"}',
                      headers={"Content-Type": "application/json"})

    assert answer.status_code == 422 and _error(answer)["code"] == "invalid_request"
    assert "\\u0000" in _error(answer)["message"]


def test_refused_fields_are_worded_in_the_callers_language(app, client, two_tenants):
    a, _b = two_tenants
    api = api_client(client, make_api_key(app, a.tenant_id))

    answer = api.post("/api/v1/payments", json={"amount": "abc", "unknown": 1}, headers={"Accept-Language": "fr"})

    details = {d["field"]: d["message"] for d in _error(answer)["details"]}
    assert answer.status_code == 422
    assert details["body.account_number"] == "Obligatoire."
    assert details["body.unknown"] == "Ce champ n’existe pas dans cette requête."
