"""A suspended utility's page looks like the utility's own and reads in its language: the stylesheets, brand colours
and logo it links to are served, while every other page of the host still answers 503."""
from __future__ import annotations

import re

from sqlalchemy import select

from domain.db import db
from tenants.context import platform_scope
from tenants.models import Tenant


def _suspend(app, slug, **values):
    with app.app_context(), platform_scope("test suspension"):
        tenant = db.session.scalar(select(Tenant).where(Tenant.slug == slug))
        tenant.status = "suspended"
        for key, value in values.items():
            setattr(tenant, key, value)
        db.session.commit()


def test_the_suspended_page_gets_its_stylesheets_and_logo(app, two_tenants, browser):
    a, _b = two_tenants
    _suspend(app, a.slug, primary_colour="#aa0000")
    visitor = browser(a.slug)

    page = visitor.get("/login")
    html = page.get_data(as_text=True)
    assets = re.findall(r'(?:href|src)="(/[^"]+\.css|/brand[^"]*)"', html)

    assert page.status_code == 503
    assert "/static/css/app.css" in assets and "/brand.css" in assets and "/brand/logo" in assets
    for path in assets:
        assert visitor.get(path).status_code == 200, path
    assert "#aa0000" in visitor.get("/brand.css").get_data(as_text=True)


def test_the_suspended_page_is_in_the_utilitys_language_or_the_browsers(app, two_tenants, browser):
    a, _b = two_tenants
    _suspend(app, a.slug, default_locale="fr")

    french = browser(a.slug).get("/").get_data(as_text=True)
    german = browser(a.slug).get("/", headers={"Accept-Language": "de"}).get_data(as_text=True)

    assert '<html lang="fr">' in french and "Service suspendu" in french
    assert '<html lang="de">' in german


def test_every_other_page_of_a_suspended_utility_still_answers_503(app, two_tenants, browser):
    a, _b = two_tenants
    _suspend(app, a.slug)
    visitor = browser(a.slug)

    for path in ("/", "/login", "/bills", f"/bills/{a.bill_number}", "/backoffice/", "/backoffice/login",
                 "/payments/webhook", "/activate"):
        response = visitor.get(path)
        assert response.status_code == 503, path
    assert visitor.post("/payments/webhook", data="{}").status_code == 503
