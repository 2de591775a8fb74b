"""Isolation cases of mailing campaigns: tenant B's campaigns answer like missing ones on tenant A's host (pages,
JSON, every action), A's segment never counts B's customers, and B's unsubscribe link is refused on A's host."""
from __future__ import annotations

from sqlalchemy import select

from domain.campaigns import services
from domain.campaigns.models import Campaign
from domain.campaigns.unsubscribe import make_token
from domain.db import db, utcnow
from domain.identity.models import CustomerUser
from tenants.context import tenant_scope
from tests.isolation import MISSING, _same_as_missing


def _campaign_of(app, data, status: str = "draft") -> str:
    """A campaign of `data`'s tenant with an English text, its customer consenting; its public id."""
    with app.app_context(), tenant_scope(data.tenant_id):
        user = db.session.scalar(select(CustomerUser).where(CustomerUser.email == data.customer_email))
        user.marketing_consent = True
        campaign = services.create_campaign(name=f"Campaign of {data.slug}", purpose="marketing", criteria={},
                                            created_by=f"supervisor@{data.slug}.test", now=utcnow())
        services.save_template(campaign, locale="en", subject="Hello", text="Dear {{ customer_name }}", html=None)
        campaign.status = status
        db.session.commit()
        return campaign.public_id


def _office(browser, a):
    office = browser(a.slug)
    office.login(a.staff_emails["supervisor"], area="/backoffice")
    return office


def _status(app, tenant_id: int, public_id: str) -> str:
    with app.app_context(), tenant_scope(tenant_id):
        return db.session.scalar(select(Campaign.status).where(Campaign.public_id == public_id))


def case_campaigns_campaign_list(app, browser, a, b):
    b_campaign = _campaign_of(app, b)
    page = _office(browser, a).get("/backoffice/campaigns/")
    assert page.status_code == 200 and b_campaign not in page.get_data(as_text=True)
    assert "Campaign of bravo" not in page.get_data(as_text=True)


def case_campaigns_campaign_new(app, browser, a, b):
    _campaign_of(app, b)  # B's customer consents: A's count still has only A's
    office = _office(browser, a)
    counted = office.submit("/backoffice/campaigns/new", {"name": "x", "purpose": "service", "count": "1"})
    text = counted.get_data(as_text=True)
    assert counted.status_code == 200 and "1 customer will receive it" in text and b.account_number not in text


def case_campaigns_segment_preview(app, browser, a, b):
    _campaign_of(app, b)
    data = _office(browser, a).get("/backoffice/campaigns/segment.json?purpose=service").get_json()
    assert data["count"] == 1 and [r["account_number"] for r in data["sample"]] == [a.account_number]


def case_campaigns_campaign_detail(app, browser, a, b):
    b_campaign = _campaign_of(app, b)
    _same_as_missing(_office(browser, a), f"/backoffice/campaigns/{b_campaign}", f"/backoffice/campaigns/{MISSING}",
                     b_campaign)


def case_campaigns_campaign_edit(app, browser, a, b):
    b_campaign = _campaign_of(app, b)
    office = _office(browser, a)
    _same_as_missing(office, f"/backoffice/campaigns/{b_campaign}/edit", f"/backoffice/campaigns/{MISSING}/edit",
                     b_campaign)
    token = office.csrf("/backoffice/campaigns/new")
    response = office.post(f"/backoffice/campaigns/{b_campaign}/edit", {"csrf_token": token, "name": "Taken",
                                                                        "purpose": "service", "save": "1"})
    assert response.status_code == 404 and _status(app, b.tenant_id, b_campaign) == "draft"


def case_campaigns_template_edit(app, browser, a, b):
    b_campaign = _campaign_of(app, b)
    office = _office(browser, a)
    _same_as_missing(office, f"/backoffice/campaigns/{b_campaign}/templates/en",
                     f"/backoffice/campaigns/{MISSING}/templates/en", b_campaign)
    token = office.csrf("/backoffice/campaigns/new")
    response = office.post(f"/backoffice/campaigns/{b_campaign}/templates/fr",
                           {"csrf_token": token, "subject": "x", "text": "y"})
    assert response.status_code == 404


def case_campaigns_campaign_preview(app, browser, a, b):
    b_campaign = _campaign_of(app, b)
    _same_as_missing(_office(browser, a), f"/backoffice/campaigns/{b_campaign}/preview?account={b.account_number}",
                     f"/backoffice/campaigns/{MISSING}/preview?account={b.account_number}", b_campaign)


def case_campaigns_campaign_progress(app, browser, a, b):
    b_campaign = _campaign_of(app, b, status="sending")
    office = _office(browser, a)
    assert office.get(f"/backoffice/campaigns/{b_campaign}/progress.json").status_code == 404
    assert office.get(f"/backoffice/campaigns/{MISSING}/progress.json").status_code == 404


def case_campaigns_campaign_recipients(app, browser, a, b):
    b_campaign = _campaign_of(app, b, status="completed")
    _same_as_missing(_office(browser, a), f"/backoffice/campaigns/{b_campaign}/recipients",
                     f"/backoffice/campaigns/{MISSING}/recipients", b_campaign)


def _post_refused(app, browser, a, b, path_end: str, status: str = "draft", data=None, office=None):
    b_campaign = _campaign_of(app, b, status=status)
    office = office or _office(browser, a)
    token = office.csrf("/backoffice/campaigns/new")
    foreign = office.post(f"/backoffice/campaigns/{b_campaign}/{path_end}", {"csrf_token": token, **(data or {})})
    missing = office.post(f"/backoffice/campaigns/{MISSING}/{path_end}", {"csrf_token": token, **(data or {})})
    assert foreign.status_code == missing.status_code == 404
    assert _status(app, b.tenant_id, b_campaign) == status


def case_campaigns_campaign_send(app, browser, a, b):
    _post_refused(app, browser, a, b, "send", data={"when": "now"})


def case_campaigns_campaign_test_send(app, browser, a, b):
    _post_refused(app, browser, a, b, "test")


def case_campaigns_campaign_action(app, browser, a, b):
    office = _office(browser, a)
    for action, status in (("pause", "sending"), ("resume", "paused"), ("cancel", "sending")):
        _post_refused(app, browser, a, b, action, status=status, office=office)


def case_portal_unsubscribe(app, browser, a, b):
    b_campaign = _campaign_of(app, b)
    token = make_token(secret=app.config["SECRET_KEY"], tenant_id=b.tenant_id, campaign_public_id=b_campaign,
                       account_number=b.account_number)
    portal = browser(a.slug)
    assert portal.get(f"/unsubscribe/{token}").status_code == 400
    assert portal.client.post(f"/unsubscribe/{token}", base_url=portal.base_url).status_code == 400
    with app.app_context(), tenant_scope(b.tenant_id):
        assert db.session.scalar(select(CustomerUser.marketing_consent).where(
            CustomerUser.email == b.customer_email)) is True
