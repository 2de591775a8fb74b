"""Getting in: activating online access from a bill, the e-mailed link, linking another account."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from domain.db import db, utcnow
from domain.identity import activation
from domain.identity.models import CustomerAccess, CustomerUser, EmailVerification
from tenants.context import tenant_scope
from tests.integration.test_activation import make_holder

PASSWORD = "a-long-enough-password"
_LINK = re.compile(r"https?://[^/\s]+(/\S+)")
_CSRF_VALUE = re.compile(r'name="csrf_token"[^>]*value="[^"]+"|value="[^"]+"[^>]*name="csrf_token"')


@pytest.fixture
def world(app, two_tenants):
    a, b = two_tenants
    with app.app_context():
        holder_a = make_holder(a.tenant_id)
        holder_b = make_holder(b.tenant_id)
    return a, b, holder_a, holder_b


def _body(mail) -> str:
    return mail.get_body(preferencelist=("plain",)).get_content()


def _link_path(mail) -> str:
    return _LINK.search(_body(mail)).group(1)


def _activate(portal, number, email="new@example.test", postcode="69001", code=""):
    return portal.submit("/activate", {"account_number": number, "postcode": postcode, "activation_code": code,
                                       "email": email})


def _count(app, tenant_id, model) -> int:
    with app.app_context(), tenant_scope(tenant_id):
        return db.session.scalar(select(func.count(model.id)))


def _answer(response) -> str:
    return _CSRF_VALUE.sub("", response.get_data(as_text=True))


def test_activation_from_postcode_to_signed_in_home(app, world, browser, outbox):
    a, _b, holder, _hb = world
    portal = browser(a.slug)

    asked = _activate(portal, holder.home)
    mails = outbox()
    link = _link_path(mails[0])
    form = portal.get(link)
    done = portal.submit(link, {"password": PASSWORD, "confirm": PASSWORD})
    home = portal.get("/")

    assert asked.status_code == 200 and "Check your e-mail" in asked.get_data(as_text=True)
    assert [m["To"] for m in mails] == ["new@example.test"]
    assert holder.home in _body(mails[0]) and "24 hours" in _body(mails[0])
    assert form.status_code == 200 and "Choose your password" in form.get_data(as_text=True)
    assert done.status_code == 302 and done.headers["Location"].endswith("/")
    assert home.status_code == 200
    assert holder.home in home.get_data(as_text=True) and holder.holiday in home.get_data(as_text=True)
    assert holder.stranger not in home.get_data(as_text=True)


def test_activation_with_the_code_printed_on_bills(app, world, browser, outbox):
    a, _b, holder, _hb = world
    portal = browser(a.slug)

    _activate(portal, holder.home, postcode="", code="abcde-23456")

    assert len(outbox()) == 1


@pytest.mark.parametrize("case", ["wrong_postcode", "unknown_number", "other_tenants_number", "wrong_code"])
def test_wrong_facts_get_the_same_answer_and_no_mail(app, world, browser, outbox, case):
    a, _b, holder, holder_b = world
    portal = browser(a.slug)
    number, postcode, code = {
        "wrong_postcode": (holder.home, "69002", ""),
        "unknown_number": ("C77777777", "69001", ""),
        "other_tenants_number": (holder_b.home, "69001", ""),
        "wrong_code": (holder.home, "", "ABCDE23457"),
    }[case]
    right = _activate(portal, holder.home, email="same@example.test")
    outbox_after_right = len(outbox())

    wrong = _activate(portal, number, email="same@example.test", postcode=postcode, code=code)

    assert wrong.status_code == right.status_code == 200
    assert _answer(wrong) == _answer(right)
    assert len(outbox()) == outbox_after_right == 1
    assert _count(app, a.tenant_id, EmailVerification) == 1 + 1  # populate_tenant's own, and the right one


def test_a_second_fact_is_required(app, world, browser, outbox):
    a, _b, holder, _hb = world

    response = _activate(browser(a.slug), holder.home, postcode=" - ", code="")

    text = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Enter the postcode of your postal address or the activation code." in text
    assert 'href="#postcode"' in text
    assert outbox() == []


def test_bad_email_is_refused_with_a_message(app, world, browser, outbox):
    a, _b, holder, _hb = world

    response = _activate(browser(a.slug), holder.home, email="not-an-address")

    assert "Enter a valid e-mail address." in response.get_data(as_text=True)
    assert outbox() == []


def test_activation_without_csrf_token_is_refused(app, world, browser, outbox):
    a, _b, holder, _hb = world

    response = browser(a.slug).post("/activate", {"account_number": holder.home, "postcode": "69001",
                                                  "email": "new@example.test"})

    assert response.status_code == 400
    assert outbox() == []


def test_weak_or_mismatched_password_keeps_the_form(app, world, browser, outbox):
    a, _b, holder, _hb = world
    portal = browser(a.slug)
    _activate(portal, holder.home)
    link = _link_path(outbox()[0])

    common = portal.submit(link, {"password": "1234567890", "confirm": "1234567890"})
    different = portal.submit(link, {"password": PASSWORD, "confirm": PASSWORD + "x"})

    assert "This password is too common" in common.get_data(as_text=True)
    assert "The two passwords are different." in different.get_data(as_text=True)
    assert _count(app, a.tenant_id, CustomerUser) == 1  # only populate_tenant's
    assert portal.get(link).status_code == 200  # the link still works


def test_a_used_link_no_longer_works(app, world, browser, outbox):
    a, _b, holder, _hb = world
    portal = browser(a.slug)
    _activate(portal, holder.home)
    link = _link_path(outbox()[0])
    portal.submit(link, {"password": PASSWORD, "confirm": PASSWORD})
    portal.submit("/", {}, action="/logout")

    again = portal.get(link)

    assert again.status_code == 404
    assert "This link no longer works" in again.get_data(as_text=True)


def test_an_expired_link_no_longer_works(app, world, browser):
    a, _b, holder, _hb = world
    with app.app_context(), tenant_scope(a.tenant_id):
        token = activation.start_activation(account_number=holder.home, postcode="69001", activation_code=None,
                                            email="late@example.test", now=utcnow() - timedelta(hours=25)).token
        db.session.commit()
    portal = browser(a.slug)

    page = portal.get(f"/activate/{token}")
    posted = portal.post(f"/activate/{token}", {"password": PASSWORD, "confirm": PASSWORD,
                                                "csrf_token": portal.csrf("/activate")})

    assert page.status_code == posted.status_code == 404
    assert _count(app, a.tenant_id, CustomerUser) == 1


def test_an_address_that_already_signs_in_gets_the_account_added_after_sign_in(app, world, browser, outbox):
    a, _b, holder, _hb = world
    portal = browser(a.slug)
    _activate(portal, holder.home, email=a.customer_email)
    mail = outbox()[0]
    link = _link_path(mail)

    followed = portal.get(link, follow_redirects=False)
    to_login = portal.get(followed.headers["Location"])
    portal.login(a.customer_email)
    confirm = portal.get(followed.headers["Location"])
    added = portal.submit(followed.headers["Location"], {})
    home = portal.get("/").get_data(as_text=True)

    assert "sign in to add it" in _body(mail)
    assert followed.status_code == 302 and "/accounts/link/" in followed.headers["Location"]
    assert to_login.status_code == 302 and "/login" in to_login.headers["Location"]
    assert confirm.status_code == 200 and holder.home in confirm.get_data(as_text=True)
    assert added.status_code == 302
    assert holder.home in home and a.account_number in home
    assert _count(app, a.tenant_id, CustomerUser) == 1


def test_signed_in_customer_links_another_account(app, world, browser, outbox):
    a, _b, holder, _hb = world
    portal = browser(a.slug)
    portal.login(a.customer_email)

    asked = portal.submit("/accounts/link", {"account_number": holder.holiday, "postcode": "",
                                             "activation_code": "HJKLM78923"})
    mail = outbox()[0]
    link = _link_path(mail)
    before = portal.get("/profile").get_data(as_text=True)
    portal.submit(link, {})
    after = portal.get("/profile").get_data(as_text=True)

    assert asked.status_code == 200 and "Check your e-mail" in asked.get_data(as_text=True)
    assert mail["To"] == a.customer_email
    assert holder.holiday not in before and holder.holiday in after


def test_linking_with_a_wrong_fact_sends_nothing_and_links_nothing(app, world, browser, outbox):
    a, _b, holder, _hb = world
    portal = browser(a.slug)
    portal.login(a.customer_email)

    asked = portal.submit("/accounts/link", {"account_number": holder.holiday, "postcode": "99999"})

    assert "Check your e-mail" in asked.get_data(as_text=True)
    assert outbox() == []
    assert _count(app, a.tenant_id, CustomerAccess) == 1


def test_someone_elses_link_account_link_does_nothing(app, world, browser, outbox):
    a, _b, holder, _hb = world
    with app.app_context(), tenant_scope(a.tenant_id):
        asker = db.session.scalar(select(CustomerUser).where(CustomerUser.email == a.customer_email))
        token = activation.start_link_account(user=asker, account_number=holder.holiday, postcode=None,
                                              activation_code="HJKLM78923", now=utcnow()).token
        intruder = CustomerUser(email="intruder@example.test", party_id=asker.party_id,
                                password_hash=asker.password_hash)
        db.session.add(intruder)
        db.session.commit()
    portal = browser(a.slug)
    portal.login("intruder@example.test")

    response = portal.get(f"/accounts/link/{token}")

    assert response.status_code == 404
    assert _count(app, a.tenant_id, CustomerAccess) == 1


def test_guessing_postcodes_for_one_customer_number_is_rate_limited(app, world, browser, outbox):
    a, _b, holder, _hb = world
    portal = browser(a.slug)

    codes = [_activate(portal, holder.home, email=f"try{i}@example.test", postcode=f"6900{i}").status_code
             for i in range(7)]

    assert codes[:5] == [200] * 5
    assert codes[-1] == 429


def test_sign_in_page_offers_activation(world, browser):
    a, *_ = world

    text = browser(a.slug).get("/login").get_data(as_text=True)

    assert 'href="/activate"' in text


# --- The answer's timing does not depend on whether a mail is sent ---------------------------------------------

class SlowTransport:
    """An SMTP server that takes `delay` seconds per mail; records what it was given and when."""

    def __init__(self, delay: float):
        import time

        self.delay, self.sent, self._time = delay, [], time

    def send(self, mail):
        self._time.sleep(self.delay)
        self.sent.append((self._time.monotonic(), mail))
        return "slow://"


@pytest.fixture
def slow_mail(app):
    transport = SlowTransport(delay=1.0)
    saved = app.extensions.get("mail_transport")
    app.extensions["mail_transport"] = transport
    yield transport
    if saved is None:
        app.extensions.pop("mail_transport", None)
    else:
        app.extensions["mail_transport"] = saved


def _timed_post(portal, path: str, data: dict):
    """POST like a browser, and the time until the whole response is there (before the server closes it)."""
    import time

    token = portal.csrf(path)
    started = time.monotonic()
    response = portal.post(path, data={**data, "csrf_token": token}, buffered=False)
    body = response.get_data()
    answered = time.monotonic()
    return response, body, answered - started, answered


def test_activation_answers_before_its_mail_is_sent(app, world, browser, slow_mail):
    a, _b, holder, _hb = world
    portal = browser(a.slug)
    facts = {"account_number": holder.home, "postcode": "69001", "activation_code": "", "email": "new@example.test"}

    hit, _body_hit, hit_took, answered = _timed_post(portal, "/activate", facts)
    sent_before_close = list(slow_mail.sent)
    hit.close()  # what the server does once the last byte is out
    miss, _body_miss, miss_took, _ = _timed_post(portal, "/activate", {**facts, "postcode": "99999"})
    miss.close()

    assert hit.status_code == miss.status_code == 200
    assert sent_before_close == []
    assert hit_took < slow_mail.delay and miss_took < slow_mail.delay  # the 1 s SMTP exchange is not in either
    assert [m.to for _at, m in slow_mail.sent] == ["new@example.test"]  # the hit's mail, delivered after
    assert slow_mail.sent[0][0] >= answered
    assert _answer(hit) == _answer(miss)


def test_forgotten_password_answers_before_its_mail_is_sent(app, world, browser, slow_mail):
    a, _b, _holder, _hb = world
    portal = browser(a.slug)

    known, _b1, known_took, _ = _timed_post(portal, "/password/forgot", {"email": a.customer_email})
    sent_before_close = list(slow_mail.sent)
    known.close()
    unknown, _b2, unknown_took, _ = _timed_post(portal, "/password/forgot", {"email": "nobody@example.test"})
    unknown.close()

    assert known.status_code == unknown.status_code == 302
    assert known.headers["Location"] == unknown.headers["Location"]
    assert sent_before_close == []
    assert known_took < slow_mail.delay and unknown_took < slow_mail.delay
    assert [m.to for _at, m in slow_mail.sent] == [a.customer_email]
    assert "Reset your password" == slow_mail.sent[0][1].subject


def test_link_account_answers_before_its_mail_is_sent(app, world, browser, slow_mail):
    a, _b, holder, _hb = world
    portal = browser(a.slug)
    portal.login(a.customer_email)
    facts = {"account_number": holder.home, "postcode": "69001", "activation_code": ""}

    hit, _b1, hit_took, _ = _timed_post(portal, "/accounts/link", facts)
    sent_before_close = list(slow_mail.sent)
    hit.close()
    miss, _b2, miss_took, _ = _timed_post(portal, "/accounts/link", {**facts, "postcode": "99999"})
    miss.close()

    assert sent_before_close == [] and hit_took < slow_mail.delay and miss_took < slow_mail.delay
    assert [m.to for _at, m in slow_mail.sent] == [a.customer_email]
    assert _answer(hit) == _answer(miss)


def test_no_mail_leaves_when_the_request_fails_after_asking_for_it(app, world, browser, outbox, monkeypatch):
    a, _b, holder, _hb = world
    portal = browser(a.slug)
    from portal import access_views

    def broken(**_kwargs):
        raise RuntimeError("template missing")

    real_render = access_views.render_template
    monkeypatch.setattr(access_views, "render_template",
                        lambda name, **kw: broken() if name.endswith("check_mail.html") else real_render(name, **kw))

    links_before = _count(app, a.tenant_id, EmailVerification)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    try:
        response = _activate(portal, holder.home)
    finally:
        app.config["PROPAGATE_EXCEPTIONS"] = None

    assert response.status_code == 500
    assert outbox() == []
    assert _count(app, a.tenant_id, EmailVerification) == links_before
