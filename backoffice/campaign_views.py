"""Mailing campaigns in the back office (supervisors and tenant administrators): the campaign and its segment with
a live count, a template per language with a preview and a test send, sending now or later, live progress, pause,
resume, cancel, and who got what. Rules in domain/campaigns; sending in app/campaign_jobs.py."""
from __future__ import annotations

from dataclasses import replace
from datetime import UTC
from types import SimpleNamespace

from flask import Blueprint, abort, flash, g, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from app.auth import staff_permission
from app.csv_export import wants_csv
from backoffice import exports
from app.campaign_jobs import CampaignMailer, mailer_for
from app.i18n import LOCALE_NAMES, LOCALES, tenant_today, tenant_zone
from app.jobs import enqueue_after_commit
from app.mail import tenant_or_platform_transport
from backoffice.campaign_forms import ActionForm, CampaignForm, SendForm, TemplateForm
from backoffice.campaign_texts import (
    CAMPAIGN_STATUS_NAMES,
    CRITERIA_REFUSALS,
    PURPOSE_NAMES,
    RECIPIENT_STATUS_NAMES,
    REFUSALS,
    SKIP_REASONS,
    VARIABLE_HELP,
    template_refusal,
)
from domain.campaigns import rendering, segments, services
from domain.campaigns.criteria import CriteriaRefused, parse_criteria
from domain.campaigns.models import PURPOSES, RECIPIENT_STATUSES
from domain.campaigns.rendering import TemplateRefused
from domain.communications.outbound import PermanentFailure, TemporaryFailure
from domain.db import db, utcnow
from domain.offers.models import Offer
from tenants.models import Tenant

bp = Blueprint("campaigns", __name__)
PERMISSION = "campaigns.manage"


def _campaign_or_404(public_id: str):
    campaign = services.campaign_by_public_id(public_id)
    if campaign is None:
        abort(404)
    return campaign


def _form(**kwargs) -> CampaignForm:
    offers = [(o.code, o.name) for o in db.session.scalars(select(Offer).order_by(Offer.name))]
    return CampaignForm(activities=tuple(g.tenant.activities or ()), offers=offers, **kwargs)


def _count(purpose: str, criteria: dict):
    return segments.count(tenant_id=g.tenant.id, purpose=purpose, criteria=parse_criteria(criteria),
                          default_locale=g.tenant.default_locale, today=tenant_today())


def _sample(purpose: str, criteria: dict):
    return segments.sample(tenant_id=g.tenant.id, purpose=purpose, criteria=parse_criteria(criteria),
                           default_locale=g.tenant.default_locale, today=tenant_today())


def _criteria_error(form, exc: CriteriaRefused) -> None:
    form[exc.field].errors = list(form[exc.field].errors) + [str(CRITERIA_REFUSALS.get(exc.code, exc.code))]


@bp.get("/")
@staff_permission(PERMISSION)
def campaign_list():
    campaigns = services.latest_campaigns()
    if wants_csv():
        return exports.campaigns(campaigns, status_names=CAMPAIGN_STATUS_NAMES, purpose_names=PURPOSE_NAMES)
    return render_template("backoffice/campaigns/list.html", campaigns=campaigns,
                           status_names=CAMPAIGN_STATUS_NAMES, purpose_names=PURPOSE_NAMES)


def _edit_page(form, campaign=None, *, counted=None, sample=None, refusal=None, status=200):
    return render_template("backoffice/campaigns/edit.html", form=form, campaign=campaign, counted=counted,
                           sample=sample, refusal=refusal), status


@bp.route("/new", methods=["GET", "POST"])
@staff_permission(PERMISSION)
def campaign_new():
    form = _form()
    return _save(form, None)


@bp.route("/<public_id>/edit", methods=["GET", "POST"])
@staff_permission(PERMISSION)
def campaign_edit(public_id: str):
    campaign = _campaign_or_404(public_id)
    if not campaign.editable:
        flash(str(REFUSALS["state"]), "error")
        return redirect(url_for("campaigns.campaign_detail", public_id=public_id))
    form = _form(data={"name": campaign.name, "purpose": campaign.purpose, **campaign.criteria}) \
        if request.method == "GET" else _form()
    return _save(form, campaign)


