"""A supervisor writes and sends a campaign in a browser: the segment's count moves as criteria change, the e-mail
is written and previewed, the campaign sent, and a campaign being sent shows its progress bar moving without
reloading (static/js/run-progress.js). Every new page passes axe-core in English, French, German and Spanish, the
customer's one-click unsubscribe page too."""
from __future__ import annotations

import os
from pathlib import Path

import pytest
from playwright.sync_api import expect
from sqlalchemy import select, update

from tests.conftest import TEST_PASSWORD

SHOTS = os.environ.get("CAMPAIGN_SCREENSHOTS")


@pytest.fixture(autouse=True)
def _jobs_in_process(app, monkeypatch):
    monkeypatch.setitem(app.config, "REDIS_URL", None)


def _shot(site, name: str) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        site.page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=True)


def _world(app, make_tenant):
    from domain.db import db
    from domain.identity.models import CustomerUser
    from tenants.context import tenant_scope
    from tests.campaign_support import customer
    from tests.factories import populate_tenant

    tenant = make_tenant("alpha")
    with app.app_context():
        data = populate_tenant(tenant)
    with app.app_context(), tenant_scope(data.tenant_id):
        user = db.session.scalar(select(CustomerUser).where(CustomerUser.email == data.customer_email))
        user.marketing_consent = True
        for n in range(5):
            customer(email=f"fan{n}@example.test", consent=True, activity="gas" if n % 2 else "electricity")
        db.session.commit()
    return data


def _sign_in(office, data):
    office.goto("/backoffice/login")
    office.page.fill("#email", data.staff_emails["supervisor"])
    office.page.fill("#password", TEST_PASSWORD)
    office.page.click("button[type=submit].btn-primary")
    office.page.wait_for_load_state()


def test_write_count_preview_and_send_a_campaign_then_follow_one_being_sent(app, make_tenant, site):
    from domain.campaigns.models import Campaign, CampaignRecipient
    from domain.db import db
    from tenants.context import tenant_scope

    data = _world(app, make_tenant)
    office = site("alpha")
    _sign_in(office, data)
    page = office.page

    office.goto("/backoffice/campaigns/new")
    count = page.locator("#segment-count strong")
    expect(count).to_contain_text("6")
    page.select_option("#activity", "gas")
    expect(count).to_contain_text("2")
    page.fill("#name", "Gas winter offer")
    _shot(office, "campaign-new")
    page.click("button[name=save]")
    page.wait_for_load_state()
    expect(page.locator("h1")).to_contain_text("Gas winter offer")
    detail = page.url

    page.click("#templates-title + ul a:text(\"English\")")
    page.fill("#subject", "Hello {{ customer_name }}")
    page.fill("#text", "Dear {{ customer_name }}, your customer number is {{ account_number }}.")
    page.click("button[type=submit].btn-primary")
    page.wait_for_load_state()
    page.click("text=Preview for a customer")
    expect(page.locator(".mail-text")).to_contain_text("your customer number is")
    _shot(office, "campaign-preview")
    page.goto(detail)
    page.check("input[value=now]")
    page.click("text=Confirm the sending")
    page.wait_for_load_state()
    expect(page.locator("h1 .status")).to_have_text("Completed")
    expect(page.locator("#run-bar")).to_have_attribute("value", "100")
    _shot(office, "campaign-completed")

    # A campaign being sent: the bar follows the recipients recorded sent, without reloading.
    with app.app_context(), tenant_scope(data.tenant_id):
        campaign = db.session.scalar(select(Campaign))
        db.session.execute(update(CampaignRecipient).values(status="pending", sent_at=None))
        campaign.status = "sending"
        db.session.commit()
        ids = list(db.session.scalars(select(CampaignRecipient.id).order_by(CampaignRecipient.id)))
        public_id = campaign.public_id
    office.goto(f"/backoffice/campaigns/{public_id}")
    bar = page.locator("#run-bar")
    expect(bar).to_have_attribute("value", "0")
    page.evaluate("window.notReloaded = true")
    with app.app_context(), tenant_scope(data.tenant_id):
        db.session.execute(update(CampaignRecipient).where(CampaignRecipient.id == ids[0]).values(status="sent"))
        db.session.commit()
    expect(bar).to_have_attribute("value", "50", timeout=10_000)
    expect(page.locator('[data-field="sent"]')).to_have_text("1")
    assert page.evaluate("window.notReloaded === true")


