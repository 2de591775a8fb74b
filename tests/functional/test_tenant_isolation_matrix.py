"""Every route, tried from tenant A with tenant B's objects, answers like a missing object.

The route list comes from the app's URL map: a new route without a case here fails
`test_every_route_has_an_isolation_case`.
"""
from __future__ import annotations

from datetime import timedelta



import pytest
from sqlalchemy import select

from domain.db import db, utcnow
from domain.identity import services as identity
from tenants.context import tenant_scope

from tests.isolation import MISSING, _TOKEN, _reset_token_of, _same_as_missing  # noqa: F401


# Each case: (app, browser factory, tenant A data, tenant B data) -> asserts.

def case_portal_account(app, browser, a, b):
    portal = browser(a.slug)
    portal.login(a.customer_email)
    _same_as_missing(portal, f"/accounts/{b.account_number}", f"/accounts/{MISSING}", b.account_number)
    assert portal.get(f"/accounts/{a.account_number}").status_code == 200


def case_portal_home(app, browser, a, b):
    portal = browser(a.slug)
    portal.login(a.customer_email)
    text = portal.get("/").get_data(as_text=True)
    assert a.account_number in text and b.delivery_point_identifier not in text
    # A's session cookie replayed on B's host signs nobody in there.
    other = browser(b.slug)
    other.client.set_cookie("session", portal.cookie(), domain=other.host)
    assert other.get("/").status_code == 302


def case_portal_login(app, browser, a, b):
    response = browser(b.slug).login(a.customer_email)
    assert response.status_code == 200
    assert "not right" in response.get_data(as_text=True)


def case_backoffice_login(app, browser, a, b):
    response = browser(b.slug).login(a.staff_emails["tenant_admin"].replace("bravo", "alpha"), area="/backoffice")
    assert response.status_code == 200
    assert "not right" in response.get_data(as_text=True)


def _forgot(app, browser, a, b, area, kind, email):
    from pathlib import Path
    outbox = Path(app.config["OUTBOX_DIR"])
    before = set(outbox.rglob("*.eml")) if outbox.exists() else set()
    response = browser(a.slug).submit(f"{area}/password/forgot", {"email": email})
    after = set(outbox.rglob("*.eml")) if outbox.exists() else set()
    assert response.status_code == 302
    assert after == before  # B's address is unknown on A's host: no mail
    from domain.communications.models import Message
    for tenant_id in (a.tenant_id, b.tenant_id):
        with app.app_context(), tenant_scope(tenant_id):
            assert db.session.scalars(select(Message.id)).all() == []  # nor any recorded to be sent later


def case_portal_forgot_password(app, browser, a, b):
    _forgot(app, browser, a, b, "", "customer", b.customer_email)


def case_backoffice_forgot_password(app, browser, a, b):
    _forgot(app, browser, a, b, "/backoffice", "staff", b.staff_emails["agent"])


def case_portal_reset_password(app, browser, a, b):
    token = _reset_token_of(app, b.tenant_id, b.customer_email, "customer")
    _same_as_missing(browser(a.slug), f"/password/reset/{token}", f"/password/reset/{MISSING}", token)
    assert browser(b.slug).get(f"/password/reset/{token}").status_code == 200


def case_backoffice_reset_password(app, browser, a, b):
    token = _reset_token_of(app, b.tenant_id, b.staff_emails["agent"], "staff")
    _same_as_missing(browser(a.slug), f"/backoffice/password/reset/{token}",
                     f"/backoffice/password/reset/{MISSING}", token)


def _session_of_a_elsewhere(browser, a, b, area, email):
    home = browser(a.slug)
    home.login(email, area=area)
    away = browser(b.slug)
    away.client.set_cookie("session", home.cookie(), domain=away.host)
    return home, away


def case_portal_change_password(app, browser, a, b):
    _home, away = _session_of_a_elsewhere(browser, a, b, "", a.customer_email)
    assert away.get("/password/change").status_code == 302


def case_backoffice_change_password(app, browser, a, b):
    _home, away = _session_of_a_elsewhere(browser, a, b, "/backoffice", a.staff_emails["tenant_admin"])
    assert away.get("/backoffice/password/change").status_code == 302


def case_portal_logout(app, browser, a, b):
    home, away = _session_of_a_elsewhere(browser, a, b, "", a.customer_email)
    away.submit("/login", {}, action="/logout")
    assert home.get("/").status_code == 200  # A's session on A's host is untouched


