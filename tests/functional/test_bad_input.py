"""Input no view should see (a NUL byte in a path, a query or a form; a malformed host) is a 400 or a 404 with the
usual security headers, never a 500, on every route of the URL map."""
from __future__ import annotations

import re

import pytest

from tests.conftest import TEST_PASSWORD, Browser
from tests.functional.conftest import ServerLikeClient
from tests.functional.test_pages import _operator

SECURITY_HEADERS = ("Content-Security-Policy", "X-Content-Type-Options", "X-Frame-Options", "Referrer-Policy")
_ARGUMENT = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")
_FIELD = re.compile(r'name="([^"]+)"')
STAFF_BLUEPRINTS = {"backoffice", "billing", "collections"}


def _missing_headers(response) -> list[str]:
    return [name for name in SECURITY_HEADERS if name not in response.headers]


def _rules(app):
    return sorted((r for r in app.url_map.iter_rules()), key=lambda r: (r.rule, r.endpoint))


def _path(rule, values: dict[str, str]) -> str:
    return _ARGUMENT.sub(lambda m: values[m.group(1)], rule.rule)


def _own_browser(app, host_name: str) -> Browser:
    return Browser(ServerLikeClient(app, app.response_class, use_cookies=True), host_name)


@pytest.fixture
def signed_in(app, two_tenants):
    """A browser per face, signed in: staff (administrator) and customer on alpha, an operator on the platform."""
    a, _ = two_tenants
    _operator(app)
    staff = _own_browser(app, f"{a.slug}.localhost")
    assert staff.login(a.staff_emails["tenant_admin"], area="/backoffice").status_code == 302
    customer = _own_browser(app, f"{a.slug}.localhost")
    assert customer.login(a.customer_email).status_code == 302
    operator = _own_browser(app, "localhost")
    assert operator.login("ops@platform.example.com", TEST_PASSWORD, area="/console").status_code == 302
    tokens = {"staff": staff.csrf("/backoffice/"), "customer": customer.csrf("/profile"),
              "operator": operator.csrf("/console/")}
    faces = {"staff": staff, "customer": customer, "operator": operator}

    def _for(rule):
        blueprint = rule.endpoint.partition(".")[0]
        face = "operator" if blueprint == "console" else "staff" if blueprint in STAFF_BLUEPRINTS else "customer"
        return faces[face], tokens[face]

    return a, _for


def test_a_nul_byte_in_any_path_argument_is_a_400_with_security_headers(app, signed_in):
    _a, face_of = signed_in
    tried, wrong = 0, []

    for rule in _rules(app):
        for argument in sorted(rule.arguments):
            values = {name: "x" for name in rule.arguments} | {argument: "x%00y"}
            path = _path(rule, values)
            visitor, token = face_of(rule)
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                if method == "GET":
                    response = visitor.get(path)
                else:
                    response = visitor.post(path, data={"csrf_token": token})
                tried += 1
                if response.status_code not in (400, 404) or _missing_headers(response):
                    wrong.append((method, rule.rule, argument, response.status_code, _missing_headers(response)))

    assert tried > 60
    assert wrong == []


def test_a_nul_byte_in_any_form_field_is_a_400_with_security_headers(app, signed_in):
    _a, face_of = signed_in
    tried, wrong = 0, []

    for rule in _rules(app):
        if "POST" not in rule.methods:
            continue
        path = _path(rule, {name: "x" for name in rule.arguments})
        visitor, token = face_of(rule)
        fields = {"account_number", "email", "value", "reference", "q"}
        if "GET" in rule.methods:
            page = visitor.get(path)
            if page.status_code == 200:
                fields |= set(_FIELD.findall(page.get_data(as_text=True)))
        fields -= {"csrf_token"}
        response = visitor.post(path, data={"csrf_token": token, **{name: "1\x00" for name in fields}})
        tried += 1
        if response.status_code != 400 or _missing_headers(response):
            wrong.append((rule.rule, response.status_code, _missing_headers(response)))

    assert tried > 30
    assert wrong == []


def test_a_nul_byte_in_the_query_string_is_a_400(signed_in):
    a, face_of = signed_in
    staff = face_of(type("Rule", (), {"endpoint": "backoffice.customers"}))[0]

    response = staff.get("/backoffice/customers?q=%00")

    assert response.status_code == 400 and _missing_headers(response) == []


def test_the_reported_cases_answer_400_not_500(app, signed_in):
    a, face_of = signed_in
    staff = face_of(type("Rule", (), {"endpoint": "backoffice.customer_history"}))[0]
    customer, token = face_of(type("Rule", (), {"endpoint": "portal.profile_paperless"}))

    history = staff.get("/backoffice/customers/%00/history")
    paperless = customer.post("/profile/paperless", data={"csrf_token": token, "account_number": "\x00",
                                                          "paperless": "y"})

    assert history.status_code == 400 and _missing_headers(history) == []
    assert paperless.status_code == 400 and _missing_headers(paperless) == []
    assert "Bad request" in paperless.get_data(as_text=True)


@pytest.mark.parametrize("host", ["alpha..localhost", "..localhost", ".localhost", "alpha.localhost\x00",
                                  "alpha\x00.localhost", "-alpha.localhost", "alpha_b.example.com",
                                  "a" * 300 + ".example.com", "[::1"])
def test_a_malformed_host_is_a_404_with_security_headers(client, two_tenants, host):
    response = client.get("/", headers={"Host": host})

    assert response.status_code == 404
    assert _missing_headers(response) == []
    assert "Page not found" in response.get_data(as_text=True)


def test_an_error_page_that_cannot_be_rendered_still_answers_with_headers(app, client, two_tenants, monkeypatch):
    import app as app_package

    def broken(*args, **kwargs):
        raise RuntimeError("template store unavailable")

    monkeypatch.setattr(app_package, "render_template", broken)

    response = client.get("/no-such-page", base_url="http://alpha.localhost")

    assert response.status_code == 404 and _missing_headers(response) == []
    assert "Page not found" in response.get_data(as_text=True)