@pytest.mark.parametrize("language", ["en", "fr", "de", "es"])
def test_campaign_pages_pass_axe_in_each_language(app, make_tenant, site, language):
    from domain.campaigns import services
    from domain.campaigns.unsubscribe import make_token
    from domain.db import db, utcnow
    from tenants.context import tenant_scope
    from tenants.models import Tenant
    from tests.campaign_support import customer

    data = _world(app, make_tenant)
    with app.app_context(), tenant_scope(data.tenant_id):
        draft = services.create_campaign(name="Draft", purpose="service", criteria={"activity": "gas"},
                                         created_by="supervisor@alpha.test", now=utcnow())
        services.save_template(draft, locale="en", subject="Hi {{ customer_name }}", text="Hello", html=None)
        sent = services.create_campaign(name="Sent", purpose="marketing", criteria={}, created_by="s", now=utcnow())
        services.save_template(sent, locale="en", subject="Hi", text="Hello", html=None)
        services.send_now(sent, tenant=db.session.get(Tenant, data.tenant_id), now=utcnow())
        db.session.commit()
        draft_id, sent_id = draft.public_id, sent.public_id
        account = customer(email="leaving@example.test", consent=True, locale=language)
        db.session.commit()
        token = make_token(secret=app.config["SECRET_KEY"], tenant_id=data.tenant_id, campaign_public_id=sent_id,
                           account_number=account.account_number)
    from app.jobs import enqueue_now
    with app.app_context():
        enqueue_now("campaigns.start", tenant_id=data.tenant_id, campaign_id=_id(app, data.tenant_id, sent_id))

    office = site("alpha")
    _sign_in(office, data)
    office.goto("/backoffice/campaigns/")
    office.choose_language(language)
    pages = ["/backoffice/campaigns/", "/backoffice/campaigns/new", f"/backoffice/campaigns/{draft_id}",
             f"/backoffice/campaigns/{draft_id}/edit", f"/backoffice/campaigns/{draft_id}/templates/en",
             f"/backoffice/campaigns/{draft_id}/preview", f"/backoffice/campaigns/{sent_id}",
             f"/backoffice/campaigns/{sent_id}/recipients", f"/backoffice/campaigns/{sent_id}/preview"]
    found = {}
    for path in pages:
        office.goto(path)
        office.page.wait_for_load_state("networkidle")
        violations = office.axe()
        if violations:
            found[path] = violations
        assert office.horizontal_overflow() <= 0, path
        if language == "en":
            _shot(office, "page" + path.replace("/", "-").replace(draft_id, "draft").replace(sent_id, "sent"))
    customer_site = site("alpha")
    customer_site.goto(f"/unsubscribe/{token}")
    assert customer_site.page.locator("html").get_attribute("lang") == language
    found_unsubscribe = customer_site.axe()
    customer_site.page.click("button[type=submit].btn-primary")
    customer_site.page.wait_for_load_state()
    found_done = customer_site.axe()
    _shot(customer_site, f"unsubscribed-{language}")

    assert found == {} and found_unsubscribe == [] and found_done == []


def _id(app, tenant_id, public_id):
    from domain.campaigns.models import Campaign
    from domain.db import db
    from tenants.context import tenant_scope

    with app.app_context(), tenant_scope(tenant_id):
        return db.session.scalar(select(Campaign.id).where(Campaign.public_id == public_id))
