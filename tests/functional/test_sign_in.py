"""Sign-in, sessions, CSRF, rate limits, password hashing, reset and security headers."""
from __future__ import annotations

import re

from sqlalchemy import select

from domain.db import db
from domain.identity.models import CustomerUser, LoginSession, StaffUser
from tenants.context import tenant_scope
from tests.conftest import TEST_PASSWORD


def _customer(app, data):
    with app.app_context(), tenant_scope(data.tenant_id):
        return db.session.scalar(select(CustomerUser).where(CustomerUser.email == data.customer_email))


def test_replayed_cookie_after_logout_signs_nobody_in(two_tenants, browser, client):
    a, _ = two_tenants
    portal = browser(a.slug)
    portal.login(a.customer_email)
    stolen = portal.cookie()
    assert portal.get("/").status_code == 200

    portal.submit("/", {}, action="/logout")
    client.set_cookie("session", stolen, domain=portal.host)

    assert portal.get("/").status_code == 302


def test_logout_deletes_the_server_side_session(app, two_tenants, browser):
    a, _ = two_tenants
    portal = browser(a.slug)
    portal.login(a.customer_email)

    portal.submit("/", {}, action="/logout")

    with app.app_context(), tenant_scope(a.tenant_id):
        assert db.session.scalar(select(LoginSession)) is None


def test_password_change_ends_other_sessions(app, two_tenants, client, browser):
    a, _ = two_tenants
    portal = browser(a.slug)
    portal.login(a.customer_email)
    other_device = portal.cookie()

    response = portal.submit("/password/change", {
        "current_password": TEST_PASSWORD, "password": "a-brand-new-password", "confirm": "a-brand-new-password",
    })
    this_device = portal.cookie()
    client.set_cookie("session", other_device, domain=portal.host)
    replayed = portal.get("/")
    client.set_cookie("session", this_device, domain=portal.host)

    assert response.status_code == 302
    assert replayed.status_code == 302
    assert portal.get("/").status_code == 200
    portal.submit("/", {}, action="/logout")
    assert portal.login(a.customer_email, "a-brand-new-password").status_code == 302


def test_wrong_csrf_token_is_rejected_and_changes_nothing(app, two_tenants, browser):
    a, _ = two_tenants
    portal = browser(a.slug)
    portal.login(a.customer_email)
    before = _customer(app, a).password_hash

    response = portal.post("/password/change", {
        "current_password": TEST_PASSWORD, "password": "a-brand-new-password", "confirm": "a-brand-new-password",
        "csrf_token": "forged-token",
    })

    assert response.status_code == 400
    assert "expired" in response.get_data(as_text=True)
    assert _customer(app, a).password_hash == before


def test_login_without_csrf_token_is_rejected(two_tenants, browser):
    a, _ = two_tenants

    response = browser(a.slug).post("/login", {"email": a.customer_email, "password": TEST_PASSWORD})

    assert response.status_code == 400


def test_stored_password_hashes_are_argon2id(app, two_tenants):
    a, _ = two_tenants
    with app.app_context(), tenant_scope(a.tenant_id):
        hashes = [u.password_hash for u in db.session.scalars(select(StaffUser))]
        hashes.append(db.session.scalar(select(CustomerUser.password_hash)))

    assert hashes and all(h.startswith("$argon2id$") for h in hashes)


def test_rate_limit_per_account_answers_429(two_tenants, browser):
    a, _ = two_tenants
    portal = browser(a.slug)

    codes = [portal.login(a.customer_email, "wrong-password-x").status_code for _ in range(6)]

    assert codes[:5] == [200] * 5
    assert codes[5] == 429
    # Even the right password is refused while the account is throttled.
    assert portal.login(a.customer_email).status_code == 429


def test_rate_limit_per_ip_answers_429(two_tenants, browser):
    a, _ = two_tenants
    portal = browser(a.slug)

    codes = [portal.login(f"nobody{i}@example.com", "wrong-password-x").status_code for i in range(31)]

    assert 429 not in codes[:30]
    assert codes[30] == 429


def test_rate_limit_per_ip_counts_across_every_tenant_host(two_tenants, browser):
    a, b = two_tenants

    on_a = [browser(a.slug).login(f"nobody{i}@example.com", "wrong-password-x").status_code for i in range(30)]
    on_b = browser(b.slug).login("someone@example.com", "wrong-password-x").status_code
    back_office_b = browser(b.slug).login("someone@example.com", "wrong-password-x", area="/backoffice").status_code

    assert 429 not in on_a
    assert on_b == back_office_b == 429