def _save(form: CampaignForm, campaign):
    """One form for both: "Count the recipients" shows the live count without saving (the page without script);
    "Save" creates or updates the draft."""
    if request.method == "GET":
        return _edit_page(form, campaign)
    if not form.validate():
        return _edit_page(form, campaign, status=422)
    try:
        criteria = parse_criteria(form.criteria())
    except CriteriaRefused as exc:
        _criteria_error(form, exc)
        return _edit_page(form, campaign, status=422)
    if "count" in request.form:
        return _edit_page(form, campaign, counted=_count(form.purpose.data, criteria.as_dict()),
                          sample=_sample(form.purpose.data, criteria.as_dict()))
    try:
        if campaign is None:
            campaign = services.create_campaign(name=form.name.data, purpose=form.purpose.data,
                                                criteria=criteria.as_dict(), created_by=current_user.user.email,
                                                now=utcnow())
        else:
            services.update_campaign(campaign, name=form.name.data, purpose=form.purpose.data,
                                     criteria=criteria.as_dict())
    except services.CampaignRefused as exc:
        return _edit_page(form, campaign, refusal=REFUSALS.get(exc.code), status=422)
    flash(_("The campaign has been saved."), "success")
    return redirect(url_for("campaigns.campaign_detail", public_id=campaign.public_id))


@bp.get("/segment.json")
@staff_permission(PERMISSION)
def segment_preview():
    """The live count and a sample of the segment the form describes (the page's script asks as criteria change)."""
    purpose = request.args.get("purpose") if request.args.get("purpose") in PURPOSES else "marketing"
    try:
        criteria = parse_criteria(request.args).as_dict()
    except CriteriaRefused as exc:
        return jsonify(error=str(CRITERIA_REFUSALS.get(exc.code, exc.code)), field=exc.field), 400
    counted = _count(purpose, criteria)
    return jsonify(count=counted.reachable, without_email=counted.without_email,
                   sample=[{"account_number": r.account_number, "name": r.name, "language": r.locale}
                           for r in _sample(purpose, criteria)])


@bp.get("/<public_id>")
@staff_permission(PERMISSION)
def campaign_detail(public_id: str):
    campaign = _campaign_or_404(public_id)
    templates = services.templates_of(campaign)
    counted = services.segment_count(campaign, tenant=g.tenant, today=tenant_today()) if campaign.editable else None
    sample = (segments.sample(tenant_id=g.tenant.id, purpose=campaign.purpose,
                              criteria=services.criteria_of(campaign), default_locale=g.tenant.default_locale,
                              today=tenant_today()) if campaign.editable else [])
    return render_template(
        "backoffice/campaigns/detail.html", campaign=campaign, templates=templates, counted=counted, sample=sample,
        progress=services.progress(campaign), status_names=CAMPAIGN_STATUS_NAMES, purpose_names=PURPOSE_NAMES,
        locales=LOCALES, locale_names=LOCALE_NAMES, send_form=SendForm(), action_form=ActionForm(),
        criteria_lines=_criteria_lines(campaign.criteria))


def _criteria_lines(criteria: dict) -> list[tuple[str, str]]:
    form = _form()
    lines = []
    for name, value in criteria.items():
        field = form[name]
        choices = {str(choice.value): str(choice.label) for choice in getattr(field, "choices", None) or ()}
        lines.append((str(field.label.text), choices.get(value, value)))
    return lines


@bp.route("/<public_id>/templates/<locale>", methods=["GET", "POST"])
@staff_permission(PERMISSION)
def template_edit(public_id: str, locale: str):
    campaign = _campaign_or_404(public_id)
    if locale not in LOCALES:
        abort(404)
    existing = services.templates_of(campaign).get(locale)
    form = TemplateForm(obj=existing) if request.method == "GET" else TemplateForm()
    refusal = None
    status = 200
    preview = None
    if request.method == "POST" and request.form.get("action") == "preview":
        if form.validate():
            try:
                preview = _unsaved_preview(campaign, locale, form)
            except TemplateRefused as exc:
                refusal, status = template_refusal(exc), 422
        else:
            status = 422
    elif request.method == "POST":
        if form.validate():
            try:
                services.save_template(campaign, locale=locale, subject=form.subject.data, text=form.text.data,
                                       html=form.html.data)
            except TemplateRefused as exc:
                refusal, status = template_refusal(exc), 422
            except services.CampaignRefused as exc:
                refusal, status = str(REFUSALS.get(exc.code, exc.code)), 422
            else:
                flash(_("The e-mail in %(language)s has been saved.", language=LOCALE_NAMES[locale]), "success")
                return redirect(url_for("campaigns.campaign_detail", public_id=public_id))
        else:
            status = 422
    return render_template("backoffice/campaigns/template.html", campaign=campaign, form=form, locale=locale,
                           locale_names=LOCALE_NAMES, refusal=refusal, variables=VARIABLE_HELP,
                           preview=preview), status


