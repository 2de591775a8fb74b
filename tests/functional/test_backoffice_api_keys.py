"""The integration API's keys and call log in the administration (/backoffice/admin/api-keys, /api-calls): a tenant
administrator creates a key and sees its token once, revokes it, reads every call; nobody else gets in."""
from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from domain.apikeys.models import ApiCall, ApiKey
from domain.audit.models import AuditEvent
from domain.db import db, utcnow
from tenants.context import tenant_scope
from tests.api_support import api_client, make_api_key, new_key_form_data
from tests.clock import TODAY

TOKEN = re.compile(r"uak_[a-z0-9-]+_[0-9a-f]+_[A-Za-z0-9_\-]+")
PAGES = ["/backoffice/admin/api-keys", "/backoffice/admin/api-keys/new", "/backoffice/admin/api-calls"]


def _office(browser, a, role="tenant_admin"):
    office = browser(a.slug)
    office.client.delete_cookie("session", domain=office.host)
    office.login(a.staff_emails[role], area="/backoffice")
    return office


def _create(office, **overrides):
    data = {"name": "CRM sync", "scopes": ["customers:read", "bills:read"], "expires_on": "",
            "rate_limit_per_minute": "600", **overrides}
    return office.submit("/backoffice/admin/api-keys/new", new_key_form_data(office, data))


def test_the_same_new_key_form_sent_twice_creates_one_key(app, browser, two_tenants):
    """A page reloaded after the key was shown sends its form again: no second key, and the administrator is told."""
    a, _b = two_tenants
    office = _office(browser, a)
    data = new_key_form_data(office, {"name": "CRM sync", "scopes": ["bills:read"], "rate_limit_per_minute": "60"})

    first = office.submit("/backoffice/admin/api-keys/new", data)
    again = office.submit("/backoffice/admin/api-keys/new", data)
    forged = office.submit("/backoffice/admin/api-keys/new", {**data, "once": "made-up"})

    assert first.status_code == 200 and TOKEN.search(first.get_data(as_text=True))
    assert again.status_code == forged.status_code == 303
    assert again.headers["Location"].endswith("/backoffice/admin/api-keys")
    told = office.get("/backoffice/admin/api-keys").get_data(as_text=True)
    assert "This form was sent already: its key was created then and shown once." in told
    assert TOKEN.search(told) is None
    assert [k.name for k in _keys(app, a.tenant_id)] == ["CRM sync"]


def _keys(app, tenant_id) -> list[ApiKey]:
    with app.app_context(), tenant_scope(tenant_id):
        found = list(db.session.scalars(select(ApiKey).order_by(ApiKey.id)))
        db.session.expunge_all()
        return found


def _public_id(app, tenant_id, name) -> str:
    return next(k.public_id for k in _keys(app, tenant_id) if k.name == name)


def test_an_administrator_creates_a_key_and_sees_its_token_once(app, browser, two_tenants):
    a, _b = two_tenants
    office = _office(browser, a)

    created = _create(office)

    page = created.get_data(as_text=True)
    assert created.status_code == 200
    [token] = set(TOKEN.findall(page))
    assert "it will not be shown again" in page
    assert created.headers["Cache-Control"] == "no-store"
    [key] = _keys(app, a.tenant_id)
    assert key.name == "CRM sync" and key.scope_set == {"customers:read", "bills:read"}
    assert key.rate_limit_per_minute == 600 and key.expires_at is None
    assert token.split("_", 3)[3] not in key.secret_hash  # only a hash is kept
    answer = api_client(office.client, token).get("/api/v1/key")
    assert answer.status_code == 200 and answer.get_json()["name"] == "CRM sync"
    # Never again: not on the list, the key's page, the form, nor in the session cookie.
    for path in ("/backoffice/admin/api-keys", f"/backoffice/admin/api-keys/{key.public_id}",
                 "/backoffice/admin/api-keys/new", "/backoffice/admin/"):
        assert token not in office.get(path).get_data(as_text=True)
    with office.client.session_transaction(base_url=office.base_url) as session:
        assert session and token.split("_", 3)[3] not in repr(dict(session))