def test_a_successful_sign_in_does_not_use_up_the_accounts_allowance(two_tenants, browser):
    a, _ = two_tenants
    portal = browser(a.slug)

    codes = []
    for _ in range(7):
        codes.append(portal.login(a.customer_email).status_code)
        portal.submit("/", {}, action="/logout")

    assert codes == [302] * 7


def test_a_throttled_account_is_told_to_reset_its_password(two_tenants, browser):
    a, _ = two_tenants
    portal = browser(a.slug)
    for _ in range(5):
        portal.login(a.customer_email, "wrong-password-x")

    refused = portal.login(a.customer_email)

    assert refused.status_code == 429
    assert "Too many failed attempts to sign in to this account" in refused.get_data(as_text=True)
    assert "Forgotten your password?" in refused.get_data(as_text=True)


def test_reset_link_works_while_the_account_is_locked_out_and_lifts_the_lock_out(app, two_tenants, browser, outbox):
    a, _ = two_tenants
    portal = browser(a.slug)
    for _ in range(6):
        portal.login(a.customer_email, "wrong-password-x")
    locked = portal.login(a.customer_email).status_code

    asked = portal.submit("/password/forgot", {"email": a.customer_email})
    link = re.search(r"http://[^\s]+/password/reset/[\w-]+", outbox()[-1].get_body(("plain",)).get_content()).group(0)
    path = link.split(portal.host, 1)[1]
    reset = portal.submit(path, {"password": "reset-password-123", "confirm": "reset-password-123"})
    after = portal.login(a.customer_email, "reset-password-123")

    assert locked == 429
    assert asked.status_code == 302 and [m["To"] for m in outbox()] == [a.customer_email]
    assert reset.status_code == 302
    assert after.status_code == 302 and after.headers["Location"] == "/"


def test_staff_reset_lifts_the_back_office_lock_out(app, two_tenants, browser, outbox):
    a, _ = two_tenants
    office = browser(a.slug)
    email = a.staff_emails["agent"]
    for _ in range(6):
        office.login(email, "wrong-password-x", area="/backoffice")

    office.submit("/backoffice/password/forgot", {"email": email})
    link = re.search(r"http://[^\s]+/password/reset/[\w-]+", outbox()[-1].get_body(("plain",)).get_content()).group(0)
    office.submit(link.split(office.host, 1)[1], {"password": "reset-password-123", "confirm": "reset-password-123"})

    assert office.login(email, "reset-password-123", area="/backoffice").status_code == 302


def _operator(app, email="ops@platform.example.com"):
    from domain.identity import services as identity
    from tenants.context import platform_scope

    with app.app_context(), platform_scope("test operator"):
        identity.create_operator(email=email, full_name="Ops", password=TEST_PASSWORD)
        db.session.commit()
    return email


def test_console_sign_in_is_limited_per_operator_account(app, browser):
    ops = _operator(app)
    other = _operator(app, "other.ops@platform.example.com")
    console = browser("localhost")

    wrong = [console.login(ops, "wrong-password-x", area="/console").status_code for _ in range(5)]
    right = console.login(ops, area="/console")
    other_operator = console.login(other, area="/console")

    assert wrong == [200] * 5
    assert right.status_code == 429 and "Too many failed attempts" in right.get_data(as_text=True)
    assert "Forgotten your password?" not in right.get_data(as_text=True)
    assert other_operator.status_code == 302


def test_rate_limits_of_one_tenant_do_not_throttle_another(two_tenants, browser):
    a, b = two_tenants
    for _ in range(6):
        browser(a.slug).login("same@example.com", "wrong-password-x")

    assert browser(b.slug).login("same@example.com", "wrong-password-x").status_code == 200


def test_unknown_and_known_email_get_the_same_answer(two_tenants, browser):
    a, _ = two_tenants
    portal = browser(a.slug)

    wrong_password = portal.login(a.customer_email, "wrong-password-x").get_data(as_text=True)
    unknown = portal.login("nobody@example.com", "wrong-password-x").get_data(as_text=True)
    forgot_known = portal.submit("/password/forgot", {"email": a.customer_email}, follow_redirects=True)
    forgot_unknown = portal.submit("/password/forgot", {"email": "nobody@example.com"}, follow_redirects=True)

    message = "The e-mail address or the password is not right."
    assert message in wrong_password and message in unknown
    assert _notice(forgot_known) == _notice(forgot_unknown) != ""


