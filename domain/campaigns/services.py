"""Campaigns from the back office: write one, its templates, its segment; start, pause, resume, cancel; progress.

Recipients are recorded when the sending starts (consent as it is then), one row per account, before any message
leaves (domain/campaigns/sending.py sends them).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import case, func, literal, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from domain.audit.recorder import record_event
from domain.campaigns import rendering, segments
from domain.campaigns.criteria import LOCALES, Criteria, parse_criteria
from domain.campaigns.models import PURPOSES, Campaign, CampaignRecipient, CampaignTemplate, MarketingOptOut
from domain.db import db
from tenants.guard import TENANT_FILTERED

log = logging.getLogger("campaigns")
LANES = 2  # jobs sending one campaign side by side (each claims its own batches)


class CampaignRefused(ValueError):
    """`code` says why (`field` which input); nothing was changed."""

    def __init__(self, code: str, field: str | None = None, detail: str | None = None):
        super().__init__(f"{code} {field or ''} {detail or ''}".strip())
        self.code, self.field, self.detail = code, field, detail


@dataclass(frozen=True)
class Progress:
    total: int
    pending: int
    sent: int
    failed: int
    skipped: int
    unsubscribed: int

    @property
    def processed(self) -> int:
        return self.sent + self.failed + self.skipped

    @property
    def percent(self) -> int:
        return 100 if self.total == 0 else int(self.processed * 100 / self.total)


def campaign_by_public_id(public_id: str) -> Campaign | None:
    if not public_id or len(public_id) > 36:
        return None
    return db.session.scalar(select(Campaign).where(Campaign.public_id == public_id))


def latest_campaigns(limit: int = 100) -> list[Campaign]:
    return list(db.session.scalars(select(Campaign).order_by(Campaign.created_at.desc(), Campaign.id.desc())
                                   .limit(limit)))


def _check_name(name: str | None) -> str:
    name = " ".join((name or "").split())
    if not name or len(name) > 120:
        raise CampaignRefused("name", "name")
    return name


def create_campaign(*, name: str, purpose: str, criteria: dict, created_by: str, now: datetime) -> Campaign:
    if purpose not in PURPOSES:
        raise CampaignRefused("purpose", "purpose")
    campaign = Campaign(name=_check_name(name), purpose=purpose, criteria=parse_criteria(criteria).as_dict(),
                        created_by=created_by, created_at=now, status="draft")
    db.session.add(campaign)
    db.session.flush()
    log.info("campaign created tenant=%s campaign=%s purpose=%s", campaign.tenant_id, campaign.public_id, purpose)
    return campaign


def update_campaign(campaign: Campaign, *, name: str, purpose: str, criteria: dict) -> None:
    _draft(campaign)
    if purpose not in PURPOSES:
        raise CampaignRefused("purpose", "purpose")
    campaign.name, campaign.purpose = _check_name(name), purpose
    campaign.criteria = parse_criteria(criteria).as_dict()
    db.session.flush()


def _draft(campaign: Campaign) -> None:
    if campaign.status != "draft":
        raise CampaignRefused("state")


def templates_of(campaign: Campaign) -> dict[str, CampaignTemplate]:
    return {t.locale: t for t in db.session.scalars(
        select(CampaignTemplate).where(CampaignTemplate.campaign_id == campaign.id))}


def save_template(campaign: Campaign, *, locale: str, subject: str, text: str, html: str | None) -> CampaignTemplate:
    """Checked in the sandbox with example values first: a template that would fail at send time is refused."""
    _draft(campaign)
    if locale not in LOCALES:
        raise CampaignRefused("locale", "locale")
    subject, text, html = (subject or "").strip(), (text or "").strip(), (html or "").strip() or None
    if not subject or len(subject) > 200:
        raise CampaignRefused("subject", "subject")
    if not text:
        raise CampaignRefused("text", "text")
    rendering.check(subject=subject, text=text, html=html)  # TemplateRefused
    template = templates_of(campaign).get(locale)
    if template is None:
        template = CampaignTemplate(campaign_id=campaign.id, locale=locale, subject=subject, text=text, html=html)
        db.session.add(template)
    else:
        template.subject, template.text, template.html = subject, text, html
    db.session.flush()
    return template


def delete_template(campaign: Campaign, *, locale: str) -> None:
    _draft(campaign)
    template = templates_of(campaign).get(locale)
    if template is not None:
        db.session.delete(template)
        db.session.flush()


def template_for(templates: dict, locale: str, default_locale: str):
    """The recipient's language, else the utility's, else any (the campaign cannot start without one)."""
    return templates.get(locale) or templates.get(default_locale) or next(iter(templates.values()), None)


def criteria_of(campaign: Campaign) -> Criteria:
    return parse_criteria(campaign.criteria or {})


def segment_count(campaign: Campaign, *, tenant, today: date) -> segments.SegmentCount:
    return segments.count(tenant_id=tenant.id, purpose=campaign.purpose, criteria=criteria_of(campaign),
                          default_locale=tenant.default_locale, today=today)


def _startable(campaign: Campaign, tenant) -> None:
    if campaign.status != "draft":
        raise CampaignRefused("state")
    templates = templates_of(campaign)
    if tenant.default_locale not in templates:
        raise CampaignRefused("template", detail=tenant.default_locale)


def send_now(campaign: Campaign, *, tenant, now: datetime) -> None:
    """Status `sending`; the job `campaigns.start` records the recipients and starts the lanes (the caller
    dispatches it once this is committed)."""
    _startable(campaign, tenant)
    campaign.status, campaign.scheduled_at = "sending", now
    record_event(db.session, tenant_id=campaign.tenant_id, action="campaign_started", entity_type="Campaign",
                 entity_id=campaign.id, details={"name": campaign.name, "purpose": campaign.purpose}, occurred_at=now)
    db.session.flush()


def schedule(campaign: Campaign, *, tenant, at: datetime, now: datetime) -> None:
    _startable(campaign, tenant)
    if at <= now:
        raise CampaignRefused("past", "scheduled_at")
    campaign.status, campaign.scheduled_at = "scheduled", at
    record_event(db.session, tenant_id=campaign.tenant_id, action="campaign_scheduled", entity_type="Campaign",
                 entity_id=campaign.id, details={"at": at.isoformat()}, occurred_at=now)
    db.session.flush()


def record_recipients(campaign: Campaign, *, tenant, today: date, now: datetime) -> int:
    """Write one row per account of the segment, in one statement; twice is harmless (the unique key: a second
    call adds nobody, ON CONFLICT DO NOTHING). Accounts without an address are recorded as skipped. Returns how many
    were written."""
    if campaign.started_at is not None:
        return 0
    source = segments.segment_select(tenant_id=tenant.id, purpose=campaign.purpose, criteria=criteria_of(campaign),
                                     default_locale=tenant.default_locale, today=today).subquery()
    email = source.c.email

    rows = select(
        literal(tenant.id), literal(campaign.id), source.c.account_id, email, func.coalesce(source.c.name, ""),
        source.c.account_number, source.c.locale,
        case((email.is_(None), "skipped"), else_="pending"), case((email.is_(None), "no_email"), else_=None),
        literal(0)).where(source.c.account_id.isnot(None))  # a WHERE: SQLite reads ON CONFLICT after it unambiguously
    table = CampaignRecipient.__table__
    dialect = db.session.get_bind().dialect.name
    insert_into = postgresql_insert if dialect == "postgresql" else sqlite_insert
    statement = insert_into(table).from_select(
        ["tenant_id", "campaign_id", "account_id", "email", "name", "account_number", "locale", "status", "reason",
         "attempts"], rows).on_conflict_do_nothing(index_elements=["tenant_id", "campaign_id", "account_id"])
    before = sum(_status_counts(campaign.id).values())
    db.session.execute(statement.execution_options(**{TENANT_FILTERED: True}))
    counts = _status_counts(campaign.id)
    written = sum(counts.values()) - before
    campaign.recipient_count = sum(counts.values())
    campaign.skipped_count = counts.get("skipped", 0)
    campaign.started_at = now
    db.session.flush()
    log.info("campaign recipients recorded tenant=%s campaign=%s recipients=%s skipped=%s", tenant.id,
             campaign.public_id, campaign.recipient_count, campaign.skipped_count)
    return written


def pause(campaign: Campaign, *, now: datetime) -> None:
    """The lanes stop after the batch in hand (they read the status before each batch)."""
    if campaign.status not in ("sending", "scheduled"):
        raise CampaignRefused("state")
    campaign.status = "paused"
    record_event(db.session, tenant_id=campaign.tenant_id, action="campaign_paused", entity_type="Campaign",
                 entity_id=campaign.id, details={}, occurred_at=now)
    db.session.flush()


def resume(campaign: Campaign, *, now: datetime) -> None:
    if campaign.status != "paused":
        raise CampaignRefused("state")
    campaign.status = "sending"
    if campaign.scheduled_at is None or campaign.scheduled_at > now:
        campaign.scheduled_at = now
    record_event(db.session, tenant_id=campaign.tenant_id, action="campaign_resumed", entity_type="Campaign",
                 entity_id=campaign.id, details={}, occurred_at=now)
    db.session.flush()


def cancel(campaign: Campaign, *, now: datetime) -> int:
    """Recipients not sent yet are skipped (reason `cancelled`); what was sent stays sent. Returns how many."""
    if campaign.status not in ("draft", "scheduled", "sending", "paused"):
        raise CampaignRefused("state")
    campaign.status, campaign.finished_at = "cancelled", now
    skipped = db.session.execute(
        update(CampaignRecipient).where(CampaignRecipient.campaign_id == campaign.id,
                                        CampaignRecipient.status.in_(("pending", "sending")))
        .values(status="skipped", reason="cancelled")).rowcount
    record_event(db.session, tenant_id=campaign.tenant_id, action="campaign_cancelled", entity_type="Campaign",
                 entity_id=campaign.id, details={"not_sent": skipped}, occurred_at=now)
    db.session.flush()
    return skipped


def _status_counts(campaign_id: int) -> dict[str, int]:
    return dict(db.session.execute(
        select(CampaignRecipient.status, func.count(CampaignRecipient.id))
        .where(CampaignRecipient.campaign_id == campaign_id).group_by(CampaignRecipient.status)).all())


def progress(campaign: Campaign) -> Progress:
    counts = _status_counts(campaign.id)
    unsubscribed = db.session.scalar(
        select(func.count(MarketingOptOut.id)).where(MarketingOptOut.campaign_id == campaign.id))
    return Progress(total=sum(counts.values()), pending=counts.get("pending", 0) + counts.get("sending", 0),
                    sent=counts.get("sent", 0), failed=counts.get("failed", 0), skipped=counts.get("skipped", 0),
                    unsubscribed=unsubscribed or 0)


def recipients_page(campaign: Campaign, *, status: str | None, page: int, per_page: int = 50):
    query = select(CampaignRecipient).where(CampaignRecipient.campaign_id == campaign.id)
    if status:
        query = query.where(CampaignRecipient.status == status)
    return list(db.session.scalars(query.order_by(CampaignRecipient.id).offset((page - 1) * per_page)
                                   .limit(per_page + 1)))


def campaign_mail_of_account(*, account_id: int, limit: int = 10) -> list[tuple[Campaign, CampaignRecipient]]:
    """The campaign e-mails recorded for an account (sent, to send, failed or left out), newest campaign first: the
    customer file shows them beside the account's other messages."""
    rows = db.session.execute(
        select(Campaign, CampaignRecipient).join(CampaignRecipient, CampaignRecipient.campaign_id == Campaign.id)
        .where(CampaignRecipient.account_id == account_id)
        .order_by(CampaignRecipient.id.desc()).limit(limit)).all()
    return [(campaign, recipient) for campaign, recipient in rows]
