"""Campaign jobs on the `mail` queue: record a campaign's recipients, then lanes sending them in batches.

The rules are in domain/campaigns (sending.py claims, sends and records); this module gives them what lives in the
app: the tenant's transport (its own SMTP server or the platform's), its branding and sender, the footer in each
recipient's language, and the unsubscribe link on the tenant's portal host.
"""
from __future__ import annotations

import logging
from datetime import UTC, datetime

from flask import current_app, render_template
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select

from app.i18n import tenant_formats, tenant_today
from app.invitation_mail import tenant_url
from app.mail import tenant_or_platform_transport
from domain.campaigns import rendering, sending, services
from domain.campaigns.models import Campaign
from domain.campaigns.unsubscribe import token_factory
from domain.communications.mail_settings import sender_of
from domain.communications.outbound import OutgoingMail
from domain.db import db, utcnow
from domain.jobs import dispatch
from tenants.context import platform_scope
from tenants.models import Tenant

log = logging.getLogger("campaigns")
BATCHES_PER_JOB = 25  # a lane's job sends this many batches, then hands over to a new job of the same lane


class CampaignMailer:
    """Everything a batch needs, prepared once per job: compiled templates and footers per locale."""

    def __init__(self, tenant: Tenant, campaign: Campaign, templates: dict):
        self.tenant, self.campaign = tenant, campaign
        self.marketing = campaign.purpose == "marketing"
        self.sender_name, self.sender_address = sender_of(tenant, platform_domain=current_app.config["PLATFORM_DOMAIN"])
        self.compiled = {locale: rendering.compile_template(subject=t.subject, text=t.text, html=t.html)
                         for locale, t in templates.items()}
        self.portal_url = tenant_url(tenant, "portal.home")
        # The link with a placeholder, built once: each recipient's token replaces it.
        self.unsubscribe_base = tenant_url(tenant, "portal.unsubscribe", token="TOKEN")
        self.token = token_factory(secret=current_app.config["SECRET_KEY"], tenant_id=tenant.id,
                                   campaign_public_id=campaign.public_id)
        self._footers: dict[str, tuple[str, str]] = {}
        self.domain = self.sender_address.rpartition("@")[2]

    def _template_locale(self, locale: str) -> str:
        if locale in self.compiled:
            return locale
        return self.tenant.default_locale if self.tenant.default_locale in self.compiled else next(iter(self.compiled))

    def footer(self, locale: str) -> tuple[str, str]:
        if locale not in self._footers:
            with force_locale(locale), tenant_formats(self.tenant):
                text = render_template("mail/_footer.txt", tenant=self.tenant)
                html = render_template("mail/_footer.html", tenant=self.tenant)
                if self.marketing:
                    text += "\n" + _("You receive this e-mail because you agreed to news and offers. "
                                     "To stop them: %(link)s", link="{UNSUBSCRIBE}") + "\n"
                    html += ('<p style="margin: 8px 16px; color: #545e69; font-size: 13px;">'
                             + _("You receive this e-mail because you agreed to news and offers.")
                             + ' <a href="{UNSUBSCRIBE}" style="color: #0b4d91;">' + _("Unsubscribe") + "</a></p>")
            self._footers[locale] = (text, html)
        return self._footers[locale]

    def values(self, row, unsubscribe_url: str) -> dict:
        return {"customer_name": row.name, "account_number": row.account_number, "utility_name": self.tenant.name,
                "portal_url": self.portal_url, "unsubscribe_url": unsubscribe_url}

    def render(self, row) -> tuple[OutgoingMail, str]:
        """The mail of one recipient (or a test / preview row) and its unsubscribe link."""
        locale = self._template_locale(row.locale)
        unsubscribe_url = self.unsubscribe_base.replace("TOKEN", self.token(row.account_number))
        subject, text, html = rendering.render(self.compiled[locale], self.values(row, unsubscribe_url))
        footer_text, footer_html = self.footer(row.locale if row.locale in ("en", "fr", "de", "es") else locale)
        text = text.rstrip() + "\n\n" + footer_text.replace("{UNSUBSCRIBE}", unsubscribe_url)
        if html is not None:
            footer_html = footer_html.replace("{UNSUBSCRIBE}", unsubscribe_url)
            index = html.rfind("</body>")
            html = html[:index] + footer_html + html[index:] if index >= 0 else html + footer_html
        headers: tuple = (("X-Campaign", self.campaign.public_id),)
        if self.marketing:
            headers += (("List-Unsubscribe", f"<{unsubscribe_url}>"),
                        ("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"))
        mail = OutgoingMail(to=row.email, subject=subject, text=text, html=html, sender_name=self.sender_name,
                            sender_address=self.sender_address, tenant_id=self.tenant.id, headers=headers,
                            fast=True)
        return mail, unsubscribe_url

    def mail(self, row) -> OutgoingMail:
        return self.render(row)[0]