def _unsaved_preview(campaign, locale: str, form):
    """The e-mail as the form's (unsaved) template writes it for the segment's first customer, in the form's
    language (the staff member stands in when the segment is empty): checked in the same sandbox as at send time.
    Returns (mail, row)."""
    row, _rows = _preview_row(campaign, None, locale)
    if row is None:
        me = current_user.user
        row = _Row(email=me.email, name=me.full_name, account_number="C0000000", locale=locale)
    rendering.check(subject=form.subject.data or "", text=form.text.data or "", html=form.html.data or None)
    draft = SimpleNamespace(subject=(form.subject.data or "").strip(), text=(form.text.data or "").strip(),
                            html=(form.html.data or "").strip() or None)
    tenant = db.session.get(Tenant, campaign.tenant_id)
    return CampaignMailer(tenant, campaign, {locale: draft}).mail(row), row


class _Row:
    """A recipient as the mailer reads it, for a preview or a test send."""

    def __init__(self, *, email, name, account_number, locale):
        self.email, self.name, self.account_number, self.locale = email, name, account_number, locale


def _preview_row(campaign, account_number: str | None, locale: str | None):
    """The chosen customer of the segment (by customer number), else the first; None if nobody matches."""
    rows = segments.sample(tenant_id=g.tenant.id, purpose=campaign.purpose, criteria=services.criteria_of(campaign),
                           default_locale=g.tenant.default_locale, today=tenant_today(), size=1000)
    chosen = next((r for r in rows if r.account_number == account_number), None) if account_number else None
    chosen = chosen or (rows[0] if rows and not account_number else None)
    if chosen is None:
        return None, rows
    return _Row(email=chosen.email, name=chosen.name, account_number=chosen.account_number,
                locale=locale if locale in LOCALES else chosen.locale), rows


@bp.get("/<public_id>/preview")
@staff_permission(PERMISSION)
def campaign_preview(public_id: str):
    campaign = _campaign_or_404(public_id)
    templates = services.templates_of(campaign)
    account_number = (request.args.get("account") or "").strip()[:20] or None
    row, rows = _preview_row(campaign, account_number, request.args.get("locale"))
    mail, error = None, None
    if not templates:
        error = str(REFUSALS["template"])
    elif row is None:
        error = _("No customer of this segment has that customer number.") if account_number else \
            _("The segment is empty: nobody to preview the e-mail for.")
    else:
        try:
            mail = mailer_for(campaign).mail(row)
        except TemplateRefused as exc:
            error = template_refusal(exc)
    return render_template("backoffice/campaigns/preview.html", campaign=campaign, mail=mail, row=row,
                           error=error, choices=rows[:50], account_number=account_number or "",
                           locale_names=LOCALE_NAMES)


@bp.post("/<public_id>/test")
@staff_permission(PERMISSION)
def campaign_test_send(public_id: str):
    """The e-mail as the first customer of the segment would get it, sent now to the staff member's own address."""
    campaign = _campaign_or_404(public_id)
    if not ActionForm().validate():
        abort(400)
    if not services.templates_of(campaign):
        flash(str(REFUSALS["template"]), "error")
        return redirect(url_for("campaigns.campaign_detail", public_id=public_id))
    row, _rows = _preview_row(campaign, None, None)
    me = current_user.user
    sample = row or _Row(email=me.email, name=me.full_name, account_number="C0000000",
                         locale=me.locale or g.tenant.default_locale)
    test = _Row(email=me.email, name=sample.name, account_number=sample.account_number,
                locale=me.locale if me.locale in LOCALES else sample.locale)
    try:
        mail = mailer_for(campaign).mail(test)
        mail = replace(mail, subject="[TEST] " + mail.subject)
        with tenant_or_platform_transport(mail.tenant_id).session() as session:
            session.send(mail)
    except TemplateRefused as exc:
        flash(template_refusal(exc), "error")
    except (TemporaryFailure, PermanentFailure) as exc:
        flash(_("The test e-mail could not be sent: %(reason)s", reason=exc.reason), "error")
    else:
        flash(_("A test e-mail has been sent to %(address)s.", address=me.email), "success")
    return redirect(url_for("campaigns.campaign_detail", public_id=public_id))