def test_the_list_shows_scopes_in_words_state_expiry_and_use(app, browser, two_tenants, clock):
    a, _b = two_tenants
    office = _office(browser, a)
    _create(office, name="Meter data platform", scopes=["readings:write"], expires_on=(TODAY + timedelta(days=30))
            .isoformat(), rate_limit_per_minute="120")
    token = TOKEN.search(_create(office, name="Old CRM").get_data(as_text=True)).group(0)
    api = api_client(office.client, token)
    api.get("/api/v1/key")
    api.get("/api/v1/key")
    old_page = f"/backoffice/admin/api-keys/{_public_id(app, a.tenant_id, 'Old CRM')}"
    office.submit(old_page, {"confirm": "y"}, action=f"{old_page}/revoke")

    page = office.get("/backoffice/admin/api-keys").get_data(as_text=True)

    assert "Send meter readings, interval data and meter exchanges" in page
    assert "Read customers, accounts, points of delivery and contracts" in page
    assert "readings:write" not in page  # words, not codes, in the list
    last_day = (TODAY + timedelta(days=30)).strftime("%-d %b %Y")
    assert f"after {last_day}" in page
    assert 'class="api-key-revoked"' in page and 'class="api-key-active"' in page
    row = page[page.index('class="api-key-revoked"'):]
    row = row[:row.index("</tr>")]
    assert "Old CRM" in row and "Revoked" in row and ">2<" in row
    assert "by Admin" in page
    [meter_key] = [k for k in _keys(app, a.tenant_id) if k.name == "Meter data platform"]
    assert meter_key.rate_limit_per_minute == 120
    # The key works through its last day, to midnight in the utility's time zone (Paris: 23:00 UTC in winter).
    assert meter_key.expires_at == datetime.combine(TODAY + timedelta(days=31), time(0), tzinfo=ZoneInfo(
        "Europe/Paris")).astimezone(UTC)


def test_a_key_past_its_last_day_shows_as_expired(app, browser, two_tenants, clock):
    a, _b = two_tenants
    make_api_key(app, a.tenant_id, name="Trial link", expires_at=utcnow() + timedelta(days=1))
    assert '<tr class="api-key-active">' in _office(browser, a).get("/backoffice/admin/api-keys").get_data(
        as_text=True)

    clock.move_to(utcnow() + timedelta(days=2))
    page = _office(browser, a).get("/backoffice/admin/api-keys").get_data(as_text=True)

    assert '<tr class="api-key-expired">' in page and ">Expired</span>" in page


def test_revoking_a_key_asks_first_and_refuses_its_next_call(app, browser, two_tenants):
    a, _b = two_tenants
    office = _office(browser, a)
    token = TOKEN.search(_create(office).get_data(as_text=True)).group(0)
    public_id = _public_id(app, a.tenant_id, "CRM sync")
    key_page = f"/backoffice/admin/api-keys/{public_id}"
    api = api_client(office.client, token)
    assert api.get("/api/v1/key").status_code == 200

    unticked = office.submit(key_page, {}, action=f"{key_page}/revoke")
    still = api.get("/api/v1/key")
    revoked = office.submit(key_page, {"confirm": "y"}, action=f"{key_page}/revoke")
    refused = api.get("/api/v1/key")

    assert unticked.status_code == 422 and "Tick the box to confirm that this key is to be revoked." in \
        unticked.get_data(as_text=True)
    assert still.status_code == 200
    assert revoked.status_code == 302 and revoked.headers["Location"].endswith(key_page)
    assert refused.status_code == 401 and refused.get_json()["error"]["code"] == "revoked_key"
    page = office.get(key_page).get_data(as_text=True)
    assert "Revoked" in page and "Revoke the key" not in page
    assert "is revoked: the next call with it is refused" in page
    assert "CRM sync" in office.get("/backoffice/admin/api-keys").get_data(as_text=True)  # kept in the list
    again = office.submit("/backoffice/admin/api-keys", {"confirm": "y"}, action=f"{key_page}/revoke")
    assert again.status_code == 302  # twice: nothing more happens
    assert _keys(app, a.tenant_id)[0].revoked_at is not None


def test_a_revoke_without_the_form_token_changes_nothing(app, browser, two_tenants):
    a, _b = two_tenants
    make_api_key(app, a.tenant_id, name="CRM sync")
    office = _office(browser, a)
    public_id = _public_id(app, a.tenant_id, "CRM sync")

    forged = office.post(f"/backoffice/admin/api-keys/{public_id}/revoke", {"confirm": "y"})

    assert forged.status_code == 400
    assert _keys(app, a.tenant_id)[0].revoked_at is None


def test_creating_and_revoking_show_in_the_keys_history_without_the_secret(app, browser, two_tenants):
    a, _b = two_tenants
    office = _office(browser, a)
    _create(office)
    public_id = _public_id(app, a.tenant_id, "CRM sync")
    key_page = f"/backoffice/admin/api-keys/{public_id}"
    office.submit(key_page, {"confirm": "y"}, action=f"{key_page}/revoke")

    page = office.get(key_page).get_data(as_text=True)

    assert "Key created" in page and "Key revoked: calls with it are refused" in page
    [key] = _keys(app, a.tenant_id)
    with app.app_context(), tenant_scope(a.tenant_id):
        events = list(db.session.scalars(select(AuditEvent).where(AuditEvent.entity_type == "ApiKey")))
        assert {e.action for e in events} == {"insert", "update"}
        assert all(e.actor_kind == "staff" for e in events)
        recorded = repr([e.changes for e in events])
    assert key.secret_hash not in recorded and "[redacted]" in recorded
    assert key.secret_hash not in page