def case_backoffice_logout(app, browser, a, b):
    home, away = _session_of_a_elsewhere(browser, a, b, "/backoffice", a.staff_emails["tenant_admin"])
    away.submit("/backoffice/login", {}, action="/backoffice/logout")
    assert home.get("/backoffice/").status_code == 200


def case_portal_language(app, browser, a, b):
    from domain.identity.models import CustomerUser
    from sqlalchemy import select

    _home, away = _session_of_a_elsewhere(browser, a, b, "", a.customer_email)
    away.submit("/login", {"locale": "de", "next": "/"}, action="/language")
    with app.app_context(), tenant_scope(a.tenant_id):
        user = db.session.scalar(select(CustomerUser).where(CustomerUser.email == a.customer_email))
        assert user.locale != "de"


def case_backoffice_home(app, browser, a, b):
    office = browser(a.slug)
    office.login(a.staff_emails["tenant_admin"], area="/backoffice")
    page = office.get("/backoffice/")
    assert page.status_code == 200
    assert b.account_number not in page.get_data(as_text=True)


def case_backoffice_customers(app, browser, a, b):
    office = browser(a.slug)
    office.login(a.staff_emails["tenant_admin"], area="/backoffice")
    text = office.get(f"/backoffice/customers?q={b.delivery_point_identifier}").get_data(as_text=True)
    assert b.account_number not in text
    assert "0 customers found" in text


def case_backoffice_customer(app, browser, a, b):
    office = browser(a.slug)
    office.login(a.staff_emails["tenant_admin"], area="/backoffice")
    _same_as_missing(office, f"/backoffice/customers/{b.account_number}", f"/backoffice/customers/{MISSING}",
                     b.account_number)


def case_backoffice_bill_pdf(app, browser, a, b):
    office = browser(a.slug)
    office.login(a.staff_emails["agent"], area="/backoffice")
    _same_as_missing(office, f"/backoffice/bills/{b.bill_number}.pdf", f"/backoffice/bills/{MISSING}.pdf",
                     b.bill_number)
    own = office.get(f"/backoffice/bills/{a.bill_number}.pdf")
    assert own.status_code == 200 and own.data.startswith(b"%PDF")


def case_backoffice_bill_correct(app, browser, a, b):
    from domain.billing.models import Bill
    from sqlalchemy import select

    office = browser(a.slug)
    office.login(a.staff_emails["billing"], area="/backoffice")
    response = office.submit(f"/backoffice/customers/{a.account_number}", {},
                             action=f"/backoffice/bills/{b.bill_number}/correct")
    assert response.status_code == 404
    with app.app_context(), tenant_scope(b.tenant_id):
        assert db.session.scalar(select(Bill.status).where(Bill.number == b.bill_number)) == "issued"


def case_backoffice_customer_history(app, browser, a, b):
    office = browser(a.slug)
    office.login(a.staff_emails["tenant_admin"], area="/backoffice")
    _same_as_missing(office, f"/backoffice/customers/{b.account_number}/history",
                     f"/backoffice/customers/{MISSING}/history", b.account_number)


def _run_of(app, tenant_id: int) -> str:
    from datetime import date

    from domain.billing.run_models import BillingRun

    with app.app_context(), tenant_scope(tenant_id):
        run = BillingRun(billing_date=date(2026, 11, 1), mode="simulate", created_by="test", created_at=utcnow(),
                         status="simulated")
        db.session.add(run)
        db.session.commit()
        return run.public_id


def _billing_office(browser, a):
    office = browser(a.slug)
    office.login(a.staff_emails["billing"], area="/backoffice")
    return office


def case_billing_run_list(app, browser, a, b):
    b_run = _run_of(app, b.tenant_id)
    page = _billing_office(browser, a).get("/backoffice/billing/runs")
    assert page.status_code == 200 and b_run not in page.get_data(as_text=True)


def case_billing_run_detail(app, browser, a, b):
    b_run = _run_of(app, b.tenant_id)
    _same_as_missing(_billing_office(browser, a), f"/backoffice/billing/runs/{b_run}",
                     f"/backoffice/billing/runs/{MISSING}", b_run)


def case_billing_run_progress(app, browser, a, b):
    b_run = _run_of(app, b.tenant_id)
    office = _billing_office(browser, a)
    assert office.get(f"/backoffice/billing/runs/{b_run}/progress.json").status_code == 404


