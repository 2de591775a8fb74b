"""Administration: the utility's identity and legal details, its logo and colours, and its portal pages per locale
(`admin.configure`). Each group of fields is its own form; the rules are in domain/brand."""
from __future__ import annotations

import logging

from babel.numbers import format_decimal
from flask import abort, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from app.auth import staff_permission
from app.i18n import LOCALES, format_locale
from backoffice.admin_views import bp
from backoffice.identity_forms import FORMS, ColoursForm, LegalForm, LogoForm, OmbudsmanForm, PageForm, ServiceForm
from domain.brand import identity, pages
from domain.brand.defaults import default_page
from domain.brand.defaults import title as page_title
from domain.brand.markdown import render_markdown
from domain.brand.logo import MAX_BYTES, LogoRefused
from domain.brand.models import PAGES
from domain.db import db, utcnow
from tenants.models import ACTIVITIES

log = logging.getLogger("backoffice.identity")

PROBLEMS = {
    "required": _l("Enter the utility's legal name, as registered."),
    "vat_country": _l("Start the VAT number with its country code, for example FR, DE or ES."),
    "vat_format": _l("This is not a VAT number of that country: check the number of digits and letters."),
    "vat_key": _l("The check key of this French VAT number does not match its company number (SIREN)."),
    "website": _l("Enter the website's full address, starting with https://."),
    "phone": _l("Enter a phone number: digits, spaces, dots or dashes, with an optional leading +."),
    "email": _l("Enter an e-mail address like service@example.com."),
    "colour": _l("Choose a colour, written like #0b5cad."),
    "activity": _l("The utility does not supply this activity."),
}
LOGO_PROBLEMS = {
    "size": _l("The file is larger than %(size)d KB: make it smaller.", size=MAX_BYTES // 1024),
    "type": _l("Upload a PNG or SVG file."),
    "dimensions": _l("The logo must be between 16 and 2,000 pixels wide and high."),
    "unreadable": _l("This file cannot be read as a PNG or SVG image."),
}
SAVED = {
    "legal": _l("The legal identity is saved."),
    "service": _l("The customer-service details are saved."),
    "ombudsman": _l("The complaint and ombudsman details are saved."),
    "colours": _l("The colours are saved."),
}


def _author() -> str:
    return current_user.user.email


def _number(value: float) -> str:
    return format_decimal(value, format="#,##0.##", locale=format_locale())


def _forms(tenant, bound: dict | None = None) -> dict:
    """The page's forms, filled from the tenant, except the one just posted (kept as sent, with its errors)."""
    bound = bound or {}
    forms = {}
    for name, cls in (("legal", LegalForm), ("service", ServiceForm), ("ombudsman", OmbudsmanForm),
                      ("colours", ColoursForm), ("logo", LogoForm)):
        if name in bound:
            forms[name] = bound[name]
            continue
        form = cls(formdata=None, obj=tenant)
        if name == "service":
            for activity in ACTIVITIES:
                getattr(form, f"emergency_{activity}").data = (tenant.emergency_phones or {}).get(activity)
        forms[name] = form
    return forms


def _page(bound: dict | None = None, status: int = 200):
    tenant = identity.current_tenant()
    return render_template("backoffice/admin/identity.html", forms=_forms(tenant, bound),
                           activities=[a for a in ACTIVITIES if a in (tenant.activities or ())],
                           logo_path=tenant.logo_path), status


@bp.get("/identity")
@staff_permission("admin.configure")
def identity_page():
    return _page()


@bp.post("/identity/<group>")
@staff_permission("admin.configure")
def identity_save(group: str):
    if group not in FORMS:
        abort(404)
    form = FORMS[group]()
    if not form.validate_on_submit():
        return _page({group: form}, 422)
    values = {name: field.data for name, field in form._fields.items()
              if name != "csrf_token" and not name.startswith("emergency_")}
    if group == "service":
        activities = identity.current_tenant().activities or ()
        values["emergency_phones"] = {a: getattr(form, f"emergency_{a}").data for a in ACTIVITIES if a in activities}
    try:
        changes = identity.save_group(group=group, values=values, author=_author(), now=utcnow())
    except identity.IdentityRefused as exc:
        db.session.rollback()
        for field, code in exc.problems.items():
            target = getattr(form, field, None)
            if target is None:
                continue
            if code == "contrast":
                short = exc.shortfall
                target.errors.append(_(
                    "White text on the primary colour %(colour)s reaches a contrast of only %(ratio)s:1; WCAG AA "
                    "needs %(needed)s:1, so it falls %(short)s short. A darker shade of it, %(suggestion)s, "
                    "reaches it.", colour=short.colour, ratio=_number(short.ratio), needed=_number(short.needed),
                    short=_number(short.short_by), suggestion=short.suggestion))
            else:
                target.errors.append(str(PROBLEMS[code]))
        return _page({group: form}, 422)
    db.session.commit()
    flash(str(SAVED[group]) if changes else _("Nothing has changed."), "success")
    return redirect(url_for("admin.identity_page", _anchor=f"section-{group}"))


@bp.post("/identity/logo")
@staff_permission("admin.configure")
def identity_logo():
    form = LogoForm()
    if not form.validate_on_submit():
        return _page({"logo": form}, 422)
    upload = form.logo.data
    data = upload.read(MAX_BYTES + 1)
    try:
        identity.save_logo(filename=upload.filename or "", data=data, author=_author(), now=utcnow(),
                           files=current_app.extensions["file_storage"])  # where tenants/branding.py reads it
    except LogoRefused as exc:
        db.session.rollback()
        form.logo.errors.append(str(LOGO_PROBLEMS[exc.code]))
        return _page({"logo": form}, 422)
    db.session.commit()
    flash(_("The new logo is saved: the portal, e-mails and bills issued from now on show it."), "success")
    return redirect(url_for("admin.identity_page", _anchor="section-logo"))


@bp.post("/identity/logo/remove")
@staff_permission("admin.configure")
def identity_logo_remove():
    changes = identity.remove_logo(author=_author(), now=utcnow())
    db.session.commit()
    if changes:
        flash(_("The logo is removed: the utility's initials stand in for it."), "success")
    return redirect(url_for("admin.identity_page", _anchor="section-logo"))


# --- portal pages ------------------------------------------------------------------------------


def _platform() -> str:
    return current_app.config.get("PLATFORM_NAME") or current_app.config["PLATFORM_DOMAIN"]


@bp.get("/pages")
@staff_permission("admin.configure")
def portal_pages():
    written = pages.written_pages()
    here = str(get_locale())
    rows = [(page, page_title(page, here), [(locale, written.get((page, locale))) for locale in LOCALES])
            for page in PAGES]
    return render_template("backoffice/admin/pages.html", rows=rows, default_locale=g.tenant.default_locale)


def _checked(page: str, locale: str) -> None:
    if page not in PAGES or locale not in LOCALES:
        abort(404)


@bp.route("/pages/<page>/<locale>", methods=["GET", "POST"])
@staff_permission("admin.configure")
def portal_page_edit(page: str, locale: str):
    _checked(page, locale)
    tenant = identity.current_tenant()
    row = pages.written(page=page, locale=locale)
    form = PageForm()
    preview = None
    status = 200
    if request.method == "GET":
        form.body.data = row.body if row is not None else default_page(page, tenant, locale, platform=_platform())
    elif form.validate_on_submit():
        if request.form.get("action") == "preview":
            preview = render_markdown(form.body.data)
        else:
            try:
                pages.save_page(page=page, locale=locale, body=form.body.data, author=_author(), now=utcnow())
            except pages.PageRefused as exc:
                db.session.rollback()
                form.body.errors.append(_("Use at most %(max)d characters.", max=pages.MAX_LENGTH)
                                        if exc.code == "length" else
                                        _("Write the page's text, or go back to the generated text."))
                status = 422
            else:
                db.session.commit()
                flash(_("The page is saved and shown on the portal."), "success")
                return redirect(url_for("admin.portal_page_edit", page=page, locale=locale))
    else:
        status = 422
    return render_template("backoffice/admin/page_edit.html", form=form, page=page, locale=locale, row=row,
                           title=page_title(page, locale), preview=preview), status


@bp.post("/pages/<page>/<locale>/reset")
@staff_permission("admin.configure")
def portal_page_reset(page: str, locale: str):
    _checked(page, locale)
    if pages.reset_page(page=page, locale=locale):
        db.session.commit()
        flash(_("The page's own text is removed: the portal shows the generated text again."), "success")
    return redirect(url_for("admin.portal_page_edit", page=page, locale=locale))