@pytest.mark.parametrize(("overrides", "field", "message"), [
    ({"name": "  "}, "name", "Enter a name for the key, such as the system that will use it."),
    ({"name": "x" * 101}, "name", "Use at most 100 characters."),
    ({"scopes": []}, "scopes", "Choose at least one thing the key may do."),
    ({"expires_on": (TODAY - timedelta(days=1)).isoformat()}, "expires_on",
     "Choose today or a later day: a key cannot expire in the past."),
    ({"expires_on": "soon"}, "expires_on", "Enter the date as day, month and year, or leave it empty."),
    ({"rate_limit_per_minute": "0"}, "rate_limit_per_minute", "Enter a number of calls a minute from 1 to 100000."),
    ({"rate_limit_per_minute": "lots"}, "rate_limit_per_minute",
     "Enter a number of calls a minute from 1 to 100000."),
    ({"scopes": ["bills:read", "everything:write"]}, "scopes", "Choose what the key may do from the list."),
])
def test_bad_input_is_explained_and_creates_nothing(app, browser, two_tenants, overrides, field, message):
    a, _b = two_tenants
    office = _office(browser, a)

    answer = _create(office, **overrides)

    page = answer.get_data(as_text=True)
    assert answer.status_code == 422
    assert 'class="error-summary"' in page and f'href="#{field}"' in page
    assert message in page
    assert not TOKEN.search(page)
    assert _keys(app, a.tenant_id) == []


def test_an_expiry_today_is_accepted(app, browser, two_tenants):
    a, _b = two_tenants
    office = _office(browser, a)

    answer = _create(office, expires_on=TODAY.isoformat())

    assert answer.status_code == 200
    [key] = _keys(app, a.tenant_id)
    assert key.expires_at > utcnow()


@pytest.mark.parametrize("role", ["agent", "supervisor", "billing", "collections"])
def test_staff_without_the_permission_get_403_on_every_page(app, browser, two_tenants, role):
    a, _b = two_tenants
    make_api_key(app, a.tenant_id, name="CRM sync")
    public_id = _public_id(app, a.tenant_id, "CRM sync")
    office = _office(browser, a, role)
    csrf = office.csrf("/backoffice/")

    answers = [office.get(path).status_code for path in [*PAGES, f"/backoffice/admin/api-keys/{public_id}",
                                                          "/backoffice/admin/api-calls?format=csv"]]
    posted = office.post("/backoffice/admin/api-keys/new", {"csrf_token": csrf, "name": "Mine",
                                                            "scopes": ["bills:read"], "rate_limit_per_minute": "5"})
    revoked = office.post(f"/backoffice/admin/api-keys/{public_id}/revoke", {"csrf_token": csrf, "confirm": "y"})

    assert answers == [403] * 5
    assert posted.status_code == revoked.status_code == 403
    assert [k.name for k in _keys(app, a.tenant_id)] == ["CRM sync"] and _keys(app, a.tenant_id)[0].revoked_at is None


def test_the_administration_home_and_the_pages_link_to_the_api_reference(browser, two_tenants):
    a, _b = two_tenants
    office = _office(browser, a)

    home = office.get("/backoffice/admin/").get_data(as_text=True)
    pages = [office.get(path).get_data(as_text=True) for path in PAGES[::2]]

    assert 'href="/backoffice/admin/api-keys"' in home
    for page in pages:
        assert 'href="/api/v1/reference"' in page and 'href="/api/v1/openapi.json"' in page


def _calls(app, a, clock):
    """Three keys' calls at known times: 200s, a 404 and a 405 of the CRM key, one call of the ERP key."""
    crm = make_api_key(app, a.tenant_id, name="CRM sync")
    erp = make_api_key(app, a.tenant_id, name="ERP")
    start = utcnow()

    def call(token, method, path, minutes):
        clock.move_to(start + timedelta(minutes=minutes), tick=False)
        api_client(app.test_client(), token).request(method, path)

    call(crm, "GET", "/api/v1/key", 1)
    call(crm, "GET", "/api/v1/no-such-thing", 2)
    call(crm, "POST", "/api/v1/key", 3)
    call(erp, "GET", "/api/v1/key", 4)
    return start


