"""Campaigns end to end in-process: segments per criterion, the consent rule, recipients recorded once, pause /
resume / cancel, and real SMTP to a server the test starts (headers, language, branding, retries, failures)."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from app.jobs import enqueue_now
from domain.audit.models import AuditEvent
from domain.campaigns import segments, services, sending
from domain.campaigns.criteria import CriteriaRefused, parse_criteria
from domain.campaigns.models import Campaign, CampaignRecipient, MarketingOptOut
from domain.campaigns.rendering import TemplateRefused
from domain.db import db, utcnow
from domain.jobs import inline_jobs
from domain.identity.models import CustomerUser
from tenants.context import tenant_scope
from tenants.models import Tenant
from tests import clock
from tests import factories as f
from tests.campaign_support import SMTPServer, customer, platform_smtp

TODAY = clock.TODAY


@pytest.fixture
def tenant(app, make_tenant):
    return make_tenant("lumen", name="Lumen Energie")


def _count(tenant_id, purpose="marketing", **criteria):
    return segments.count(tenant_id=tenant_id, purpose=purpose, criteria=parse_criteria(criteria),
                          default_locale="en", today=TODAY)


def _campaign(purpose="marketing", criteria=None, locales=("en",), html=None, **kwargs):
    campaign = services.create_campaign(name="Winter offer", purpose=purpose, criteria=criteria or {},
                                        created_by="staff@lumen.test", now=utcnow())
    texts = {"en": ("Hello {{ customer_name }}", "Dear {{ customer_name }}, account {{ account_number }}."),
             "fr": ("Bonjour {{ customer_name }}", "Cher client {{ customer_name }}, compte {{ account_number }}."),
             "de": ("Hallo {{ customer_name }}", "Guten Tag {{ customer_name }}.")}
    for locale in locales:
        services.save_template(campaign, locale=locale, subject=texts[locale][0], text=texts[locale][1], html=html)
    return campaign


def _send(app, tenant, campaign):
    """Send now as the view does, then run the start job in-process (it runs the lanes after it)."""
    services.send_now(campaign, tenant=db.session.get(Tenant, tenant.id), now=utcnow())
    db.session.commit()
    campaign_id = campaign.id
    _run("campaigns.start", tenant.id, campaign_id=campaign_id)  # the lanes run after it
    return campaign_id


def _run(name, tenant_id, **kwargs):
    """In this process even when REDIS_URL is set (the jobs it dispatches too)."""
    with inline_jobs():
        enqueue_now(name, tenant_id=tenant_id, inline=True, **kwargs)


def _statuses(campaign_id):
    return dict(db.session.execute(select(CampaignRecipient.email, CampaignRecipient.status)
                                   .where(CampaignRecipient.campaign_id == campaign_id)).all())


def test_segment_counts_follow_each_criterion(ctx, tenant):
    with tenant_scope(tenant.id):
        offer = f.OfferFactory(code="GREEN", activity="gas")
        customer(consent=True, activity="gas", offer=offer, postcode="75011", city="Paris", locale="fr")
        customer(consent=True, activity="electricity", postcode="69003", payment_method="direct_debit",
                 paperless=True, locale="de")
        customer(consent=True, activity="water", postcode="75002", city="PARIS", overdue=True)
        customer(consent=False, activity="gas", postcode="75011", city="Paris", overdue=True)
        db.session.commit()

        assert _count(tenant.id).reachable == 3  # marketing: the three who consented
        assert _count(tenant.id, activity="gas").reachable == 1
        assert _count(tenant.id, offer="GREEN").reachable == 1
        assert _count(tenant.id, postcode="75").reachable == 2
        assert _count(tenant.id, town="paris").reachable == 2
        assert _count(tenant.id, payment_method="direct_debit").reachable == 1
        assert _count(tenant.id, paperless="yes").reachable == 1
        assert _count(tenant.id, paperless="no").reachable == 2
        assert _count(tenant.id, overdue="yes").reachable == 1
        assert _count(tenant.id, overdue="no").reachable == 2
        assert _count(tenant.id, language="fr").reachable == 1
        assert _count(tenant.id, language="en").reachable == 1
        assert _count(tenant.id, "service").reachable == 4
        assert _count(tenant.id, "service", consent="no").reachable == 1
        assert _count(tenant.id, "service", overdue="yes", town="Paris").reachable == 2


def test_criteria_no_customer_could_match_are_refused():
    with pytest.raises(CriteriaRefused) as refused:
        parse_criteria({"activity": "plutonium"})
    assert refused.value.field == "activity"
    with pytest.raises(CriteriaRefused):
        parse_criteria({"postcode": "75<script>"})


def test_marketing_reaches_only_consenting_online_customers_and_service_everyone_with_an_address(ctx, tenant):
    with tenant_scope(tenant.id):
        customer(email="yes@example.test", consent=True)
        customer(email="no@example.test", consent=False)
        customer(email=None, contact="offline@example.test")  # no online access: a contact point only
        customer(email=None)  # nothing at all
        opted = customer(email="gone@example.test", consent=True)
        db.session.add(MarketingOptOut(account_id=opted.id, created_at=utcnow()))
        db.session.commit()

        marketing = segments.sample(tenant_id=tenant.id, purpose="marketing", criteria=parse_criteria({}),
                                    default_locale="en", today=TODAY)
        service = _count(tenant.id, "service")

    assert [r.email for r in marketing] == ["yes@example.test"]
    assert service.reachable == 4 and service.without_email == 1


def test_a_campaign_of_one_tenant_never_reaches_anothers_customers(ctx, tenant, make_tenant):
    other = make_tenant("umbra")
    with tenant_scope(other.id):
        customer(email="other@umbra.test", consent=True)
        db.session.commit()
    with tenant_scope(tenant.id):
        customer(email="mine@lumen.test", consent=True)
        campaign = _campaign(purpose="service")
        db.session.commit()
        services.record_recipients(campaign, tenant=db.session.get(Tenant, tenant.id), today=TODAY, now=utcnow())
        db.session.commit()
        emails = list(db.session.scalars(select(CampaignRecipient.email)))

    assert emails == ["mine@lumen.test"]


def test_each_recipient_is_recorded_once(ctx, tenant):
    with tenant_scope(tenant.id):
        account = customer(consent=True)
        campaign = _campaign()
        db.session.commit()
        the_tenant = db.session.get(Tenant, tenant.id)

        services.record_recipients(campaign, tenant=the_tenant, today=TODAY, now=utcnow())
        campaign.started_at = None  # as if a second job recorded them again: the unique key adds nobody
        services.record_recipients(campaign, tenant=the_tenant, today=TODAY, now=utcnow())
        db.session.commit()
        count = db.session.scalar(select(func.count(CampaignRecipient.id)))
        db.session.add(CampaignRecipient(campaign_id=campaign.id, account_id=account.id, email="x@example.test",
                                         account_number=account.account_number, locale="en"))
        with pytest.raises(IntegrityError):
            db.session.flush()
        db.session.rollback()

    assert count == 1


def test_recording_twice_adds_nobody(ctx, tenant):
    with tenant_scope(tenant.id):
        customer(consent=True)
        customer(consent=True)
        campaign = _campaign()
        db.session.commit()
        the_tenant = db.session.get(Tenant, tenant.id)
        first = services.record_recipients(campaign, tenant=the_tenant, today=TODAY, now=utcnow())
        db.session.commit()
        second = services.record_recipients(campaign, tenant=the_tenant, today=TODAY, now=utcnow())

    assert (first, second) == (2, 0)


def test_templates_are_sandboxed_and_refused_clearly(ctx, tenant):
    with tenant_scope(tenant.id):
        campaign = _campaign(locales=())
        for text, code in (("{{ customer_nam }}", "unknown_variable"), ("{% if %}", "syntax"),
                           ("{{ customer_name.__class__.__mro__ }}", "not_allowed"),
                           ("{{ ''.__class__.__mro__[1].__subclasses__() }}", "not_allowed")):
            with pytest.raises(TemplateRefused) as refused:
                services.save_template(campaign, locale="en", subject="Hi", text=text, html=None)
            assert refused.value.code == code, text
        assert services.templates_of(campaign) == {}


def test_sent_by_smtp_with_unsubscribe_headers_language_branding_and_recipients(app, ctx, tenant):
    with tenant_scope(tenant.id):
        customer(email="anne@example.test", consent=True, locale="fr", first_name="Anne", last_name="Leroy")
        customer(email="bob@example.test", consent=True, locale="en", first_name="Bob", last_name="Smith")
        customer(email="carl@example.test", consent=True, locale="es", first_name="Carl", last_name="Diaz")
        customer(email="dora@example.test", consent=False)
        campaign = _campaign(locales=("en", "fr"), html="<html><body><p>Hi {{ customer_name }}</p></body></html>")
        db.session.commit()

    with SMTPServer() as server, platform_smtp(app, server.url), tenant_scope(tenant.id):
        campaign_id = _send(app, tenant, campaign)
        messages = {m["To"]: m for m in server.messages()}
        statuses = _statuses(campaign_id)
        status = db.session.get(Campaign, campaign_id).status

    assert sorted(messages) == ["anne@example.test", "bob@example.test", "carl@example.test"]
    anne, bob, carl = messages["anne@example.test"], messages["bob@example.test"], messages["carl@example.test"]
    assert anne["Subject"] == "Bonjour Anne Leroy" and bob["Subject"] == "Hello Bob Smith"
    assert carl["Subject"] == "Hello Carl Diaz"  # no Spanish text: the utility's language
    assert "Lumen Energie" in anne["From"]
    link = anne["List-Unsubscribe"]
    assert link.startswith("<http://lumen.localhost/unsubscribe/") and link.endswith(">")
    assert anne["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    text = anne.get_body(("plain",)).get_content()
    assert "Lumen Energie" in text and link[1:-1] in text  # footer with the utility and the link
    assert link != bob["List-Unsubscribe"]
    assert "Hi Anne Leroy" in anne.get_body(("html",)).get_content()
    assert set(statuses.values()) == {"sent"} and status == "completed"


def test_service_information_has_no_unsubscribe_header(app, ctx, tenant):
    with tenant_scope(tenant.id):
        customer(email=None, contact="offline@example.test")
        campaign = _campaign(purpose="service")
        db.session.commit()

    with SMTPServer() as server, platform_smtp(app, server.url), tenant_scope(tenant.id):
        _send(app, tenant, campaign)
        messages = server.messages()

    assert [m["To"] for m in messages] == ["offline@example.test"]
    assert messages[0]["List-Unsubscribe"] is None


def test_a_temporary_refusal_is_retried_after_the_back_off_and_a_permanent_one_recorded(app, ctx, tenant):
    with tenant_scope(tenant.id):
        customer(email="busy@example.test", consent=True)
        customer(email="gone@example.test", consent=True)
        customer(email="fine@example.test", consent=True)
        campaign = _campaign()
        db.session.commit()
    answers = {"busy@example.test": ["451 4.3.0 try again later"], "gone@example.test": ["550 5.1.1 no such user"]}

    with SMTPServer(answers) as server, platform_smtp(app, server.url), tenant_scope(tenant.id):
        campaign_id = _send(app, tenant, campaign)
        first = _statuses(campaign_id)
        busy = db.session.scalar(select(CampaignRecipient).where(CampaignRecipient.email == "busy@example.test"))
        retry_at, reason = busy.next_attempt_at, busy.reason
        db.session.rollback()
        clock.advance(sending.backoff(1).total_seconds() + 1)
        _run("campaigns.send", tenant.id, campaign_id=campaign_id)
        second = _statuses(campaign_id)
        gone = db.session.scalar(select(CampaignRecipient).where(CampaignRecipient.email == "gone@example.test"))
        received = sorted(m["To"] for m in server.messages())
        status = db.session.get(Campaign, campaign_id).status

    assert first == {"busy@example.test": "pending", "gone@example.test": "failed", "fine@example.test": "sent"}
    assert reason.startswith("451") and retry_at is not None
    assert second == {"busy@example.test": "sent", "gone@example.test": "failed", "fine@example.test": "sent"}
    assert gone.reason.startswith("550") and gone.attempts == 1
    assert received == ["busy@example.test", "fine@example.test"] and status == "completed"


def test_back_off_grows_with_each_attempt():
    assert [sending.backoff(n) for n in (1, 2, 3, 4, 9)] == [
        timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=30), timedelta(hours=2), timedelta(hours=2)]


def test_pause_stops_the_lanes_resume_goes_on_and_a_completed_campaign_cannot_be_cancelled(app, ctx, tenant):
    with tenant_scope(tenant.id):
        for n in range(5):
            customer(email=f"p{n}@example.test", consent=True)
        campaign = _campaign()
        db.session.commit()

    with SMTPServer() as server, platform_smtp(app, server.url), tenant_scope(tenant.id):
        services.send_now(campaign, tenant=db.session.get(Tenant, tenant.id), now=utcnow())
        services.record_recipients(campaign, tenant=db.session.get(Tenant, tenant.id), today=TODAY, now=utcnow())
        services.pause(campaign, now=utcnow())
        db.session.commit()
        campaign_id = campaign.id
        _run("campaigns.send", tenant.id, campaign_id=campaign_id)
        paused = len(server.received)
        services.resume(db.session.get(Campaign, campaign_id), now=utcnow())
        db.session.commit()
        _run("campaigns.send", tenant.id, campaign_id=campaign_id, batch_size=2)
        after_resume = len(server.received)
        campaign = db.session.get(Campaign, campaign_id)
        with pytest.raises(services.CampaignRefused):
            services.cancel(campaign, now=utcnow())
        progress = services.progress(campaign)
        events = list(db.session.scalars(select(AuditEvent.action).where(AuditEvent.entity_type == "Campaign")))

    assert paused == 0 and after_resume == 5 and campaign.status == "completed"
    assert progress.sent == 5 and progress.percent == 100
    assert {"campaign_started", "campaign_paused", "campaign_resumed"} <= set(events)


def test_cancel_skips_the_recipients_not_sent_yet(ctx, tenant):
    with tenant_scope(tenant.id):
        for n in range(3):
            customer(email=f"c{n}@example.test", consent=True)
        campaign = _campaign()
        services.send_now(campaign, tenant=db.session.get(Tenant, tenant.id), now=utcnow())
        services.record_recipients(campaign, tenant=db.session.get(Tenant, tenant.id), today=TODAY, now=utcnow())

        skipped = services.cancel(campaign, now=utcnow())
        with pytest.raises(services.CampaignRefused):
            services.resume(campaign, now=utcnow())
        reasons = set(db.session.scalars(select(CampaignRecipient.reason)))

    assert skipped == 3 and reasons == {"cancelled"} and campaign.status == "cancelled"


def test_a_campaign_cannot_start_without_the_text_in_the_utilitys_language(ctx, tenant):
    with tenant_scope(tenant.id):
        campaign = _campaign(locales=("fr",))
        with pytest.raises(services.CampaignRefused) as refused:
            services.send_now(campaign, tenant=db.session.get(Tenant, tenant.id), now=utcnow())

    assert refused.value.code == "template" and campaign.status == "draft"


def test_unsubscribing_withdraws_consent_records_an_opt_out_and_an_audit_event(ctx, tenant):
    from domain.campaigns.unsubscribe import BadUnsubscribeLink, make_token, resolve, unsubscribe

    with tenant_scope(tenant.id):
        account = customer(email="leave@example.test", consent=True)
        campaign = _campaign()
        db.session.commit()
        token = make_token(secret="s" * 40, tenant_id=tenant.id, campaign_public_id=campaign.public_id,
                           account_number=account.account_number)

        first = unsubscribe(resolve(secret="s" * 40, tenant_id=tenant.id, token=token), now=utcnow())
        again = unsubscribe(resolve(secret="s" * 40, tenant_id=tenant.id, token=token), now=utcnow())
        user = db.session.scalar(select(CustomerUser).where(CustomerUser.email == "leave@example.test"))
        opt_outs = db.session.scalar(select(func.count(MarketingOptOut.id)))
        events = list(db.session.scalars(select(AuditEvent.action).where(AuditEvent.action == "marketing_consent")))
        with pytest.raises(BadUnsubscribeLink):
            resolve(secret="s" * 40, tenant_id=tenant.id + 1, token=token)  # another utility's salt
        with pytest.raises(BadUnsubscribeLink):
            resolve(secret="s" * 40, tenant_id=tenant.id, token=token[:-2] + "xx")

    assert (first, again) == (True, False)
    assert user.marketing_consent is False and opt_outs == 1 and events == ["marketing_consent"]


def test_who_withdraws_consent_after_the_recipients_were_recorded_is_skipped_not_sent(app, ctx, tenant):
    from domain.campaigns.unsubscribe import Unsubscribing, unsubscribe

    with tenant_scope(tenant.id):
        customer(email="stay@example.test", consent=True)
        leaving = customer(email="leave@example.test", consent=True)
        customer(email="changed@example.test", consent=True)
        campaign = _campaign()
        db.session.commit()
        the_tenant = db.session.get(Tenant, tenant.id)
        services.send_now(campaign, tenant=the_tenant, now=utcnow())
        services.record_recipients(campaign, tenant=the_tenant, today=TODAY, now=utcnow())
        unsubscribe(Unsubscribing(account=leaving, campaign=campaign, locale=None), now=utcnow())
        db.session.scalar(select(CustomerUser).where(CustomerUser.email == "changed@example.test")) \
            .marketing_consent = False  # withdrawn in the profile
        db.session.commit()
        campaign_id = campaign.id

    with SMTPServer() as server, platform_smtp(app, server.url), tenant_scope(tenant.id):
        _run("campaigns.send", tenant.id, campaign_id=campaign_id)
        rows = dict(db.session.execute(select(CampaignRecipient.email, CampaignRecipient.reason)
                                       .where(CampaignRecipient.status == "skipped")).all())
        received = [m["To"] for m in server.messages()]

    assert received == ["stay@example.test"]
    assert rows == {"leave@example.test": "unsubscribed", "changed@example.test": "unsubscribed"}


def test_a_scheduled_campaign_starts_once_its_time_has_come_by_the_sweep_command(app, tenant, outbox, monkeypatch):
    monkeypatch.setitem(app.config, "REDIS_URL", None)  # the embedded default: cron runs `flask jobs sweep`
    with app.app_context(), tenant_scope(tenant.id):
        customer(email="later@example.test", consent=True)
        campaign = _campaign()
        services.schedule(campaign, tenant=db.session.get(Tenant, tenant.id), at=utcnow() + timedelta(hours=2),
                          now=utcnow())
        db.session.commit()
        campaign_id = campaign.id
    runner = app.test_cli_runner()

    early = runner.invoke(args=["jobs", "sweep"])
    early_mails = len(outbox())
    clock.advance(2 * 3600 + 1)
    due = runner.invoke(args=["jobs", "sweep"])

    assert early.exit_code == 0 and early_mails == 0
    assert due.exit_code == 0 and f"campaign {campaign_id}: started" in due.output
    assert [m["To"] for m in outbox()] == ["later@example.test"]
    with app.app_context(), tenant_scope(tenant.id):
        assert db.session.get(Campaign, campaign_id).status == "completed"
