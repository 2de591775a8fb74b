"""Isolation cases of the administration's API keys pages: tenant A's administrator never sees, opens, filters by
or revokes tenant B's keys, and B's calls stay out of A's log; a key A creates is A's alone."""
from __future__ import annotations

import re

from sqlalchemy import select

from domain.apikeys.models import ApiKey
from domain.db import db
from tenants.context import tenant_scope
from tests.api_support import api_client, make_api_key, new_key_form_data
from tests.isolation import MISSING, _same_as_missing, same_page


def _admin_office(browser, a):
    office = browser(a.slug)
    office.login(a.staff_emails["tenant_admin"], area="/backoffice")
    return office


def _b_key(app, b) -> tuple[str, str]:
    """B's key, used once (so B's log has a call): (its public reference, its token)."""
    token = make_api_key(app, b.tenant_id, name="Bravo secret system")
    api_client(app.test_client(), token).get("/api/v1/key")
    with app.app_context(), tenant_scope(b.tenant_id):
        return db.session.scalar(select(ApiKey.public_id)), token


def _b_key_revoked(app, b) -> bool:
    with app.app_context(), tenant_scope(b.tenant_id):
        return db.session.scalar(select(ApiKey.revoked_at)) is not None


def case_admin_api_keys(app, browser, a, b):
    _b_key(app, b)
    make_api_key(app, a.tenant_id, name="Alpha CRM")

    page = _admin_office(browser, a).get("/backoffice/admin/api-keys")

    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "Alpha CRM" in text and "Bravo secret system" not in text


def case_admin_new_api_key(app, browser, a, b):
    office = _admin_office(browser, a)

    created = office.submit("/backoffice/admin/api-keys/new", new_key_form_data(office, {
        "name": "Made on A", "scopes": ["bills:read"], "rate_limit_per_minute": "60"}))

    token = re.search(r"uak_[a-z0-9-]+_[0-9a-f]+_[A-Za-z0-9_\-]+", created.get_data(as_text=True)).group(0)
    assert token.startswith(f"uak_{a.slug}_")
    assert api_client(app.test_client(), token).get("/api/v1/key").get_json()["utility"] == "Alpha Utility"
    with app.app_context(), tenant_scope(b.tenant_id):
        assert db.session.scalar(select(ApiKey.id)) is None


def case_admin_api_key(app, browser, a, b):
    foreign, _token = _b_key(app, b)
    office = _admin_office(browser, a)

    _same_as_missing(office, f"/backoffice/admin/api-keys/{foreign}", f"/backoffice/admin/api-keys/{MISSING}",
                     foreign)


def case_admin_revoke_api_key(app, browser, a, b):
    foreign, token = _b_key(app, b)
    office = _admin_office(browser, a)

    response = office.submit("/backoffice/admin/api-keys", {"confirm": "y"},
                             action=f"/backoffice/admin/api-keys/{foreign}/revoke")
    missing = office.submit("/backoffice/admin/api-keys", {"confirm": "y"},
                            action=f"/backoffice/admin/api-keys/{MISSING}/revoke")

    assert response.status_code == missing.status_code == 404 and same_page(response, missing, foreign)
    assert not _b_key_revoked(app, b)
    assert api_client(app.test_client(), token).get("/api/v1/key").status_code == 200


def case_admin_api_calls(app, browser, a, b):
    foreign, _token = _b_key(app, b)
    office = _admin_office(browser, a)

    everything = office.get("/backoffice/admin/api-calls")
    by_foreign = office.get(f"/backoffice/admin/api-calls?key={foreign}")
    by_missing = office.get(f"/backoffice/admin/api-calls?key={MISSING}")
    export = office.get("/backoffice/admin/api-calls?format=csv").get_data(as_text=True)

    assert everything.status_code == by_foreign.status_code == 200
    assert "Bravo secret system" not in everything.get_data(as_text=True) and "0 calls" in everything.get_data(
        as_text=True)
    assert same_page(by_foreign, by_missing, foreign)
    assert "Bravo" not in export and len(export.strip().splitlines()) == 1
