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
from tests.integration.test_activation import ON_FILE, make_holder

PASSWORD = "a-long-enough-password"
_LINK = re.compile(r"https?://[^/\s]+(/\S+)")
_CSRF_VALUE = re.compile(r'name="csrf_token"[^>]*value="[^"]+"|value="[^"]+"[^>]*name="csrf_token"')
_MASKED = re.compile(r"\w•••@[\w.-]+")


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
    """The page as a visitor reads it, without its CSRF token and with any masked address made the same."""
    return _MASKED.sub("x•••@example", _CSRF_VALUE.sub("", response.get_data(as_text=True)))


def test_takeover_with_number_and_postcode_sends_nothing_to_the_typed_address(app, world, browser, outbox):
    a, _b, holder, _hb = world
    attacker = browser(a.slug)

    asked = _activate(attacker, holder.home, email="attacker@evil.test", postcode="69001")

    mails = outbox()
    text = asked.get_data(as_text=True)
    assert asked.status_code == 200
    assert "we have sent a link to the address we have on file, h•••@example.test" in text
    assert "attacker@evil.test" not in text and ON_FILE not in text
    assert [m["To"] for m in mails] == [ON_FILE]
    with app.app_context(), tenant_scope(a.tenant_id):
        addresses = list(db.session.scalars(select(EmailVerification.email)
                                            .where(EmailVerification.account_id.is_not(None))))
        assert addresses == [ON_FILE]


def test_the_holder_activates_from_the_link_sent_to_the_address_on_file(app, world, browser, outbox):
    a, _b, holder, _hb = world
    portal = browser(a.slug)

    _activate(portal, holder.home, email="", postcode="69 001")
    mails = outbox()
    link = _link_path(mails[0])
    form = portal.get(link)
    done = portal.submit(link, {"password": PASSWORD, "confirm": PASSWORD})
    home = portal.get("/")

    assert [m["To"] for m in mails] == [ON_FILE]
    assert holder.home in _body(mails[0]) and "24 hours" in _body(mails[0])
    assert form.status_code == 200 and "Choose your password" in form.get_data(as_text=True)
    assert done.status_code == 302 and done.headers["Location"].endswith("/")
    assert home.status_code == 200
    assert holder.home in home.get_data(as_text=True) and holder.holiday in home.get_data(as_text=True)
    assert holder.stranger not in home.get_data(as_text=True)


def test_activation_with_the_code_printed_on_bills_uses_the_code_up(app, world, browser, outbox):
    a, _b, holder, _hb = world
    portal = browser(a.slug)

    _activate(portal, holder.home, email="me@example.test", postcode="", code="abcde-23456")
    link = _link_path(outbox()[0])
    portal.submit(link, {"password": PASSWORD, "confirm": PASSWORD})
    portal.submit("/", {}, action="/logout")
    again = _activate(portal, holder.home, email="thief@example.test", postcode="", code="abcde-23456")

    assert [m["To"] for m in outbox()][:1] == ["me@example.test"]
    assert "thief@example.test" not in [m["To"] for m in outbox()]
    assert again.status_code == 200  # the same answer as ever: the old code just matches nothing now


def test_the_code_needs_the_address_to_send_the_link_to(world, browser, outbox):
    a, _b, holder, _hb = world

    response = _activate(browser(a.slug), holder.home, email="", postcode="", code="ABCDE23456")

    assert "Enter the e-mail address you will sign in with." in response.get_data(as_text=True)
    assert outbox() == []


@pytest.mark.parametrize("case", ["wrong_postcode", "unknown_number", "other_tenants_number", "no_address_on_file",
                                  "wrong_code"])
