"""Profile: contact details, language, paperless billing, marketing consent, data export, closing the access."""
from __future__ import annotations

import logging

from flask import (Response, abort, flash, g, redirect, render_template, request, session, stream_with_context,
                   url_for)
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, HiddenField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, Optional, Regexp

from app.auth import customer_required, sign_out
from app.auth_forms import EMAIL_SHAPE
from app.i18n import LOCALE_NAMES, LOCALES, tenant_zone
from app.message_wording import ALWAYS_SENT_LABELS, preference_label
from app.messages import queue_message
from domain.communications import pipeline as communications
from domain.communications.kinds import switchable_kinds
from domain.contracts import services as accounts
from domain.db import utcnow
from domain.i18n import country_name
from domain.identity import profile
from domain.identity.activation import InvalidVerification
from domain.identity.data_export import collect_customer_data, zip_chunks
from domain.parties.services import COUNTRIES, PHONE_SHAPE
from portal.blueprint import bp

log = logging.getLogger("portal.profile")

DEFAULT_COUNTRY = "FR"


def _country_choices():
    locale = str(get_locale())
    return sorted((SelectChoice(c, country_name(c, locale)) for c in COUNTRIES), key=lambda choice: choice.label)


class ContactForm(FlaskForm):
    phone = StringField(_l("Phone number"), validators=[
        Optional(),
        Regexp(PHONE_SHAPE, message=_l("Enter a phone number with digits only, for example +33 4 72 00 00 00.")),
    ])
    address_line1 = StringField(_l("Address"), validators=[
        DataRequired(_l("Enter the street and number.")), Length(max=200, message=_l("Use at most 200 characters.")),
    ])
    address_line2 = StringField(_l("Address line 2 (optional)"), validators=[
        Optional(), Length(max=200, message=_l("Use at most 200 characters.")),
    ])
    postcode = StringField(_l("Postcode"), validators=[
        DataRequired(_l("Enter the postcode.")), Length(max=16, message=_l("Use at most 16 characters.")),
    ])
    city = StringField(_l("Town or city"), validators=[
        DataRequired(_l("Enter the town or city.")), Length(max=100, message=_l("Use at most 100 characters.")),
    ])
    country = SelectField(_l("Country"), validators=[InputRequired(_l("Choose the country."))])


class EmailForm(FlaskForm):
    email = EmailField(_l("New e-mail address"), validators=[
        DataRequired(_l("Enter your e-mail address.")),
        Regexp(EMAIL_SHAPE, message=_l("Enter a valid e-mail address.")),
        Length(max=254, message=_l("Enter a valid e-mail address.")),
    ])


class LanguageForm(FlaskForm):
    locale = SelectField(_l("Language of the portal and of our e-mails"),
                         choices=[SelectChoice(code, LOCALE_NAMES[code]) for code in LOCALES])


class PaperlessForm(FlaskForm):
    """One per account on the page; the template names the checkbox after the account."""

    account_number = HiddenField(validators=[DataRequired()])
    paperless = BooleanField()


class MarketingForm(FlaskForm):
    marketing_consent = BooleanField(_l("Send me news and offers by e-mail"))


class CloseForm(FlaskForm):
    confirm = BooleanField(_l("I understand that I will be signed out and will no longer be able to sign in "
                              "once the access is closed."),
                           validators=[DataRequired(_l("Tick the box to confirm."))])


def _user():
    return current_user.user


def _locale() -> str:
    return str(get_locale())


def _profile_page(*, language_form=None, marketing_form=None, status: int = 200):
    user = _user()
    party = profile.party_of(user)
    return render_template(
        "portal/profile/profile.html", user=user, party=party, phone=party.primary("phone"),
        postal=party.primary("postal"), accounts=accounts.accounts_of_customer(customer_user_id=user.id),
        language_form=language_form or LanguageForm(locale=user.locale or _locale()),
        marketing_form=marketing_form or MarketingForm(marketing_consent=user.marketing_consent),
        paperless_form=PaperlessForm(), pending_email=profile.pending_email_change(user=user, now=utcnow()),
        notifications_form=FlaskForm(), switchable=switchable_kinds(),
        switched_off=communications.switched_off_kinds(customer_user_id=user.id),
        preference_label=preference_label, always_sent=ALWAYS_SENT_LABELS.values(),
    ), status


