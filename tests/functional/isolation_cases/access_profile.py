"""Isolation cases of the getting-in and profile routes: tenant B's customer numbers, links and sessions do
nothing on tenant A's host."""
from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from domain.contracts.models import CustomerAccount
from domain.db import db, utcnow
from domain.identity import activation
from domain.identity.models import CustomerAccess, CustomerUser, EmailVerification
from domain.identity.profile import start_email_change
from tenants.context import tenant_scope
from tests.isolation import MISSING, _same_as_missing, same_page

CODE = "ABCDE23456"


def _mails(app) -> set:
    """The mails written and the messages recorded (with workers, a recorded message is sent later)."""
    from domain.communications.models import Message
    from tenants.context import platform_scope

    outbox = Path(app.config["OUTBOX_DIR"])
    files = set(outbox.rglob("*.eml")) if outbox.exists() else set()
    with app.app_context(), platform_scope("isolation: list every tenant's ids"):
        from tenants.models import Tenant
        tenant_ids = list(db.session.scalars(select(Tenant.id)))
    recorded = set()
    for tenant_id in tenant_ids:
        with app.app_context(), tenant_scope(tenant_id):
            recorded |= {(tenant_id, m) for m in db.session.scalars(select(Message.id))}
    return files | recorded


def _give_code(app, data) -> None:
    with app.app_context(), tenant_scope(data.tenant_id):
        account = db.session.scalar(
            select(CustomerAccount).where(CustomerAccount.account_number == data.account_number))
        account.activation_code = CODE
        db.session.commit()


def _user_of(data) -> CustomerUser:
    return db.session.scalar(select(CustomerUser).where(CustomerUser.email == data.customer_email))


def _link_token(app, data, purpose: str) -> str:
    with app.app_context(), tenant_scope(data.tenant_id):
        user = _user_of(data)
        if purpose == "email_change":
            token, _address = start_email_change(user=user, new_email="elsewhere@example.test", now=utcnow())
        elif purpose == "link_account":
            db.session.query(CustomerAccount).update({"activation_code": CODE})
            token = activation.start_link_account(user=user, account_number=data.account_number, postcode=None,
                                                  activation_code=CODE, now=utcnow(), secret=b"test").token
        else:
            db.session.query(CustomerAccount).update({"activation_code": CODE})
            token = activation.start_activation(account_number=data.account_number, postcode=None,
                                                activation_code=CODE, email="newcomer@example.test",
                                                now=utcnow(), secret=b"test").token
        db.session.commit()
        return token


def _signed_in(browser, a):
    portal = browser(a.slug)
    portal.login(a.customer_email)
    return portal


def _replayed_elsewhere(browser, a, b, home=None):
    home = home or _signed_in(browser, a)
    away = browser(b.slug)
    away.client.set_cookie("session", home.cookie(), domain=away.host)
    return home, away


def case_portal_activate(app, browser, a, b):
    _give_code(app, b)
    portal = browser(a.slug)
    before = _mails(app)

    foreign = portal.submit("/activate", {"account_number": b.account_number, "activation_code": CODE,
                                          "email": "x@example.test"})
    missing = portal.submit("/activate", {"account_number": MISSING, "activation_code": CODE,
                                          "email": "x@example.test"})

    assert foreign.status_code == missing.status_code == 200
    assert _mails(app) == before
    with app.app_context(), tenant_scope(a.tenant_id):
        assert db.session.scalar(select(EmailVerification.id).where(EmailVerification.email == "x@example.test")) \
            is None


def case_portal_activate_account(app, browser, a, b):
    token = _link_token(app, b, "activation")
    _same_as_missing(browser(a.slug), f"/activate/{token}", f"/activate/{MISSING}", token)
    assert browser(b.slug).get(f"/activate/{token}").status_code == 200


def case_portal_link_account(app, browser, a, b):
    _give_code(app, b)
    portal = _signed_in(browser, a)
    before = _mails(app)

    response = portal.submit("/accounts/link", {"account_number": b.account_number, "activation_code": CODE})

    assert response.status_code == 200
    assert _mails(app) == before
    with app.app_context(), tenant_scope(a.tenant_id):
        assert len(list(db.session.scalars(select(CustomerAccess)))) == 1