def test_wrong_facts_get_the_same_answer_and_no_mail(app, world, browser, outbox, case):
    a, _b, holder, holder_b = world
    portal = browser(a.slug)
    number, postcode, code = {
        "wrong_postcode": (holder.home, "69002", ""),
        "unknown_number": ("C77777777", "69001", ""),
        "other_tenants_number": (holder_b.home, "69001", ""),
        "no_address_on_file": (holder.stranger, "75001", ""),
        "wrong_code": (holder.home, "", "ABCDE23457"),
    }[case]
    right = _activate(portal, holder.home, email="same@example.test", code="ABCDE23456" if code else "",
                      postcode="" if code else "69001")
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

    response = _activate(browser(a.slug), holder.home, email="not-an-address", postcode="", code="ABCDE23456")

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
                                            email=None, now=utcnow() - timedelta(hours=25), secret=b"x").token
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
    _activate(portal, holder.home, email=a.customer_email, postcode="", code="ABCDE23456")
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


def test_an_account_added_to_another_login_is_told_to_its_holder_by_mail_and_at_the_next_sign_in(
        app, world, browser, outbox):
    """The code on a bill adds the account to someone else's existing login: the holder hears of it (issue 12 §4)."""
    a, _b, holder, _hb = world
    existing = _holder_login(app, a, holder)
    portal = browser(a.slug)
    portal.login(a.customer_email)
    portal.submit("/accounts/link", {"account_number": holder.home, "postcode": "", "activation_code": "ABCDE23456"})
    portal.submit(_link_path(outbox()[0]), {})
    portal.submit("/", {}, action="/logout")

    owner = browser(a.slug)
    owner.login(existing)
    first = owner.get("/").get_data(as_text=True)

    told = [m for m in outbox() if m["Subject"] == "A new online access to your account"]
    assert [m["To"] for m in told] == [ON_FILE]
    assert holder.home in _body(told[0]) and a.customer_email not in _body(told[0])
    assert f"a new online access to your account {holder.home} was created for" in first


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
                                              activation_code="HJKLM78923", now=utcnow(), secret=b"x").token
        intruder = CustomerUser(email="intruder@example.test", party_id=asker.party_id,
                                password_hash=asker.password_hash)
        db.session.add(intruder)
        db.session.commit()
    portal = browser(a.slug)
    portal.login("intruder@example.test")

    response = portal.get(f"/accounts/link/{token}")

    assert response.status_code == 404
    assert _count(app, a.tenant_id, CustomerAccess) == 1


def _guard(app, tenant_id, number):
    with app.app_context(), tenant_scope(tenant_id):
        guard = activation.guard_of(number)
        return (guard.failures, guard.locked_at is not None) if guard is not None else (0, False)


def test_attempts_beyond_the_limit_are_refused_with_a_clear_message_and_change_nothing(app, world, browser, outbox):
    a, _b, holder, _hb = world
    portal = browser(a.slug)
    wrong = [_activate(portal, holder.home, postcode=f"1000{i}").status_code
             for i in range(activation.MAX_FAILED_ATTEMPTS)]
    links_before = _count(app, a.tenant_id, EmailVerification)

    right_postcode = _activate(portal, holder.home, postcode="69001")
    right_code = _activate(portal, holder.home, email="me@example.test", postcode="",
                           code="ABCDE23456")

    assert wrong == [200] * activation.MAX_FAILED_ATTEMPTS
    for refused in (right_postcode, right_code):
        text = refused.get_data(as_text=True)
        assert refused.status_code == 429
        assert "too many failed attempts with this customer number" in text and "Nothing was checked or sent" in text
    assert outbox() == []
    assert _count(app, a.tenant_id, EmailVerification) == links_before
    assert _guard(app, a.tenant_id, holder.home) == (activation.MAX_FAILED_ATTEMPTS, True)


def test_an_unknown_number_locks_like_a_known_one(app, world, browser, outbox):
    a, _b, holder, _hb = world
    portal = browser(a.slug)

    known = [_activate(portal, holder.home, postcode=f"1000{i}").status_code for i in range(6)]
    unknown = [_activate(portal, "C77777777", postcode=f"1000{i}").status_code for i in range(6)]

    assert known == unknown == [200] * 5 + [429]