@bp.get("/profile", endpoint="profile")
@customer_required
def profile_page():
    return _profile_page()


@bp.route("/profile/contact", methods=["GET", "POST"])
@customer_required
def profile_contact():
    user = _user()
    party = profile.party_of(user)
    phone, postal = party.primary("phone"), party.primary("postal")
    form = ContactForm(
        phone=phone.value if phone else None,
        address_line1=postal.address_line1 if postal else None, address_line2=postal.address_line2 if postal else None,
        postcode=postal.postcode if postal else None, city=postal.city if postal else None,
        country=postal.country if postal and postal.country else DEFAULT_COUNTRY,
    )
    form.country.choices = _country_choices()
    if form.validate_on_submit():
        profile.update_contact_details(user=user, phone=(form.phone.data or "").strip() or None,
                                       address=profile.PostalAddress(
                                           address_line1=form.address_line1.data.strip(),
                                           address_line2=(form.address_line2.data or "").strip() or None,
                                           postcode=form.postcode.data.strip().upper(),
                                           city=form.city.data.strip(), country=form.country.data),
                                       now=utcnow())
        log.info("contact details changed tenant=%s user=%s", g.tenant.id, user.id)
        flash(_("Your contact details have been saved."), "success")
        return redirect(url_for("portal.profile"))
    return render_template("portal/profile/contact.html", form=form)


@bp.route("/profile/email", methods=["GET", "POST"])
@customer_required
def profile_email():
    user = _user()
    form = EmailForm()
    if form.validate_on_submit():
        try:
            token, address = profile.start_email_change(user=user, new_email=form.email.data, now=utcnow())
        except profile.SameEmail:
            form.email.errors.append(_("This is already the address you sign in with."))
        else:
            queue_message(kind="verify_email", to=address, subject=_l("Confirm your new e-mail address"),
                          locale=user.locale or _locale(), customer_user=user,
                          link=url_for("portal.confirm_email", token=token, _external=True))
            log.info("e-mail change started tenant=%s user=%s", g.tenant.id, user.id)
            flash(_("We have sent a link to %(email)s. Your sign-in address changes when you open it (within 24 "
                    "hours).", email=address), "info")
            return redirect(url_for("portal.profile"))
    return render_template("portal/profile/email.html", form=form)


@bp.route("/profile/email/<token>", methods=["GET", "POST"])
@customer_required
def confirm_email(token: str):
    form = FlaskForm()
    if form.validate_on_submit():
        try:
            changed = profile.confirm_email_change(token=token, user=_user(), now=utcnow())
        except InvalidVerification:
            return render_template("portal/access/link_invalid.html"), 404
        except profile.EmailTaken:
            flash(_("This address is already used by another online access. Choose another one."), "error")
            return redirect(url_for("portal.profile_email"))
        # The old address hears of it: if someone else changed it, its owner can still reach the utility.
        queue_message(kind="email_changed", to=changed.old_email,
                      subject=_l("The e-mail address of your online access has changed"),
                      locale=_user().locale or _locale(), customer_user=_user(), changed=changed,
                      new_email_masked=profile.mask_email(changed.new_email))
        for address, number, locale in changed.holders:  # the holder, when this login is not theirs
            queue_message(kind="access_address_changed", to=address,
                          subject=_l("The sign-in address of an online access to your account has changed"),
                          locale=locale, account_number=number, email_masked=profile.mask_email(changed.new_email),
                          changed_at=changed.changed_at)
        log.info("e-mail changed tenant=%s user=%s", g.tenant.id, _user().id)
        flash(_("You now sign in with %(email)s.", email=changed.new_email), "success")
        return redirect(url_for("portal.profile"))
    pending = profile.email_change_of_link(token=token, user=_user(), now=utcnow())
    if pending is None:
        return render_template("portal/access/link_invalid.html"), 404
    return render_template("portal/profile/confirm_email.html", form=form, email=pending.email)