def case_portal_confirm_link(app, browser, a, b):
    token = _link_token(app, b, "link_account")
    portal = _signed_in(browser, a)
    _same_as_missing(portal, f"/accounts/link/{token}", f"/accounts/link/{MISSING}", token)
    response = portal.submit("/profile", {}, action=f"/accounts/link/{token}")
    assert response.status_code == 404
    with app.app_context(), tenant_scope(b.tenant_id):
        assert db.session.scalar(select(EmailVerification.used_at).where(
            EmailVerification.purpose == "link_account")) is None


def case_portal_confirm_email(app, browser, a, b):
    token = _link_token(app, b, "email_change")
    portal = _signed_in(browser, a)
    _same_as_missing(portal, f"/profile/email/{token}", f"/profile/email/{MISSING}", token)
    portal.submit("/profile", {}, action=f"/profile/email/{token}")
    with app.app_context(), tenant_scope(b.tenant_id):
        assert _user_of(b).email == b.customer_email


def case_portal_profile(app, browser, a, b):
    home = _signed_in(browser, a)
    text = home.get("/profile").get_data(as_text=True)
    assert a.account_number in text and b.account_number not in text and b.customer_email not in text
    _home, away = _replayed_elsewhere(browser, a, b, home)
    assert away.get("/profile").status_code == 302


def case_portal_profile_contact(app, browser, a, b):
    _home, away = _replayed_elsewhere(browser, a, b)
    assert away.get("/profile/contact").status_code == 302


def case_portal_profile_email(app, browser, a, b):
    _home, away = _replayed_elsewhere(browser, a, b)
    assert away.get("/profile/email").status_code == 302


def case_portal_profile_language(app, browser, a, b):
    home, away = _replayed_elsewhere(browser, a, b)
    response = away.post("/profile/language", {"locale": "de", "csrf_token": home.csrf("/profile")})
    assert response.status_code in (400, 401)
    with app.app_context(), tenant_scope(a.tenant_id):
        assert _user_of(a).locale != "de"


def case_portal_profile_paperless(app, browser, a, b):
    portal = _signed_in(browser, a)
    foreign = portal.submit("/profile", {"account_number": b.account_number, "paperless": "y"},
                            action="/profile/paperless")
    missing = portal.submit("/profile", {"account_number": MISSING, "paperless": "y"}, action="/profile/paperless")
    assert foreign.status_code == missing.status_code == 404
    assert same_page(foreign, missing)
    with app.app_context(), tenant_scope(b.tenant_id):
        assert db.session.scalar(select(CustomerAccount.paperless)) is False


def case_portal_profile_marketing(app, browser, a, b):
    home, away = _replayed_elsewhere(browser, a, b)
    response = away.post("/profile/marketing", {"marketing_consent": "y", "csrf_token": home.csrf("/profile")})
    assert response.status_code in (400, 401)
    for data in (a, b):
        with app.app_context(), tenant_scope(data.tenant_id):
            assert _user_of(data).marketing_consent is False


def case_portal_profile_export(app, browser, a, b):
    import io
    import zipfile

    response = _signed_in(browser, a).get("/profile/my-data.zip")
    archive = zipfile.ZipFile(io.BytesIO(response.data))
    everything = "".join(archive.read(name).decode("utf-8-sig") for name in archive.namelist())
    assert a.account_number in everything
    for foreign in (b.account_number, b.bill_number, b.customer_email, b.request_reference,
                    b.delivery_point_identifier):
        assert foreign not in everything


def case_portal_profile_close(app, browser, a, b):
    home, away = _replayed_elsewhere(browser, a, b)
    assert away.get("/profile/close").status_code == 302
    response = away.post("/profile/close", {"confirm": "y", "csrf_token": home.csrf("/profile")})
    assert response.status_code in (400, 401)
    with app.app_context(), tenant_scope(a.tenant_id):
        assert _user_of(a).closure_requested_at is None
    assert home.get("/profile").status_code == 200
