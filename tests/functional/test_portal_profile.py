"""Profile: contact details, e-mail change by link, language, paperless billing, marketing consent, data export,
closing the access."""
from __future__ import annotations

import io
import re
import zipfile
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from domain.audit.models import AuditEvent
from domain.contracts.models import CustomerAccount
from domain.db import db
from domain.identity.models import CustomerUser, LoginSession
from domain.parties.models import ContactPoint
from domain.tasks.models import ServiceLevel, Task
from tenants.context import tenant_scope

_LINK = re.compile(r"https?://[^/\s]+(/\S+)")
ADDRESS = {"phone": "+33 4 72 10 20 30", "address_line1": "12 avenue Foch", "address_line2": "",
           "postcode": "69006", "city": "Lyon", "country": "FR"}


@pytest.fixture
def a(two_tenants):
    return two_tenants[0]


@pytest.fixture
def portal(a, browser):
    signed_in = browser(a.slug)
    signed_in.login(a.customer_email)
    return signed_in


def _user(app, a, email=None) -> CustomerUser:
    with app.app_context(), tenant_scope(a.tenant_id):
        user = db.session.scalar(select(CustomerUser).where(CustomerUser.email == (email or a.customer_email)))
        db.session.expunge_all()
        return user


def _in_tenant(app, a, fn):
    with app.app_context(), tenant_scope(a.tenant_id):
        result = fn()
        db.session.commit()
        return result


def test_profile_page_shows_every_section(a, portal):
    response = portal.get("/profile")

    text = response.get_data(as_text=True)
    assert response.status_code == 200
    for heading in ("Contact details", "Sign-in", "Language", "Paperless billing", "News and offers", "My accounts",
                    "My data"):
        assert f">{heading}</h2>" in text
    assert 'href="/profile" aria-current="page"' in text
    assert 'href="/password/change"' in text and a.account_number in text
    assert "profile.css" in text


def test_profile_needs_sign_in(a, browser):
    response = browser(a.slug).get("/profile")

    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_contact_details_are_saved(app, a, portal):
    response = portal.submit("/profile/contact", ADDRESS)

    points = _in_tenant(app, a, lambda: {c.kind: (c.value, c.postcode, c.address_line1)
                                        for c in db.session.scalars(select(ContactPoint))})
    assert response.status_code == 302
    assert points["phone"][0] == "+33 4 72 10 20 30"
    assert points["postal"][1:] == ("69006", "12 avenue Foch")
    assert "12 avenue Foch" in portal.get("/profile").get_data(as_text=True)


def test_invalid_contact_details_are_refused_and_nothing_is_stored(app, a, portal):
    response = portal.submit("/profile/contact", {**ADDRESS, "phone": "call me", "postcode": ""})

    text = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'href="#postcode">Enter the postcode.' in text
    assert 'href="#phone">' in text
    assert _in_tenant(app, a, lambda: db.session.scalar(
        select(ContactPoint.id).where(ContactPoint.kind.in_(("phone", "postal"))))) is None


def test_an_empty_phone_removes_it(app, a, portal):
    portal.submit("/profile/contact", ADDRESS)

    portal.submit("/profile/contact", {**ADDRESS, "phone": ""})

    assert _in_tenant(app, a, lambda: db.session.scalar(
        select(ContactPoint.id).where(ContactPoint.kind == "phone"))) is None


def test_email_changes_only_when_the_link_is_followed(app, a, portal, browser, outbox):
    asked = portal.submit("/profile/email", {"email": "Moved@Example.test"})
    mail = outbox()[0]
    link = _LINK.search(mail.get_body(preferencelist=("plain",)).get_content()).group(1)
    before = _user(app, a)
    confirm_page = portal.get(link)
    confirmed = portal.submit(link, {})
    reused = portal.get(link)

    assert asked.status_code == 302
    assert mail["To"] == "moved@example.test"
    assert before.email == a.customer_email  # nothing changed before the link
    assert confirm_page.status_code == 200 and "moved@example.test" in confirm_page.get_data(as_text=True)
    assert confirmed.status_code == 302
    assert _user(app, a, "moved@example.test") is not None
    assert reused.status_code == 404
    portal.submit("/", {}, action="/logout")
    assert portal.login("moved@example.test").status_code == 302


def _confirm_change_to(portal, outbox, address):
    portal.submit("/profile/email", {"email": address})
    link = _LINK.search(outbox()[0].get_body(preferencelist=("plain",)).get_content()).group(1)
    return portal.submit(link, {})


