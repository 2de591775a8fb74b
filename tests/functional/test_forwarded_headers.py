"""X-Forwarded-* headers are believed only from the proxies PROXY_HOPS says are there, and a forwarded host never
names the tenant unless PROXY_FORWARDS_HOST says the proxy sets it."""
from __future__ import annotations

import dataclasses

import pytest
from sqlalchemy import select

from domain.db import db
from domain.identity.models import LoginSession
from tenants.context import tenant_scope
from tests.conftest import TEST_PASSWORD, Browser
from tests.functional.conftest import ServerLikeClient


@pytest.fixture
def production_app(app):
    """The app as production builds it, on the suite's database, with the proxy settings a test gives."""
    made = []

    def _make(**proxy):
        from app import create_app

        settings = dataclasses.replace(app.config["SETTINGS"], env="production", **proxy)
        built = create_app(settings, SERVER_NAME=None)
        made.append(built)
        return built

    yield _make
    from domain.db import db

    for built in made:
        with built.app_context():
            db.session.remove()
            for engine in db.engines.values():
                engine.dispose()


def _browser(application, slug: str) -> Browser:
    return Browser(ServerLikeClient(application, application.response_class, use_cookies=True), f"{slug}.localhost")


def _sign_in_attempts_until_refused(portal: Browser, forwarded_for, tries: int) -> list[int]:
    """Sign-in attempts with a wrong password, each for another e-mail (the per-account limit stays out of it)."""
    statuses = []
    for i in range(tries):
        token = portal.csrf("/login")
        response = portal.post("/login", data={"email": f"nobody{i}@example.test", "password": "wrong-password",
                                               "csrf_token": token},
                               headers={"X-Forwarded-For": forwarded_for(i)})
        statuses.append(response.status_code)
        if response.status_code == 429:
            break
    return statuses


def test_without_a_proxy_a_new_forwarded_for_per_try_does_not_beat_the_ip_limit(two_tenants, production_app):
    a, _ = two_tenants
    portal = _browser(production_app(proxy_hops=0, https=False), a.slug)

    statuses = _sign_in_attempts_until_refused(portal, lambda i: f"203.0.113.{i + 1}", tries=40)

    # RATE_LIMIT_LOGIN is 30 per minute in the tests: the 31st try from the one real address is refused.
    assert statuses[-1] == 429 and len(statuses) == 31


def test_behind_one_proxy_only_the_address_it_added_counts(two_tenants, production_app):
    a, _ = two_tenants
    portal = _browser(production_app(proxy_hops=1, https=False), a.slug)

    # The client writes whatever it likes first; the proxy appends the address it saw (always the same here).
    statuses = _sign_in_attempts_until_refused(portal, lambda i: f"203.0.113.{i + 1}, 198.51.100.7", tries=40)

    assert statuses[-1] == 429 and len(statuses) == 31


def _signed_in_from(application, data, forwarded_for: str) -> str:
    """Sign the customer in with this X-Forwarded-For; returns the address recorded on the new session."""
    portal = _browser(application, data.slug)
    token = portal.csrf("/login")
    response = portal.post("/login", data={"email": data.customer_email, "password": TEST_PASSWORD,
                                           "csrf_token": token}, headers={"X-Forwarded-For": forwarded_for})
    assert response.status_code == 302
    with application.app_context(), tenant_scope(data.tenant_id):
        return db.session.scalar(select(LoginSession.ip_address).order_by(LoginSession.id.desc()))


@pytest.mark.parametrize(("hops", "recorded"), [(0, "127.0.0.1"), (1, "198.51.100.7"), (2, "203.0.113.9")])
def test_the_client_address_is_the_one_the_trusted_proxies_saw(two_tenants, production_app, hops, recorded):
    a, _ = two_tenants

    address = _signed_in_from(production_app(proxy_hops=hops, https=False), a, "203.0.113.9, 198.51.100.7")

    assert address == recorded


@pytest.mark.parametrize("proxy", [dict(proxy_hops=0), dict(proxy_hops=1)])
def test_a_forwarded_host_does_not_switch_tenants(two_tenants, production_app, proxy):
    a, b = two_tenants
    application = production_app(https=False, **proxy)
    client = ServerLikeClient(application, application.response_class)

    page = client.get("/login", base_url=f"http://{a.slug}.localhost",
                      headers={"X-Forwarded-Host": f"{b.slug}.localhost"})

    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Alpha Utility" in html and "Bravo Utility" not in html


def test_a_proxy_that_sets_the_host_is_believed_when_configured(two_tenants, production_app):
    a, b = two_tenants
    application = production_app(https=False, proxy_hops=1, proxy_forwards_host=True)
    client = ServerLikeClient(application, application.response_class)

    page = client.get("/login", base_url="http://10.0.0.5", headers={"X-Forwarded-Host": f"{b.slug}.localhost"})

    assert page.status_code == 200 and "Bravo Utility" in page.get_data(as_text=True)


def test_in_development_and_tests_forwarded_headers_are_ignored(app):
    settings = app.config["SETTINGS"]

    assert settings.proxy_hops == 0 and settings.proxy_forwards_host is False