def test_staff_lift_the_lock_out_from_the_customer_file(app, world, browser, outbox):
    a, _b, holder, _hb = world
    portal = browser(a.slug)
    for i in range(activation.MAX_FAILED_ATTEMPTS):
        _activate(portal, holder.home, postcode=f"1000{i}")
    office = browser(a.slug)
    office.login(a.staff_emails["agent"], area="/backoffice")
    page = office.get(f"/backoffice/customers/{holder.home}").get_data(as_text=True)

    lifted = office.submit(f"/backoffice/customers/{holder.home}", {},
                           action=f"/backoffice/customers/{holder.home}/activation-lock", follow_redirects=True)
    office.submit("/backoffice/", {}, action="/backoffice/logout")
    supervisor = browser(a.slug)
    supervisor.login(a.staff_emails["supervisor"], area="/backoffice")
    history = supervisor.get(f"/backoffice/customers/{holder.home}/history").get_data(as_text=True)
    supervisor.submit("/backoffice/", {}, action="/backoffice/logout")
    again = _activate(browser(a.slug), holder.home, postcode="69001")

    assert "Online activation is blocked for this customer number" in page and "Lift the activation block" in page
    assert lifted.status_code == 200 and "Online activation is open again" in lifted.get_data(as_text=True)
    assert "Lift the activation block" not in lifted.get_data(as_text=True)
    assert "Online activation blocked: Yes → No" in history and a.staff_emails["agent"] in history
    assert "Failed activation attempts: 4 → 5" in history and "Failed activation attempts: 5 → 0" in history
    assert again.status_code == 200 and [m["To"] for m in outbox()] == [ON_FILE]
    assert _guard(app, a.tenant_id, holder.home) == (0, False)


def test_an_agent_without_edit_rights_sees_the_block_but_cannot_lift_it(app, world, browser):
    a, _b, holder, _hb = world
    for i in range(activation.MAX_FAILED_ATTEMPTS):
        _activate(browser(a.slug), holder.home, postcode=f"1000{i}")
    office = browser(a.slug)
    office.login(a.staff_emails["collections"], area="/backoffice")

    page = office.get(f"/backoffice/customers/{holder.home}")
    refused = office.post(f"/backoffice/customers/{holder.home}/activation-lock",
                          {"csrf_token": office.csrf(f"/backoffice/customers/{holder.home}")})

    assert "Online activation is blocked" in page.get_data(as_text=True)
    assert "Lift the activation block" not in page.get_data(as_text=True)
    assert refused.status_code == 403
    assert _guard(app, a.tenant_id, holder.home) == (activation.MAX_FAILED_ATTEMPTS, True)


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

    def session(self):  # the mail pipeline sends a batch on one session (one connection)
        from contextlib import nullcontext

        return nullcontext(self)


@pytest.fixture
def slow_mail(app, monkeypatch):
    monkeypatch.setitem(app.config, "REDIS_URL", None)  # the sending job in-process, after the response
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
    assert [m.to for _at, m in slow_mail.sent] == [ON_FILE]  # the hit's mail, delivered after
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
    assert [m.to for _at, m in slow_mail.sent] == [ON_FILE]  # the holder's address, not the asking login's
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


# --- The holder is told --------------------------------------------------------------------------------------


def _holder_login(app, a, holder, email="holder.login@example.test"):
    """The holder already has an online access to the home account (another address than the one on file)."""
    from tests.factories import CustomerAccessFactory, CustomerUserFactory

    with app.app_context(), tenant_scope(a.tenant_id):
        from domain.contracts.models import CustomerAccount

        account = db.session.scalar(select(CustomerAccount).where(CustomerAccount.account_number == holder.home))
        user = CustomerUserFactory(email=email, party_id=holder.party_id)
        CustomerAccessFactory(user=user, account=account)
        db.session.commit()
    return email