def _notice(response) -> str:
    found = re.search(r'class="notice[^"]*"[^>]*>([^<]+)<', response.get_data(as_text=True))
    return found.group(1) if found else ""


def test_user_of_tenant_a_is_refused_on_tenant_b(two_tenants, browser):
    a, b = two_tenants

    customer = browser(b.slug).login(a.customer_email)
    staff = browser(b.slug).login(a.staff_emails["agent"], area="/backoffice")

    assert customer.status_code == 200 and "not right" in customer.get_data(as_text=True)
    assert staff.status_code == 200 and "not right" in staff.get_data(as_text=True)


def test_password_reset_by_email_link_works_once(app, two_tenants, browser, outbox):
    a, _ = two_tenants
    portal = browser(a.slug)

    portal.submit("/password/forgot", {"email": a.customer_email})
    mails = outbox()
    link = re.search(r"http://[^\s]+/password/reset/[\w-]+", mails[-1].get_body(("plain",)).get_content()).group(0)
    path = link.split(portal.host, 1)[1]
    reset = portal.submit(path, {"password": "reset-password-123", "confirm": "reset-password-123"})
    again = portal.get(path)

    assert len(mails) == 1 and mails[0]["To"] == a.customer_email
    assert "Alpha Utility" in mails[0]["From"]
    assert reset.status_code == 302
    assert again.status_code == 404
    assert portal.login(a.customer_email, "reset-password-123").status_code == 302


def test_weak_new_password_is_refused_with_a_message(app, two_tenants, browser):
    a, _ = two_tenants
    portal = browser(a.slug)
    portal.login(a.customer_email)
    before = _customer(app, a).password_hash

    response = portal.submit("/password/change", {
        "current_password": TEST_PASSWORD, "password": "short", "confirm": "short",
    })

    assert response.status_code == 200
    assert "Use at least 10 characters." in response.get_data(as_text=True)
    assert _customer(app, a).password_hash == before


def test_security_headers_on_every_response(two_tenants, browser):
    a, _ = two_tenants
    portal = browser(a.slug)

    anonymous = portal.get("/login")
    portal.login(a.customer_email)
    signed_in = portal.get("/")

    for response in (anonymous, signed_in):
        csp = response.headers["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp and "unsafe-inline" not in csp
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Referrer-Policy"]
    assert signed_in.headers["Cache-Control"] == "no-store"
    assert "no-store" not in anonymous.headers.get("Cache-Control", "")


def test_session_cookie_is_host_only_and_http_only(two_tenants, browser):
    a, _ = two_tenants

    response = browser(a.slug).login(a.customer_email)

    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Domain=" not in cookie


def test_open_redirect_after_login_is_refused(two_tenants, browser):
    a, _ = two_tenants
    portal = browser(a.slug)
    token = portal.csrf("/login")

    response = portal.post("/login?next=//evil.example.com/", {
        "email": a.customer_email, "password": TEST_PASSWORD, "csrf_token": token,
    })

    assert response.headers["Location"] == "/"


def test_staff_view_without_the_permission_is_forbidden(two_tenants, browser):
    a, _ = two_tenants
    office = browser(a.slug)
    office.login(a.staff_emails["agent"], area="/backoffice")

    history = office.get(f"/backoffice/customers/{a.account_number}/history")
    customer = office.get(f"/backoffice/customers/{a.account_number}")

    assert history.status_code == 403
    assert customer.status_code == 200


def test_customer_session_does_not_open_the_back_office(two_tenants, browser):
    a, _ = two_tenants
    portal = browser(a.slug)
    portal.login(a.customer_email)

    assert portal.get("/backoffice/").status_code == 302


def test_every_back_office_view_declares_its_permissions(app):
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules() if rule.rule.startswith("/backoffice")}
    views = {name: app.view_functions[name] for name in endpoints}

    undeclared = [name for name, view in views.items() if not hasattr(view, "required_permissions")]
    open_views = sorted(name for name, view in views.items() if getattr(view, "required_permissions", None) == ())

    assert views and not undeclared, f"back-office views without declared permissions: {undeclared}"
    assert open_views == ["backoffice.accept_invitation", "backoffice.forgot_password", "backoffice.login",
                          "backoffice.logout", "backoffice.reset_password", "backoffice.second_factor_required",
                          "backoffice.second_step"]