def mailer_for(campaign: Campaign) -> CampaignMailer:
    tenant = db.session.get(Tenant, campaign.tenant_id)
    return CampaignMailer(tenant, campaign, services.templates_of(campaign))


def _now() -> datetime:
    return utcnow()


def start(*, campaign_id: int) -> dict:
    """Record the recipients of a campaign being sent (once), then start its lanes."""
    campaign = db.session.get(Campaign, campaign_id)
    if campaign is None or campaign.status != "sending":
        return {"skipped": campaign.status if campaign else "missing"}
    tenant = db.session.get(Tenant, campaign.tenant_id)
    with tenant_formats(tenant):
        today = tenant_today()
    written = services.record_recipients(campaign, tenant=tenant, today=today, now=_now())
    tenant_id = tenant.id
    for lane in range(1, services.LANES + 1):
        dispatch("campaigns.send", tenant_id=tenant_id, campaign_id=campaign_id, lane=lane)
    return {"recorded": written}


def send(*, campaign_id: int, lane: int = 1, batch_size: int | None = None) -> dict:
    """One lane: batches until nothing is left to claim (then complete the campaign, or come back for the retries
    when they are due), the campaign is paused or cancelled, or BATCHES_PER_JOB batches were sent."""
    campaign = db.session.get(Campaign, campaign_id)
    if campaign is None or campaign.status != "sending":
        return {"stopped": campaign.status if campaign else "missing"}
    mailer = mailer_for(campaign)
    tenant_id = campaign.tenant_id
    size = batch_size or int(current_app.config.get("CAMPAIGN_BATCH_SIZE") or sending.BATCH_SIZE)
    db.session.commit()
    totals = {"sent": 0, "failed": 0, "retried": 0}
    with tenant_or_platform_transport(tenant_id).session() as session:
        for _batch in range(BATCHES_PER_JOB):
            if sending.campaign_status(campaign_id) != "sending":
                db.session.rollback()
                return {**totals, "stopped": "status"}
            outcome = sending.send_batch(tenant_id=tenant_id, campaign_id=campaign_id, session=session,
                                         build_mail=mailer.mail, now=_now, size=size, marketing=mailer.marketing)
            totals["sent"] += outcome.sent
            totals["failed"] += outcome.failed
            totals["retried"] += outcome.retried
            if not outcome.claimed:
                break
        else:
            dispatch("campaigns.send", tenant_id=tenant_id, campaign_id=campaign_id, lane=lane,
                     batch_size=batch_size)
            return totals
    finish = sending.finish_if_done(campaign_id=campaign_id, now=_now())
    if finish.state == "completed":
        log.info("campaign completed tenant=%s campaign=%s", tenant_id, campaign.public_id)
    elif finish.state == "waiting":
        dispatch("campaigns.send", tenant_id=tenant_id, campaign_id=campaign_id, lane=lane, batch_size=batch_size,
                 at=finish.retry_at)
    return {**totals, "finish": finish.state}


def fire_scheduled(*, campaign_id: int) -> dict:
    """A scheduled campaign whose time has come starts sending (RQ's scheduler, or the workers' sweep)."""
    campaign = db.session.get(Campaign, campaign_id)
    if campaign is None or campaign.status != "scheduled" or campaign.scheduled_at > _now():
        return {"skipped": campaign.status if campaign else "missing"}
    campaign.status = "sending"
    db.session.commit()
    return start(campaign_id=campaign_id)


def take_up_campaigns(now: datetime | None = None, *, scheduled_only: bool = False) -> list[tuple[int, int, str]]:
    """For a `mail` worker starting (and its sweep): campaigns sending whose jobs were lost with a dead worker get
    their lanes again (a lane too many is harmless: lanes claim with row locks), and scheduled campaigns whose time
    has come start (`scheduled_only`: the periodic sweep, which leaves running campaigns alone).
    Returns (tenant id, campaign id, what)."""
    now = now or utcnow()
    from tenants.context import tenant_scope

    with platform_scope("campaigns: find the tenants with campaigns to take up"):
        tenant_ids = list(db.session.scalars(select(Tenant.id).where(Tenant.status == "active").order_by(Tenant.id)))
        db.session.rollback()
    done = []
    for tenant_id in tenant_ids:
        with tenant_scope(tenant_id):
            rows = db.session.execute(select(Campaign.id, Campaign.status, Campaign.scheduled_at).where(
                Campaign.status.in_(("sending", "scheduled")))).all()
            db.session.rollback()
            for campaign_id, status, at in rows:
                if status == "sending" and not scheduled_only:
                    dispatch("campaigns.start", tenant_id=tenant_id, campaign_id=campaign_id)
                    done.append((tenant_id, campaign_id, "lanes"))
                elif at is not None and at.astimezone(UTC) <= now:
                    dispatch("campaigns.fire_scheduled", tenant_id=tenant_id, campaign_id=campaign_id)
                    done.append((tenant_id, campaign_id, "started"))
    return done