def test_the_old_address_is_told_of_an_email_change(app, a, portal, outbox):
    def brand():
        from tenants.models import Tenant
        tenant = db.session.get(Tenant, a.tenant_id)
        tenant.support_email = "help@alpha.example"
        return tenant.name
    name = _in_tenant(app, a, brand)

    confirmed = _confirm_change_to(portal, outbox, "moved@example.test")

    mails = outbox()
    notice = next(m for m in mails if m["To"] == a.customer_email)
    text = notice.get_body(preferencelist=("plain",)).get_content()
    html = notice.get_body(preferencelist=("html",)).get_content()
    assert confirmed.status_code == 302
    # The link first, then the notice to the login's old address, then to the holder's address on file before
    # the change (which the change replaced): whoever changed it, both owners hear of it.
    assert [m["To"] for m in mails] == ["moved@example.test", a.customer_email, "alpha.customer@example.test"]
    holder = mails[2].get_body(preferencelist=("plain",)).get_content()
    assert mails[2]["Subject"] == "The sign-in address of an online access to your account has changed"
    assert "m•••@example.test" in holder and "moved@example.test" not in holder
    assert notice["Subject"] == "The e-mail address of your online access has changed"
    assert name in notice["From"]
    assert "m•••@example.test" in text and "moved@example.test" not in text
    assert "If you did not, someone else may have used your online access." in text
    assert "help@alpha.example" in text and "help@alpha.example" in html
    assert "/profile/email/" not in text  # no link that would let a reader change anything


def test_the_email_change_notice_is_in_the_customers_language(app, a, portal, outbox):
    def french():
        db.session.scalar(select(CustomerUser).where(CustomerUser.email == a.customer_email)).locale = "fr"
    _in_tenant(app, a, french)

    _confirm_change_to(portal, outbox, "moved@example.test")

    notice = next(m for m in outbox() if m["To"] == a.customer_email)
    text = notice.get_body(preferencelist=("plain",)).get_content()
    assert notice["Subject"] == "L’adresse e-mail de votre accès en ligne a changé"
    assert "Si ce n’est pas vous" in text


def test_no_notice_when_the_change_is_refused(app, a, portal, outbox):
    portal.submit("/profile/email", {"email": "moved@example.test"})
    link = _LINK.search(outbox()[0].get_body(preferencelist=("plain",)).get_content()).group(1)
    portal.submit(link, {})
    sent = len(outbox())

    reused = portal.submit(link, {})

    assert reused.status_code == 404
    assert len(outbox()) == sent


def test_mask_email_keeps_the_first_letter_and_the_domain():
    from domain.identity.profile import mask_email

    assert mask_email("jeanne@example.org") == "j•••@example.org"
    assert mask_email("not-an-address") == "•••"


def test_email_change_to_the_same_address_is_refused(a, portal, outbox):
    response = portal.submit("/profile/email", {"email": a.customer_email.upper()})

    assert "This is already the address you sign in with." in response.get_data(as_text=True)
    assert outbox() == []


def test_email_change_to_an_address_taken_meanwhile_is_refused(app, a, portal, outbox):
    portal.submit("/profile/email", {"email": "taken@example.test"})
    link = _LINK.search(outbox()[0].get_body(preferencelist=("plain",)).get_content()).group(1)

    def take():
        owner = db.session.scalar(select(CustomerUser).where(CustomerUser.email == a.customer_email))
        db.session.add(CustomerUser(email="taken@example.test", party_id=owner.party_id,
                                    password_hash=owner.password_hash))
    _in_tenant(app, a, take)

    response = portal.submit(link, {})

    assert response.status_code == 302 and response.headers["Location"].endswith("/profile/email")
    assert _user(app, a).email == a.customer_email


def test_language_is_stored_on_the_user(app, a, portal):
    response = portal.submit("/profile", {"locale": "de"}, action="/profile/language")

    assert response.status_code == 302
    assert _user(app, a).locale == "de"
    assert "Mein Profil" in portal.get("/profile").get_data(as_text=True)


def test_unknown_language_is_refused(app, a, portal):
    response = portal.submit("/profile", {"locale": "xx"}, action="/profile/language")

    assert response.status_code == 400
    assert _user(app, a).locale is None


def _set_verified(app, a, verified: bool):
    from domain.db import utcnow

    def change():
        user = db.session.scalar(select(CustomerUser).where(CustomerUser.email == a.customer_email))
        user.email_verified_at = utcnow() if verified else None
    _in_tenant(app, a, change)


def _paperless(app, a) -> bool:
    return _in_tenant(app, a, lambda: db.session.scalar(
        select(CustomerAccount.paperless).where(CustomerAccount.account_number == a.account_number)))