@bp.post("/profile/language")
@customer_required
def profile_language():
    form = LanguageForm()
    if not form.validate_on_submit():
        return _profile_page(language_form=form, status=400)
    profile.set_locale(user=_user(), locale=form.locale.data, now=utcnow())
    session["locale"] = form.locale.data
    flash(_("Your language has been saved."), "success")
    return redirect(url_for("portal.profile"))


@bp.post("/profile/paperless")
@customer_required
def profile_paperless():
    form = PaperlessForm()
    if not form.validate_on_submit():
        abort(400)
    user = _user()
    account = accounts.account_of_customer(customer_user_id=user.id, account_number=form.account_number.data)
    if account is None:
        abort(404)
    try:
        profile.set_paperless(user=user, account=account, paperless=form.paperless.data)
    except profile.EmailNotVerified:
        flash(_("Confirm your e-mail address first: bills by e-mail need an address we know reaches you."), "error")
        return redirect(url_for("portal.profile", _anchor="paperless"))
    if form.paperless.data:
        flash(_("Account %(number)s: your bills now come by e-mail only. You can still ask for a paper copy at any "
                "time.", number=account.account_number), "success")
    else:
        flash(_("Account %(number)s: your bills come by post again.", number=account.account_number), "success")
    return redirect(url_for("portal.profile", _anchor="paperless"))


@bp.post("/profile/marketing")
@customer_required
def profile_marketing():
    form = MarketingForm()
    if not form.validate_on_submit():
        abort(400)
    if profile.set_marketing_consent(user=_user(), consent=form.marketing_consent.data, now=utcnow()):
        log.info("marketing consent tenant=%s user=%s consent=%s", g.tenant.id, _user().id,
                 form.marketing_consent.data)
    flash(_("Your choice has been saved.") if form.marketing_consent.data
          else _("You will no longer receive news and offers. Service messages about your bills still come."),
          "success")
    return redirect(url_for("portal.profile", _anchor="marketing"))


@bp.post("/profile/notifications")
@customer_required
def profile_notifications():
    """Which optional e-mail notifications the customer gets (those the law or their safety requires always come)."""
    form = FlaskForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        switched_on, switched_off = communications.set_preferences(
            customer_user_id=_user().id, enabled=request.form.getlist("enabled"), now=utcnow())
    except communications.PreferenceRefused:
        abort(400)
    log.info("notification preferences tenant=%s user=%s on=%s off=%s", g.tenant.id, _user().id,
             sorted(switched_on), sorted(switched_off))
    flash(_("Your choice of e-mail notifications has been saved."), "success")
    return redirect(url_for("portal.profile", _anchor="notifications"))


@bp.get("/profile/my-data.zip")
@customer_required
def profile_export():
    user = _user()
    now = utcnow()
    tables = collect_customer_data(user=user)  # read now, inside the request's transaction
    log.info("data export tenant=%s user=%s", g.tenant.id, user.id)
    filename = f"my-data-{g.tenant.slug}-{now:%Y%m%d}.zip"
    return Response(
        stream_with_context(zip_chunks(tables, tenant_name=g.tenant.name, generated_at=now)),
        mimetype="application/zip",
        headers={"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"},
    )


@bp.route("/profile/close", methods=["GET", "POST"])
@customer_required
def profile_close():
    user = _user()
    form = CloseForm()
    if form.validate_on_submit():
        task = profile.request_closure(user=user, now=utcnow())
        # The date promised is the closure task's due date (the utility's service level for closures).
        queue_message(kind="access_closure", to=user.email, subject=_l("Your request to close your online access"),
                      locale=user.locale or _locale(), customer_user=user,
                      due_on=task.due_at.astimezone(tenant_zone()).date())
        log.info("access closure requested tenant=%s user=%s", g.tenant.id, user.id)
        sign_out()
        flash(_("Your request is recorded and you have been signed out everywhere. We have sent you a "
                "confirmation by e-mail."), "info")
        return redirect(url_for("portal.login"))
    if form.is_submitted():
        if form.csrf_token.errors:
            abort(400)
        return render_template("portal/profile/close.html", form=form), 422  # not confirmed: the access stays
    return render_template("portal/profile/close.html", form=form)