@bp.post("/<public_id>/send")
@staff_permission(PERMISSION)
def campaign_send(public_id: str):
    campaign = _campaign_or_404(public_id)
    form = SendForm()
    if not form.validate():
        abort(400)
    now = utcnow()
    try:
        if form.when.data == "later":
            if form.at.data is None:
                raise services.CampaignRefused("when")
            at = form.at.data.replace(tzinfo=tenant_zone()).astimezone(UTC)
            services.schedule(campaign, tenant=g.tenant, at=at, now=now)
            enqueue_after_commit("campaigns.fire_scheduled", tenant_id=g.tenant.id, campaign_id=campaign.id, at=at)
            flash(_("The campaign is scheduled."), "success")
        else:
            services.send_now(campaign, tenant=g.tenant, now=now)
            enqueue_after_commit("campaigns.start", tenant_id=g.tenant.id, campaign_id=campaign.id)
            flash(_("The campaign is being sent."), "success")
    except services.CampaignRefused as exc:
        flash(str(REFUSALS.get(exc.code, exc.code)), "error")
    return redirect(url_for("campaigns.campaign_detail", public_id=public_id))


@bp.post("/<public_id>/<any(pause, resume, cancel):action>")
@staff_permission(PERMISSION)
def campaign_action(public_id: str, action: str):
    campaign = _campaign_or_404(public_id)
    if not ActionForm().validate():
        abort(400)
    now = utcnow()
    try:
        if action == "pause":
            services.pause(campaign, now=now)
            flash(_("The campaign is paused: the e-mails being sent finish, no more start."), "success")
        elif action == "resume":
            services.resume(campaign, now=now)
            enqueue_after_commit("campaigns.start", tenant_id=g.tenant.id, campaign_id=campaign.id)
            flash(_("The campaign is being sent again."), "success")
        else:
            services.cancel(campaign, now=now)
            flash(_("The campaign is cancelled: nobody else will get it."), "success")
    except services.CampaignRefused as exc:
        flash(str(REFUSALS.get(exc.code, exc.code)), "error")
    return redirect(url_for("campaigns.campaign_detail", public_id=public_id))


@bp.get("/<public_id>/progress.json")
@staff_permission(PERMISSION)
def campaign_progress(public_id: str):
    campaign = _campaign_or_404(public_id)
    p = services.progress(campaign)
    return jsonify(status=campaign.status, total=p.total, processed=p.processed, percent=p.percent, sent=p.sent,
                   failed=p.failed, skipped=p.skipped, unsubscribed=p.unsubscribed, active=campaign.is_active)


@bp.get("/<public_id>/recipients")
@staff_permission(PERMISSION)
def campaign_recipients(public_id: str):
    campaign = _campaign_or_404(public_id)
    status = request.args.get("status") if request.args.get("status") in RECIPIENT_STATUSES else None
    if wants_csv():
        return exports.campaign_recipients(campaign, status=status, status_names=RECIPIENT_STATUS_NAMES,
                                           skip_reasons=SKIP_REASONS)
    try:
        page = max(1, min(int(request.args.get("page", 1)), 100_000))
    except ValueError:
        page = 1
    rows = services.recipients_page(campaign, status=status, page=page)
    return render_template("backoffice/campaigns/recipients.html", campaign=campaign, rows=rows[:50],
                           has_next=len(rows) > 50, page=page, status=status, status_names=RECIPIENT_STATUS_NAMES,
                           skip_reasons=SKIP_REASONS, progress=services.progress(campaign),
                           locale_names=LOCALE_NAMES)