def test_paperless_billing_with_a_verified_email(app, a, portal):
    response = portal.submit("/profile", {"account_number": a.account_number, "paperless": "y"},
                             action="/profile/paperless")
    page = portal.get("/profile").get_data(as_text=True)

    assert response.status_code == 302
    assert _paperless(app, a) is True
    assert "You can still ask for a paper copy at any time." in page
    assert "A paper copy stays available on request" in page


def test_paperless_billing_is_refused_without_a_verified_email(app, a, portal):
    _set_verified(app, a, False)

    portal.submit("/profile", {"account_number": a.account_number, "paperless": "y"}, action="/profile/paperless")

    assert _paperless(app, a) is False
    assert "Confirm your e-mail address first" in portal.get("/profile").get_data(as_text=True)


def test_paperless_billing_back_to_paper(app, a, portal):
    portal.submit("/profile", {"account_number": a.account_number, "paperless": "y"}, action="/profile/paperless")

    portal.submit("/profile", {"account_number": a.account_number}, action="/profile/paperless")

    assert _paperless(app, a) is False


def test_marketing_consent_is_stored_and_audited(app, a, portal):
    on = portal.submit("/profile", {"marketing_consent": "y"}, action="/profile/marketing")
    user_on = _user(app, a)
    off = portal.submit("/profile", {}, action="/profile/marketing")
    user_off = _user(app, a)

    events = _in_tenant(app, a, lambda: [e.changes["marketing_consent"] for e in db.session.scalars(
        select(AuditEvent).where(AuditEvent.entity_type == "CustomerUser").order_by(AuditEvent.id))
        if "marketing_consent" in (e.changes or {})])
    assert on.status_code == off.status_code == 302
    assert user_on.marketing_consent is True and user_on.marketing_consent_at is not None
    assert user_off.marketing_consent is False
    assert events == [{"before": False, "after": True}, {"before": True, "after": False}]


def test_profile_forms_need_the_csrf_token(app, a, portal):
    response = portal.post("/profile/marketing", {"marketing_consent": "y", "csrf_token": "forged"})

    assert response.status_code == 400
    assert _user(app, a).marketing_consent is False


def test_data_export_downloads_a_zip_of_own_data(a, portal, two_tenants):
    _a, b = two_tenants

    response = portal.get("/profile/my-data.zip")

    archive = zipfile.ZipFile(io.BytesIO(response.data))
    accounts = archive.read("json/accounts.json").decode()
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/zip"
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert a.account_number in accounts and b.account_number not in accounts
    assert "csv/bills.csv" in archive.namelist()


def test_closing_the_access_needs_confirmation(app, a, portal):
    page = portal.get("/profile/close")
    refused = portal.submit("/profile/close", {})

    assert page.status_code == 200
    assert "Tick the box to confirm." in refused.get_data(as_text=True)
    assert _user(app, a).closure_requested_at is None


def test_closing_the_access_signs_out_everywhere_and_queues_a_task(app, a, portal, browser, client, outbox):
    # The utility answers closures within 10 days (its own service level): the e-mail promises that day.
    _in_tenant(app, a, lambda: (db.session.add(ServiceLevel(scope="task", code="access_closure", amount=10,
                                                            unit="days")), db.session.commit()))
    other_device = portal.cookie()
    portal.client.set_cookie("session", other_device, domain=portal.host)

    response = portal.submit("/profile/close", {"confirm": "y"})

    user = _user(app, a)
    tasks = _in_tenant(app, a, lambda: [(t.kind, t.subject_id, t.work_group.code) for t in db.session.scalars(
        select(Task).where(Task.kind == "access_closure"))])
    sessions = _in_tenant(app, a, lambda: db.session.scalar(select(LoginSession.id)))
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert user.closure_requested_at is not None
    assert tasks == [("access_closure", user.id, "front_office")]
    assert sessions is None
    assert [m["To"] for m in outbox()] == [a.customer_email]
    due = _in_tenant(app, a, lambda: db.session.scalar(select(Task.due_at).where(Task.kind == "access_closure")))
    assert due.date() == date(2026, 11, 28) + timedelta(days=10)  # the pinned clock's day, 09:00 UTC
    promise = re.search(r"close the access by ([^.]*) and confirm it", outbox()[0].get_body(("plain",)).get_content())
    assert promise and "8" in promise.group(1) and "2026" in promise.group(1) and "Dec" in promise.group(1)
    client.set_cookie("session", other_device, domain=portal.host)
    assert portal.get("/").status_code == 302
