"""Two-step sign-in as staff and operators meet it: enrolment with a QR code at the first sign-in of whoever must
have a second factor, the code after the password, recovery codes, the account page (issue 13 §1)."""
from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pyotp
import pytest
from sqlalchemy import select

from domain.audit.models import AuditEvent
from domain.db import db
from domain.identity import services as identity
from tenants.context import platform_scope, tenant_scope
from tests.conftest import TEST_PASSWORD
from tests.factories import TOTP_SECRET, StaffRoleGrantFactory, StaffUserFactory

T0 = datetime(2026, 11, 28, 9, 0, 5, tzinfo=UTC)  # 5 s into a 30-second step
_SECRET = re.compile(r'<code class="totp-secret" id="totp-secret">([A-Z2-7 ]+)</code>')
_RECOVERY = re.compile(r"<li><code>([a-z0-9-]{19})</code></li>")
NOT_RIGHT = "This code is not right."


@pytest.fixture
def frozen(clock):
    """The clock stopped at T0; `frozen(seconds)` moves it on from there."""
    def _at(seconds: int = 0):
        clock.move_to(T0 + timedelta(seconds=seconds), tick=False)
        return T0 + timedelta(seconds=seconds)

    _at(0)
    return _at


def _password(site, email, area="/backoffice", next_path=None):
    path = f"{area}/login" + (f"?next={next_path}" if next_path else "")
    return site.submit(path, {"email": email, "password": TEST_PASSWORD}, action=path)


def _new_admin(app, tenant_id, email="second.admin@alpha.test"):
    with app.app_context(), tenant_scope(tenant_id):
        user = StaffUserFactory(email=email, full_name="Second Admin")
        StaffRoleGrantFactory(user=user, role="tenant_admin")
        db.session.commit()
    return email


def _events(app, tenant_id, action):
    with app.app_context(), tenant_scope(tenant_id):
        return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def _enrol_through_the_page(site, area, at):
    """Read the key off the enrolment page, type the app's code: the recovery codes page."""
    page = site.get(f"{area}/login/second-factor").get_data(as_text=True)
    secret = _SECRET.search(page).group(1).replace(" ", "")
    done = site.submit(f"{area}/login/second-factor", {"code": pyotp.TOTP(secret).at(at)})
    return secret, done


def test_an_administrator_without_second_factor_enrols_before_reaching_any_page(app, two_tenants, browser, frozen):
    a, _ = two_tenants
    email = _new_admin(app, a.tenant_id)
    office = browser(a.slug)

    after_password = _password(office, email)
    elsewhere = [office.get(path) for path in ("/backoffice/", f"/backoffice/customers/{a.account_number}",
                                                "/backoffice/admin/")]
    page = office.get("/backoffice/login/second-factor").get_data(as_text=True)
    wrong = office.submit("/backoffice/login/second-factor", {"code": "000000"})
    still_out = office.get("/backoffice/")
    secret, done = _enrol_through_the_page(office, "/backoffice", T0)
    codes = _RECOVERY.findall(done.get_data(as_text=True))

    assert after_password.headers["Location"] == "/backoffice/login/second-factor"
    assert all(r.status_code == 302 and r.headers["Location"] == "/backoffice/login/second-factor"
               for r in elsewhere)
    assert '<svg class="qr-code" role="img"' in page and "<path" in page
    assert wrong.status_code == 200 and NOT_RIGHT in wrong.get_data(as_text=True)
    assert still_out.headers["Location"] == "/backoffice/login/second-factor"
    assert done.status_code == 200 and len(codes) == 10
    assert office.get("/backoffice/").status_code == 200
    assert len(_events(app, a.tenant_id, "second_factor_enrolled")) == 1
    # The next sign-in asks for the code.
    office.submit("/backoffice/", {}, action="/backoffice/logout")
    assert _password(office, email).headers["Location"] == "/backoffice/login/code"
    assert len(secret) == 32


def test_staff_with_a_second_factor_type_the_code_after_the_password(app, two_tenants, browser, frozen):
    a, _ = two_tenants
    office = browser(a.slug)
    code = pyotp.TOTP(TOTP_SECRET).at(T0)

    after_password = _password(office, a.staff_emails["tenant_admin"], next_path="/backoffice/customers")
    meanwhile = office.get("/backoffice/customers")
    wrong = office.submit("/backoffice/login/code", {"code": "000000"})
    right = office.submit("/backoffice/login/code", {"code": code})

    assert after_password.headers["Location"] == "/backoffice/login/code"
    assert meanwhile.status_code == 302 and meanwhile.headers["Location"] == "/backoffice/login/code"
    assert wrong.status_code == 200 and NOT_RIGHT in wrong.get_data(as_text=True)
    assert right.status_code == 302 and right.headers["Location"] == "/backoffice/customers"
    assert office.get("/backoffice/customers").status_code == 200


