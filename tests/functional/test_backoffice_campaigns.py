"""Campaign pages: a supervisor writes a campaign, counts its segment (with and without script), writes the e-mail
per language (refused clearly when the template is wrong), previews it, tests it, sends it and follows it; the
customer unsubscribes in one click without signing in."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from domain.audit.models import AuditEvent
from domain.campaigns.models import Campaign, CampaignRecipient, MarketingOptOut
from domain.campaigns.unsubscribe import make_token
from domain.db import db
from domain.identity.models import CustomerUser
from tenants.context import tenant_scope

pytestmark = pytest.mark.usefixtures("no_redis")


@pytest.fixture
def no_redis(app, monkeypatch):
    """Jobs in this process, as the embedded default runs them."""
    monkeypatch.setitem(app.config, "REDIS_URL", None)


def _consent(app, tenant_id, email, locale=None):
    with app.app_context(), tenant_scope(tenant_id):
        user = db.session.scalar(select(CustomerUser).where(CustomerUser.email == email))
        user.marketing_consent = True
        user.locale = locale
        db.session.commit()


def _office(browser, a, role="supervisor"):
    office = browser(a.slug)
    office.login(a.staff_emails[role], area="/backoffice")
    return office


def _create(office, name="Winter offer", **criteria):
    response = office.submit("/backoffice/campaigns/new", {"name": name, "purpose": "marketing", "save": "1",
                                                           **criteria})
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    return response.headers["Location"].rstrip("/").rsplit("/", 1)[1]


def _template(office, public_id, locale="en", subject="Hello {{ customer_name }}",
              text="Dear {{ customer_name }}, your number is {{ account_number }}."):
    return office.submit(f"/backoffice/campaigns/{public_id}/templates/{locale}",
                         {"subject": subject, "text": text, "html": ""})


def test_a_supervisor_writes_a_campaign_and_counts_its_segment_without_script(app, two_tenants, browser):
    a, _b = two_tenants
    _consent(app, a.tenant_id, a.customer_email)
    office = _office(browser, a)

    counted = office.submit("/backoffice/campaigns/new", {"name": "Winter", "purpose": "marketing", "count": "1"})
    live = office.get("/backoffice/campaigns/segment.json?purpose=marketing").get_json()
    service = office.get("/backoffice/campaigns/segment.json?purpose=service&activity=plutonium")
    public_id = _create(office)
    listed = office.get("/backoffice/campaigns/").get_data(as_text=True)
    narrowed = _create(office, "Gas in Lyon", activity="gas", town="Lyon", paperless="no")
    described = office.get(f"/backoffice/campaigns/{narrowed}").get_data(as_text=True)

    assert counted.status_code == 200 and "1 customer will receive it" in counted.get_data(as_text=True)
    assert live["count"] == 1 and live["sample"][0]["account_number"] == a.account_number
    assert service.status_code == 400 and service.get_json()["field"] == "activity"
    assert "Winter offer" in listed and public_id in listed
    assert "Activity: Gas" in described and "Town: Lyon" in described and "Paperless billing: No" in described


@pytest.mark.parametrize("role", ["agent", "billing", "collections"])
def test_roles_without_campaigns_are_refused(two_tenants, browser, role):
    a, _b = two_tenants

    office = _office(browser, a, role)

    assert office.get("/backoffice/campaigns/").status_code == 403
    assert office.get("/backoffice/campaigns/new").status_code == 403


def test_a_wrong_template_is_refused_with_a_clear_message_and_nothing_saved(app, two_tenants, browser):
    a, _b = two_tenants
    office = _office(browser, a)
    public_id = _create(office)

    unknown = _template(office, public_id, text="Dear {{ customer_nam }}")
    unsafe = _template(office, public_id, text="{{ ''.__class__.__mro__[1].__subclasses__() }}")
    broken = _template(office, public_id, text="{% if %}")
    saved = _template(office, public_id)

    assert unknown.status_code == 422 and "variable that does not exist" in unknown.get_data(as_text=True)
    assert unsafe.status_code == 422 and "text, variables and conditions only; this template uses a call" \
        in unsafe.get_data(as_text=True)
    assert broken.status_code == 422 and "cannot be read" in broken.get_data(as_text=True)
    assert saved.status_code == 302
    with app.app_context(), tenant_scope(a.tenant_id):
        assert db.session.scalar(select(Campaign).where(Campaign.public_id == public_id)).status == "draft"


def test_preview_for_a_chosen_customer_and_a_test_send_to_the_staff_member(app, two_tenants, browser, outbox):
    a, _b = two_tenants
    _consent(app, a.tenant_id, a.customer_email)
    office = _office(browser, a)
    public_id = _create(office)
    _template(office, public_id)
    before = len(outbox())

    preview = office.get(f"/backoffice/campaigns/{public_id}/preview?account={a.account_number}")
    missing = office.get(f"/backoffice/campaigns/{public_id}/preview?account=NOPE")
    token = office.csrf(f"/backoffice/campaigns/{public_id}")
    tested = office.post(f"/backoffice/campaigns/{public_id}/test", {"csrf_token": token})
    mails = outbox()[before:]

    text = preview.get_data(as_text=True)
    assert preview.status_code == 200 and f"your number is {a.account_number}" in text
    assert "List-Unsubscribe" in text
    assert "No customer of this segment" in missing.get_data(as_text=True)
    assert tested.status_code == 302
    assert [m["To"] for m in mails] == [a.staff_emails["supervisor"]] and mails[0]["Subject"].startswith("[TEST]")


def test_send_now_delivers_and_the_progress_and_recipients_pages_follow(app, two_tenants, browser, outbox):
    a, b = two_tenants
    _consent(app, a.tenant_id, a.customer_email, locale="fr")
    _consent(app, b.tenant_id, b.customer_email)
    office = _office(browser, a)
    public_id = _create(office)
    _template(office, public_id)
    _template(office, public_id, "fr", subject="Bonjour {{ customer_name }}", text="Votre numéro {{ account_number }}")
    before = len(outbox())

    token = office.csrf(f"/backoffice/campaigns/{public_id}")
    sent = office.post(f"/backoffice/campaigns/{public_id}/send", {"csrf_token": token, "when": "now"})
    progress = office.get(f"/backoffice/campaigns/{public_id}/progress.json").get_json()
    detail = office.get(f"/backoffice/campaigns/{public_id}").get_data(as_text=True)
    recipients = office.get(f"/backoffice/campaigns/{public_id}/recipients?status=sent").get_data(as_text=True)
    mails = outbox()[before:]

    assert sent.status_code == 302
    assert [m["To"] for m in mails] == [a.customer_email]  # never tenant B's customer
    assert mails[0]["Subject"].startswith("Bonjour")
    assert mails[0]["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert progress == {"status": "completed", "total": 1, "processed": 1, "percent": 100, "sent": 1, "failed": 0,
                        "skipped": 0, "unsubscribed": 0, "active": False}
    assert 'id="run-bar"' in detail and a.account_number in recipients


def test_schedule_then_pause_resume_and_cancel(app, two_tenants, browser, outbox):
    a, _b = two_tenants
    _consent(app, a.tenant_id, a.customer_email)
    office = _office(browser, a)
    public_id = _create(office)
    _template(office, public_id)
    page = f"/backoffice/campaigns/{public_id}"

    past = office.post(f"{page}/send", {"csrf_token": office.csrf(page), "when": "later", "at": "2020-01-01T10:00"})
    after_past = office.get(page).get_data(as_text=True)
    office.post(f"{page}/send", {"csrf_token": office.csrf(page), "when": "later", "at": "2099-01-01T10:00"})
    statuses = []
    for action in ("pause", "cancel"):
        office.post(f"{page}/{action}", {"csrf_token": office.csrf(page)})
        with app.app_context(), tenant_scope(a.tenant_id):
            statuses.append(db.session.scalar(select(Campaign.status).where(Campaign.public_id == public_id)))
    again = office.post(f"{page}/resume", {"csrf_token": office.csrf(page)})

    assert past.status_code == 302 and "Choose a moment in the future." in after_past
    assert statuses == ["paused", "cancelled"] and outbox() == []
    assert again.status_code == 302 and "cannot do that" in office.get(page).get_data(as_text=True)


def _unsubscribe_path(app, data, public_id):
    token = make_token(secret=app.config["SECRET_KEY"], tenant_id=data.tenant_id, campaign_public_id=public_id,
                       account_number=data.account_number)
    return f"/unsubscribe/{token}"


def test_one_click_unsubscribe_without_signing_in_in_the_customers_language(app, two_tenants, browser):
    a, b = two_tenants
    _consent(app, a.tenant_id, a.customer_email, locale="fr")
    office = _office(browser, a)
    public_id = _create(office)
    path = _unsubscribe_path(app, a, public_id)
    portal = browser(a.slug)

    confirm = portal.get(path)
    one_click = portal.client.post(path, base_url=portal.base_url, data={"List-Unsubscribe": "One-Click"})
    other_host = browser(b.slug).get(path)
    forged = portal.get(path[:-3] + "abc")

    page = confirm.get_data(as_text=True)
    assert confirm.status_code == 200 and '<html lang="fr"' in page and 'method="post"' in page
    assert one_click.status_code == 200
    assert other_host.status_code == 400 and forged.status_code == 400
    assert "This link is not valid" in forged.get_data(as_text=True)
    with app.app_context(), tenant_scope(a.tenant_id):
        user = db.session.scalar(select(CustomerUser).where(CustomerUser.email == a.customer_email))
        assert user.marketing_consent is False
        assert db.session.scalar(select(MarketingOptOut.email)) == a.customer_email
        actions = list(db.session.scalars(select(AuditEvent.action).where(AuditEvent.action == "marketing_consent")))
        assert actions == ["marketing_consent"]
    with app.app_context(), tenant_scope(b.tenant_id):
        assert db.session.scalar(select(MarketingOptOut.id)) is None


def test_an_unsubscribed_customer_is_left_out_of_the_next_marketing_campaign(app, two_tenants, browser):
    a, _b = two_tenants
    _consent(app, a.tenant_id, a.customer_email)
    office = _office(browser, a)
    public_id = _create(office)
    browser(a.slug).client.post(_unsubscribe_path(app, a, public_id), base_url=f"http://{a.slug}.localhost")
    _consent(app, a.tenant_id, a.customer_email)  # consent given again in the profile: the opt-out still holds

    live = office.get("/backoffice/campaigns/segment.json?purpose=marketing").get_json()
    service = office.get("/backoffice/campaigns/segment.json?purpose=service").get_json()

    assert live["count"] == 0 and service["count"] == 1
    assert re.fullmatch(r"[0-9a-f-]{36}", public_id)
    with app.app_context(), tenant_scope(a.tenant_id):
        assert db.session.scalar(select(CampaignRecipient.id)) is None


def test_the_customer_file_lists_the_campaign_mail_the_customer_was_sent(app, two_tenants, browser, outbox):
    a, b = two_tenants
    _consent(app, a.tenant_id, a.customer_email)
    office = _office(browser, a)
    public_id = _create(office, name="Spring newsletter")
    _template(office, public_id)
    token = office.csrf(f"/backoffice/campaigns/{public_id}")
    office.post(f"/backoffice/campaigns/{public_id}/send", {"csrf_token": token, "when": "now"})

    customer_file = office.get(f"/backoffice/customers/{a.account_number}").get_data(as_text=True)
    all_messages = office.get(f"/backoffice/customers/{a.account_number}/messages").get_data(as_text=True)
    other_file = _office(browser, b).get(f"/backoffice/customers/{b.account_number}").get_data(as_text=True)

    for page in (customer_file, all_messages):
        section = page.split('id="campaign-mail-heading"', 1)[1]
        assert "Spring newsletter" in section and a.customer_email in section and "Sent" in section
        assert f'href="/backoffice/campaigns/{public_id}"' in section
    assert 'id="campaign-mail-heading"' not in other_file


def test_a_template_is_previewed_before_it_is_saved(app, two_tenants, browser):
    from domain.campaigns.models import CampaignTemplate

    a, _b = two_tenants
    _consent(app, a.tenant_id, a.customer_email)
    office = _office(browser, a)
    public_id = _create(office)
    path = f"/backoffice/campaigns/{public_id}/templates/en"

    shown = office.submit(path, {"subject": "Hello {{ customer_name }}", "text": "Your number: {{ account_number }}",
                                 "html": "", "action": "preview"})
    wrong = office.submit(path, {"subject": "Hi", "text": "{% for x in y %}{% endfor %}", "html": "",
                                 "action": "preview"})

    page = shown.get_data(as_text=True)
    assert shown.status_code == 200 and "Preview (not saved yet)" in page
    assert f"Your number: {a.account_number}" in page and "Hello " in page
    assert wrong.status_code == 422 and "Preview (not saved yet)" not in wrong.get_data(as_text=True)
    with app.app_context(), tenant_scope(a.tenant_id):
        assert db.session.scalars(select(CampaignTemplate)).all() == []
