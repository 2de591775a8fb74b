"""Isolation cases of two-step sign-in: a sign-in half-way (password passed on tenant A's host) or a session of A
is worth nothing on tenant B's host, and the second factor's pages touch only the signed-in user's own factor."""
from __future__ import annotations

from sqlalchemy import func, select

from domain.db import db
from domain.identity.models import StaffRecoveryCode, StaffSecondFactor
from tenants.context import tenant_scope
from tests.conftest import TEST_PASSWORD
from tests.two_step import fresh_code


def _half_signed_in(browser, a, b):
    """A's administrator past the password on A's host; the same browser state replayed on B's host."""
    home = browser(a.slug)
    response = home.submit("/backoffice/login", {"email": a.staff_emails["tenant_admin"], "password": TEST_PASSWORD})
    assert response.headers["Location"].endswith("/backoffice/login/code")
    away = browser(b.slug)
    away.client.set_cookie("session", home.cookie(), domain=away.host)
    return home, away


def _factors(app, data) -> tuple[int, int]:
    with app.app_context(), tenant_scope(data.tenant_id):
        return (db.session.scalar(select(func.count(StaffSecondFactor.id))),
                db.session.scalar(select(func.count(StaffRecoveryCode.id))))


def case_backoffice_second_step(app, browser, a, b):
    home, away = _half_signed_in(browser, a, b)

    asked = away.get("/backoffice/login/code")
    with fresh_code(app, kind="staff", email=a.staff_emails["tenant_admin"], host=home.host) as code:
        typed = away.submit("/backoffice/login", {"code": code}, action="/backoffice/login/code")

    assert asked.status_code == 302 and asked.headers["Location"].endswith("/backoffice/login")
    assert typed.status_code == 302 and typed.headers["Location"].endswith("/backoffice/login")
    assert away.get("/backoffice/").status_code == 302  # nobody signed in on B
    assert home.get("/backoffice/login/code").status_code == 200  # A's sign-in still waits for its code


def case_backoffice_second_factor_required(app, browser, a, b):
    before = _factors(app, b)
    _home, away = _half_signed_in(browser, a, b)

    asked = away.get("/backoffice/login/second-factor")

    assert asked.status_code == 302 and asked.headers["Location"].endswith("/backoffice/login")
    assert _factors(app, b) == before


def _session_of_a_on_b(browser, a, b, email):
    home = browser(a.slug)
    home.login(email, area="/backoffice")
    away = browser(b.slug)
    away.client.set_cookie("session", home.cookie(), domain=away.host)
    return home, away


def case_backoffice_second_factor(app, browser, a, b):
    home, away = _session_of_a_on_b(browser, a, b, a.staff_emails["tenant_admin"])

    assert away.get("/backoffice/account/second-factor").status_code == 302
    page = home.get("/backoffice/account/second-factor")
    assert page.status_code == 200 and "10 unused recovery codes left" not in page.get_data(as_text=True)


def case_backoffice_second_factor_enrol(app, browser, a, b):
    before = _factors(app, b)
    home, away = _session_of_a_on_b(browser, a, b, a.staff_emails["agent"])

    assert away.get("/backoffice/account/second-factor/enrol").status_code == 302
    assert _factors(app, b) == before
    assert home.get("/backoffice/account/second-factor/enrol").status_code == 200


def case_backoffice_second_factor_recovery_codes(app, browser, a, b):
    before = _factors(app, b)
    home, away = _session_of_a_on_b(browser, a, b, a.staff_emails["tenant_admin"])

    response = away.post("/backoffice/account/second-factor/recovery-codes",
                         {"code": "123456", "csrf_token": home.csrf("/backoffice/account/second-factor")})

    assert response.status_code in (400, 401)
    assert _factors(app, b) == before


def _console_not_on_tenant_host(browser, a, method, path):
    tenant_host = browser(a.slug)
    response = tenant_host.get(path) if method == "GET" else tenant_host.post(path)
    assert response.status_code == 404


def case_console_second_step(app, browser, a, b):
    _console_not_on_tenant_host(browser, a, "POST", "/console/login/code")


def case_console_second_factor_required(app, browser, a, b):
    _console_not_on_tenant_host(browser, a, "GET", "/console/login/second-factor")


def case_console_second_factor(app, browser, a, b):
    _console_not_on_tenant_host(browser, a, "GET", "/console/account/second-factor")


def case_console_second_factor_enrol(app, browser, a, b):
    _console_not_on_tenant_host(browser, a, "GET", "/console/account/second-factor/enrol")


def case_console_second_factor_recovery_codes(app, browser, a, b):
    _console_not_on_tenant_host(browser, a, "POST", "/console/account/second-factor/recovery-codes")