def test_the_same_code_cannot_sign_in_twice(app, two_tenants, browser, frozen):
    a, _ = two_tenants
    office = browser(a.slug)
    code = pyotp.TOTP(TOTP_SECRET).at(T0)
    _password(office, a.staff_emails["tenant_admin"])
    office.submit("/backoffice/login/code", {"code": code})
    office.submit("/backoffice/", {}, action="/backoffice/logout")

    frozen(10)
    _password(office, a.staff_emails["tenant_admin"])
    replayed = office.submit("/backoffice/login/code", {"code": code})
    frozen(30)
    fresh = office.submit("/backoffice/login/code", {"code": pyotp.TOTP(TOTP_SECRET).at(T0 + timedelta(seconds=30))})

    assert replayed.status_code == 200 and "already been used" in replayed.get_data(as_text=True)
    assert fresh.status_code == 302 and fresh.headers["Location"] == "/backoffice/"


def test_a_recovery_code_signs_in_once(app, two_tenants, browser, frozen):
    a, _ = two_tenants
    email = _new_admin(app, a.tenant_id)
    office = browser(a.slug)
    _password(office, email)
    _secret, done = _enrol_through_the_page(office, "/backoffice", T0)
    recovery = _RECOVERY.findall(done.get_data(as_text=True))[0]
    office.submit("/backoffice/", {}, action="/backoffice/logout")

    _password(office, email)
    first = office.submit("/backoffice/login/code", {"code": recovery.upper()}, follow_redirects=True)
    office.submit("/backoffice/", {}, action="/backoffice/logout")
    _password(office, email)
    again = office.submit("/backoffice/login/code", {"code": recovery})

    assert first.status_code == 200 and "9 recovery codes left" in first.get_data(as_text=True)
    assert again.status_code == 200 and NOT_RIGHT in again.get_data(as_text=True)
    assert len(_events(app, a.tenant_id, "recovery_code_used")) == 1


def test_wrong_codes_count_with_wrong_passwords_and_lock_the_account_for_a_while(app, two_tenants, browser, frozen):
    a, _ = two_tenants
    office = browser(a.slug)
    _password(office, a.staff_emails["tenant_admin"])

    wrong = [office.submit("/backoffice/login/code", {"code": "000000"}).status_code for _ in range(5)]
    right = office.submit("/backoffice/login/code", {"code": pyotp.TOTP(TOTP_SECRET).at(T0)})

    assert wrong == [200] * 5
    assert right.status_code == 429 and "Too many failed attempts" in right.get_data(as_text=True)
    assert office.get("/backoffice/").status_code == 302


def test_other_staff_sign_in_with_a_password_alone_and_may_enrol_from_their_account(app, two_tenants, browser,
                                                                                      frozen):
    a, _ = two_tenants
    office = browser(a.slug)
    email = a.staff_emails["agent"]

    signed_in = _password(office, email)
    account = office.get("/backoffice/account/second-factor").get_data(as_text=True)
    enrol_page = office.get("/backoffice/account/second-factor/enrol").get_data(as_text=True)
    secret = _SECRET.search(enrol_page).group(1).replace(" ", "")
    wrong = office.submit("/backoffice/account/second-factor/enrol", {"code": "000000"})
    done = office.submit("/backoffice/account/second-factor/enrol", {"code": pyotp.TOTP(secret).at(T0)})
    office.submit("/backoffice/", {}, action="/backoffice/logout")
    frozen(30)
    next_time = _password(office, email)

    assert signed_in.headers["Location"] == "/backoffice/"
    assert "Two-step sign-in" in account and "You sign in with your password only." in account
    assert wrong.status_code == 422 and NOT_RIGHT in wrong.get_data(as_text=True)
    assert done.status_code == 200 and len(_RECOVERY.findall(done.get_data(as_text=True))) == 10
    assert next_time.headers["Location"] == "/backoffice/login/code"


