"""The tenant's stylesheet carries, beside its colours, an ink readable on the brand colour and a readable text
shade of it (tenants/contrast.py), which app.css uses for buttons, links and the current navigation entry."""
from __future__ import annotations

from tenants.contrast import text_shade


def test_brand_stylesheet_carries_the_readable_colours(app, make_tenant, browser):
    from domain.db import db
    from tenants.context import platform_scope
    from tenants.models import Tenant

    tenant = make_tenant("sunny")
    with app.app_context(), platform_scope("test: brand colour"):
        db.session.get(Tenant, tenant.id).primary_colour = "#f2a900"
        db.session.commit()

    css = browser("sunny").get("/brand.css").get_data(as_text=True)

    assert "--brand:#f2a900" in css and "--on-brand:#1b1f24" in css and f"--brand-text:{text_shade('#f2a900')}" in css