def _run_action_refused(app, browser, a, b, action):
    from domain.billing.run_models import BillingRun
    from sqlalchemy import select

    b_run = _run_of(app, b.tenant_id)
    office = _billing_office(browser, a)
    response = office.submit("/backoffice/billing/runs", {}, action=f"/backoffice/billing/runs/{b_run}/{action}")
    assert response.status_code == 404
    with app.app_context(), tenant_scope(b.tenant_id):
        assert db.session.scalar(select(BillingRun.status).where(BillingRun.public_id == b_run)) == "simulated"


def case_billing_run_issue(app, browser, a, b):
    _run_action_refused(app, browser, a, b, "issue")


def case_billing_run_cancel(app, browser, a, b):
    _run_action_refused(app, browser, a, b, "cancel")


def case_billing_run_resume(app, browser, a, b):
    _run_action_refused(app, browser, a, b, "resume")


def _console_not_on_tenant_host(browser, a, method, path):
    tenant_host = browser(a.slug)
    response = tenant_host.get(path) if method == "GET" else tenant_host.post(path)
    assert response.status_code == 404


def case_console_login(app, browser, a, b):
    _console_not_on_tenant_host(browser, a, "GET", "/console/login")


def case_console_logout(app, browser, a, b):
    _console_not_on_tenant_host(browser, a, "POST", "/console/logout")


def case_console_home(app, browser, a, b):
    _console_not_on_tenant_host(browser, a, "GET", "/console/")


def case_console_set_status(app, browser, a, b):
    _console_not_on_tenant_host(browser, a, "POST", f"/console/tenants/{b.slug}/status/suspended")


def case_branding_brand_css(app, browser, a, b):
    css_a = browser(a.slug).get("/brand.css").get_data(as_text=True)
    css_b = browser(b.slug).get("/brand.css").get_data(as_text=True)
    assert "#aa0000" in css_a and "#00aa00" not in css_a
    assert "#00aa00" in css_b


def case_branding_logo(app, browser, a, b):
    logo_a = browser(a.slug).get("/brand/logo").get_data(as_text=True)
    assert ">AU<" in logo_a and ">BU<" not in logo_a  # "Alpha Utility" initials, not "Bravo Utility"


def case_static(app, browser, a, b):
    assert browser(a.slug).get("/static/css/app.css").status_code == 200


def case_health_healthz(app, browser, a, b):
    assert browser(a.slug).get("/healthz").status_code == 200
    assert browser("unknown").get("/healthz").status_code == 200


def _collect_cases() -> dict:
    """The cases above, plus those of every module in `isolation_cases/` (one module per area)."""
    import importlib
    import pkgutil

    from tests.functional import isolation_cases

    namespaces = [globals()]
    for module in pkgutil.iter_modules(isolation_cases.__path__):
        namespaces.append(vars(importlib.import_module(f"{isolation_cases.__name__}.{module.name}")))
    cases = {}
    for namespace in namespaces:
        for name, func in namespace.items():
            if name.startswith("case_"):
                assert name[len("case_"):] not in cases, f"two isolation cases named {name}"
                cases[name[len("case_"):]] = func
    return cases


CASES = _collect_cases()


def _endpoint_key(endpoint: str) -> str:
    return endpoint.replace(".", "_")


def test_every_route_has_an_isolation_case(app):
    endpoints = {_endpoint_key(rule.endpoint) for rule in app.url_map.iter_rules()}

    missing = endpoints - set(CASES)

    assert not missing, f"routes without a tenant-isolation case: {sorted(missing)}"


@pytest.fixture
def world(app, two_tenants):
    from sqlalchemy import select

    from tenants.context import platform_scope
    from tenants.models import Tenant

    a, b = two_tenants
    with app.app_context(), platform_scope("test colours"):
        for slug, colour in ((a.slug, "#aa0000"), (b.slug, "#00aa00")):
            db.session.scalar(select(Tenant).where(Tenant.slug == slug)).primary_colour = colour
        db.session.commit()
    return a, b


@pytest.mark.parametrize("case", sorted(CASES))
def test_route_with_other_tenants_objects(app, browser, world, case):
    a, b = world

    CASES[case](app, browser, a, b)


def test_unknown_host_is_not_found(browser):
    assert browser("nowhere").get("/").status_code == 404
    assert browser("evil.example.com").get("/").status_code == 404


def test_password_links_expire(app, browser, two_tenants):
    a, _b = two_tenants
    token = _reset_token_of(app, a.tenant_id, a.customer_email, "customer")
    with app.app_context(), tenant_scope(a.tenant_id):
        assert identity.reset_token_is_valid(user_kind="customer", token=token, now=utcnow())
        assert not identity.reset_token_is_valid(user_kind="customer", token=token,
                                                 now=utcnow() + timedelta(minutes=31))