def test_the_call_log_lists_calls_newest_first_and_filters(app, browser, two_tenants, clock):
    a, b = two_tenants
    _calls(app, a, clock)
    make_api_key(app, b.tenant_id, name="Bravo system")
    office = _office(browser, a)
    crm = _public_id(app, a.tenant_id, "CRM sync")

    everything = office.get("/backoffice/admin/api-calls").get_data(as_text=True)
    crm_only = office.get(f"/backoffice/admin/api-calls?key={crm}").get_data(as_text=True)
    refused = office.get("/backoffice/admin/api-calls?status=4").get_data(as_text=True)
    succeeded = office.get("/backoffice/admin/api-calls?status=2&path=KEY").get_data(as_text=True)
    nothing = office.get("/backoffice/admin/api-calls?path=bills").get_data(as_text=True)
    odd = office.get("/backoffice/admin/api-calls?key=nope&status=9&page=x&path=%25_")

    assert "4 calls" in everything and "Bravo system" not in everything
    assert everything.index("ERP") < everything.index("/api/v1/no-such-thing")  # newest first
    assert "3 calls" in crm_only and '">ERP</a>' not in crm_only and '">CRM sync</a>' in crm_only
    assert "2 calls" in refused and "method_not_allowed" in refused and "not_found" in refused
    assert "2 calls" in succeeded and "<code>GET /api/v1/key</code>" in succeeded
    assert "No call matches this filter." in nothing
    assert odd.status_code == 200 and "No call matches this filter." in odd.get_data(as_text=True)


def test_the_call_log_is_paged(app, browser, two_tenants):
    a, _b = two_tenants
    token = make_api_key(app, a.tenant_id, name="Busy system")
    with app.app_context(), tenant_scope(a.tenant_id):
        key = db.session.scalar(select(ApiKey))
        now = utcnow()
        db.session.add_all([ApiCall(api_key_id=key.id, called_at=now - timedelta(seconds=i), method="GET",
                                    endpoint="/api/v1/key", status=200, duration_ms=i, error_code=None)
                            for i in range(60)])
        db.session.commit()
    assert token
    office = _office(browser, a)

    first = office.get("/backoffice/admin/api-calls").get_data(as_text=True)
    second = office.get("/backoffice/admin/api-calls?page=2").get_data(as_text=True)

    assert "60 calls" in first and "1–50 of 60" in first and "51–60 of 60" in second
    assert first.count("<code>GET /api/v1/key</code>") == 50 and second.count("<code>GET /api/v1/key</code>") == 10


def test_the_call_log_exports_its_filter_as_csv(app, browser, two_tenants, clock):
    a, _b = two_tenants
    _calls(app, a, clock)
    office = _office(browser, a)

    page = office.get("/backoffice/admin/api-calls?status=4").get_data(as_text=True)
    export = office.get("/backoffice/admin/api-calls?status=4&format=csv")

    assert 'href="/backoffice/admin/api-calls?status=4&amp;format=csv"' in page
    assert export.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(export.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0] == ["Time", "Key", "Method", "Endpoint", "Status", "Duration (ms)", "Error code"]
    assert [(r[1], r[2], r[3], r[4], r[6]) for r in rows[1:]] == [
        ("CRM sync", "POST", "/api/v1/key", "405", "method_not_allowed"),
        ("CRM sync", "GET", "/api/v1/no-such-thing", "404", "not_found")]


def test_the_keys_page_counts_calls_of_the_last_day_only(app, browser, two_tenants):
    a, _b = two_tenants
    make_api_key(app, a.tenant_id, name="Nightly sync")
    with app.app_context(), tenant_scope(a.tenant_id):
        key = db.session.scalar(select(ApiKey))
        now = utcnow()
        for hours in (1, 23, 25, 48):
            db.session.add(ApiCall(api_key_id=key.id, called_at=now - timedelta(hours=hours), method="GET",
                                   endpoint="/api/v1/key", status=200, duration_ms=3, error_code=None))
        db.session.commit()
        assert db.session.scalar(select(func.count(ApiCall.id))) == 4
    office = _office(browser, a)

    page = office.get("/backoffice/admin/api-keys").get_data(as_text=True)

    row = page[page.index("Nightly sync"):]
    row = row[:row.index("</tr>")]
    assert '<td data-label="Calls in the last 24 hours" class="num">2</td>' in row


def test_a_french_administrator_reads_the_pages_in_french(app, browser, two_tenants, clock):
    from domain.identity.models import StaffUser

    a, _b = two_tenants
    _calls(app, a, clock)
    with app.app_context(), tenant_scope(a.tenant_id):
        db.session.scalar(select(StaffUser).where(StaffUser.email == a.staff_emails["tenant_admin"])).locale = "fr"
        db.session.commit()
    office = _office(browser, a)

    keys_page = office.get("/backoffice/admin/api-keys").get_data(as_text=True)
    calls_page = office.get("/backoffice/admin/api-calls").get_data(as_text=True)
    one_call = office.get("/backoffice/admin/api-calls?path=no-such").get_data(as_text=True)

    assert "Clés d’API" in keys_page and ">Active</span>" in keys_page  # une clé active, not « actif »
    assert "Lire les factures, leurs lignes et leurs documents" in keys_page
    assert "4 appels" in calls_page and "1 appel<" in one_call