def test_a_new_online_access_is_mailed_to_the_address_on_file_and_shown_once_at_the_next_sign_in(
        app, world, browser, outbox):
    a, _b, holder, _hb = world
    existing = _holder_login(app, a, holder)
    newcomer = browser(a.slug)
    _activate(newcomer, holder.home, email="someone@else.test", postcode="", code="ABCDE23456")
    newcomer.submit(_link_path(outbox()[0]), {"password": PASSWORD, "confirm": PASSWORD})
    newcomer.submit("/", {}, action="/logout")
    mails = outbox()
    notice = f"a new online access to your account {holder.home} was created for s•••@else.test"

    owner = browser(a.slug)
    owner.login(existing)
    first = owner.get("/").get_data(as_text=True)
    second = owner.get("/").get_data(as_text=True)
    owner.submit("/", {}, action="/logout")
    owner.login(existing)
    next_time = owner.get("/").get_data(as_text=True)

    told = [m for m in mails if m["Subject"] == "A new online access to your account"]
    assert [m["To"] for m in told] == [ON_FILE]
    assert holder.home in _body(told[0]) and "s•••@else.test" in _body(told[0])
    assert "someone@else.test" not in _body(told[0])
    assert notice in first
    assert notice not in second and notice not in next_time


def test_the_new_login_itself_gets_no_notice_of_its_own_creation(app, world, browser, outbox):
    a, _b, holder, _hb = world
    portal = browser(a.slug)
    _activate(portal, holder.home, postcode="69001")
    portal.submit(_link_path(outbox()[0]), {"password": PASSWORD, "confirm": PASSWORD})
    portal.submit("/", {}, action="/logout")

    portal.login(ON_FILE, PASSWORD)
    home = portal.get("/").get_data(as_text=True)

    assert "a new online access to your account" not in home


def test_another_login_changing_its_address_is_told_to_the_holder_by_mail_and_at_the_next_sign_in(
        app, world, browser, outbox):
    """Someone who activated with the code on a bill and their own address, then moves the login to another one:
    the holder's address on file and the holder's own login hear of it."""
    a, _b, holder, _hb = world
    existing = _holder_login(app, a, holder)
    newcomer = browser(a.slug)
    _activate(newcomer, holder.home, email="someone@else.test", postcode="", code="ABCDE23456")
    newcomer.submit(_link_path(outbox()[0]), {"password": PASSWORD, "confirm": PASSWORD})  # signed in by it
    newcomer.submit("/profile/email", {"email": "elsewhere@else.test"})
    confirm = _link_path([m for m in outbox() if m["To"] == "elsewhere@else.test"][0])
    newcomer.submit(confirm, {})
    newcomer.submit("/", {}, action="/logout")
    mails = outbox()

    owner = browser(a.slug)
    owner.login(existing)
    first = owner.get("/").get_data(as_text=True)
    second = owner.get("/").get_data(as_text=True)

    told = [m for m in mails if m["Subject"] == "The sign-in address of an online access to your account has changed"]
    assert [m["To"] for m in told] == [ON_FILE]
    assert holder.home in _body(told[0]) and "e•••@else.test" in _body(told[0])
    assert "elsewhere@else.test" not in _body(told[0])
    notice = (f"the sign-in address of another online access to your account {holder.home} was changed to "
              "e•••@else.test")
    assert notice in first and notice not in second


def test_a_changed_sign_in_address_is_shown_once_at_the_next_sign_in(app, two_tenants, browser, outbox):
    from tests.conftest import TEST_PASSWORD

    a, _b = two_tenants
    portal = browser(a.slug)
    portal.login(a.customer_email)
    portal.submit("/profile/email", {"email": "moved@example.test"})
    confirm = _link_path([m for m in outbox() if m["To"] == "moved@example.test"][0])
    portal.submit(confirm, {})
    portal.submit("/", {}, action="/logout")
    old_address_told = [m["To"] for m in outbox() if "has changed" in m["Subject"]]

    portal.login("moved@example.test", TEST_PASSWORD)
    first = portal.get("/").get_data(as_text=True)
    second = portal.get("/").get_data(as_text=True)

    assert old_address_told == [a.customer_email, "alpha.customer@example.test"]  # the login's, the holder's
    assert "the e-mail address of your online access was changed to m•••@example.test" in first
    assert "was changed to" not in second