def test_new_recovery_codes_need_a_code_and_replace_the_old_ones(app, two_tenants, browser, frozen):
    a, _ = two_tenants
    office = browser(a.slug)
    email = _new_admin(app, a.tenant_id)
    _password(office, email)
    secret, done = _enrol_through_the_page(office, "/backoffice", T0)
    old = _RECOVERY.findall(done.get_data(as_text=True))

    page = office.get("/backoffice/account/second-factor").get_data(as_text=True)
    refused = office.submit("/backoffice/account/second-factor", {"code": "000000"},
                            action="/backoffice/account/second-factor/recovery-codes")
    frozen(30)
    renewed = office.submit("/backoffice/account/second-factor",
                            {"code": pyotp.TOTP(secret).at(T0 + timedelta(seconds=30))},
                            action="/backoffice/account/second-factor/recovery-codes")
    new = _RECOVERY.findall(renewed.get_data(as_text=True))
    office.submit("/backoffice/", {}, action="/backoffice/logout")
    _password(office, email)
    with_old = office.submit("/backoffice/login/code", {"code": old[0]})
    with_new = office.submit("/backoffice/login/code", {"code": new[0]})

    assert "10 unused recovery codes left" in page
    assert refused.status_code == 422 and NOT_RIGHT in refused.get_data(as_text=True)
    assert len(new) == 10 and not set(new) & set(old)
    assert NOT_RIGHT in with_old.get_data(as_text=True)
    assert with_new.status_code == 302


def test_an_operator_enrols_at_first_sign_in_then_types_codes(app, browser, frozen):
    with app.app_context(), platform_scope("test operator"):
        identity.create_operator(email="ops@platform.example.com", full_name="Ops", password=TEST_PASSWORD)
        db.session.commit()
    console = browser("localhost")

    after_password = _password(console, "ops@platform.example.com", area="/console")
    blocked = console.get("/console/")
    page = console.get("/console/login/second-factor").get_data(as_text=True)
    secret, done = _enrol_through_the_page(console, "/console", T0)
    home = console.get("/console/")
    console.submit("/console/", {}, action="/console/logout")
    frozen(30)
    _password(console, "ops@platform.example.com", area="/console")
    wrong = console.submit("/console/login/code", {"code": "000000"})
    right = console.submit("/console/login/code", {"code": pyotp.TOTP(secret).at(T0 + timedelta(seconds=30))})

    assert after_password.headers["Location"] == "/console/login/second-factor"
    assert blocked.headers["Location"] == "/console/login/second-factor"
    assert '<svg class="qr-code"' in page and "Platform console" not in _SECRET.search(page).group(0)
    assert done.status_code == 200 and len(_RECOVERY.findall(done.get_data(as_text=True))) == 10
    assert home.status_code == 200 and "Two-step sign-in" in home.get_data(as_text=True)
    assert NOT_RIGHT in wrong.get_data(as_text=True)
    assert right.status_code == 302 and right.headers["Location"] == "/console/"


def test_a_half_finished_sign_in_expires(app, two_tenants, browser, frozen):
    a, _ = two_tenants
    office = browser(a.slug)
    _password(office, a.staff_emails["tenant_admin"])

    frozen(11 * 60)
    late = office.get("/backoffice/login/code")

    assert late.status_code == 302 and late.headers["Location"] == "/backoffice/login"
    assert office.get("/backoffice/").headers["Location"].startswith("/backoffice/login?")


def test_the_tests_login_helper_signs_the_same_administrator_in_again_and_again(two_tenants, browser):
    a, _ = two_tenants
    office = browser(a.slug)

    answers = []
    for _ in range(4):  # within a few seconds: one 30-second step
        answers.append(office.login(a.staff_emails["tenant_admin"], area="/backoffice"))
        office.submit("/backoffice/", {}, action="/backoffice/logout")

    assert [(r.status_code, r.headers["Location"]) for r in answers] == [(302, "/backoffice/")] * 4


def test_the_cli_clears_an_operators_second_factor_and_they_enrol_again(app, browser):
    with app.app_context(), platform_scope("test operator"):
        identity.create_operator(email="ops@platform.example.com", full_name="Ops", password=TEST_PASSWORD)
        db.session.commit()
    console = browser("localhost")
    console.login("ops@platform.example.com", area="/console")  # enrolled with the tests' secret, signed in

    result = app.test_cli_runner().invoke(args=["tenants", "reset-operator-second-factor",
                                                "--email", "OPS@platform.example.com"])
    signed_out = console.get("/console/")
    again = _password(console, "ops@platform.example.com", area="/console")
    unknown = app.test_cli_runner().invoke(args=["tenants", "reset-operator-second-factor",
                                                 "--email", "nobody@platform.example.com"])

    assert result.exit_code == 0, result.output
    assert signed_out.status_code == 302 and signed_out.headers["Location"].startswith("/console/login")
    assert again.headers["Location"] == "/console/login/second-factor"
    assert unknown.exit_code != 0 and "no operator" in unknown.output
