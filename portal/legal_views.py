"""The utility's legal and help pages on the portal (privacy, cookies, legal notice, accessibility, contact, help),
open to everyone, in the reader's language: the utility's text, else its default language's, else generated."""
from __future__ import annotations

from flask import abort, current_app, g, render_template
from flask_babel import get_locale

from domain.brand import pages
from domain.brand.models import PAGES
from portal.blueprint import bp


@bp.get("/legal/<page>")
def legal_page(page: str):
    if page not in PAGES or g.get("tenant") is None:
        abort(404)
    platform = current_app.config.get("PLATFORM_NAME") or current_app.config["PLATFORM_DOMAIN"]
    content = pages.page_content(tenant=g.tenant, page=page, locale=str(get_locale()), platform=platform)
    return render_template("portal/legal_page.html", content=content)
