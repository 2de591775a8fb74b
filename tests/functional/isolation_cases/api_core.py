"""Tenant-isolation cases of the integration API's door: the key decides the tenant, never the host."""
from __future__ import annotations

from tests.api_support import api_client, make_api_key


def case_api_key_info(app, browser, a, b):
    token = make_api_key(app, a.tenant_id)
    on_b_host = api_client(browser(b.slug).client, token, host=f"{b.slug}.localhost").get("/api/v1/key")
    forged = api_client(browser(b.slug).client, token.replace(f"_{a.slug}_", f"_{b.slug}_")).get("/api/v1/key")
    assert on_b_host.status_code == 200 and on_b_host.get_json()["utility"] == "Alpha Utility"
    assert forged.status_code == 401


def case_api_openapi(app, browser, a, b):
    on_a, on_b = (browser(t.slug).get("/api/v1/openapi.json").get_data() for t in (a, b))
    assert on_a == on_b


def case_api_reference(app, browser, a, b):
    page = browser(a.slug).get("/api/v1/reference").get_data(as_text=True)
    assert "Alpha Utility" not in page and page == browser(b.slug).get("/api/v1/reference").get_data(as_text=True)
