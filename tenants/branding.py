"""The tenant's colours as a stylesheet and its logo, served from the tenant's own host."""
from __future__ import annotations

import re

from flask import Blueprint, Response, abort, current_app, g
from markupsafe import escape

from tenants.contrast import ink_on, text_shade

bp = Blueprint("branding", __name__)
_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")


def _colour(value: str, fallback: str) -> str:
    return value if value and _COLOUR.match(value) else fallback


@bp.get("/brand.css")
def brand_css():
    tenant = g.get("tenant")
    if tenant is None:
        abort(404)
    brand = _colour(tenant.primary_colour, "#0b5cad")
    accent = _colour(tenant.accent_colour, "#f2a900")
    css = (
        ":root{"
        f"--brand:{brand};--accent:{accent};"
        # Readable whatever the colours: ink on the brand colour, and a shade of it for links and text (WCAG AA).
        f"--on-brand:{ink_on(brand)};--brand-text:{text_shade(brand)};--on-accent:{ink_on(accent)};"
        "}"
    )
    response = Response(css, mimetype="text/css")
    response.headers["Cache-Control"] = "public, max-age=300"
    return response


@bp.get("/brand/logo")
def logo():
    tenant = g.get("tenant")
    if tenant is None:
        abort(404)
    storage = current_app.extensions["file_storage"]
    if tenant.logo_path and storage.exists(tenant_id=tenant.id, key=tenant.logo_path):
        data = storage.read(tenant_id=tenant.id, key=tenant.logo_path)
        mimetype = "image/svg+xml" if tenant.logo_path.endswith(".svg") else "image/png"
    else:
        initials = "".join(w[0] for w in tenant.name.split()[:2]).upper() or "?"
        colour = _colour(tenant.primary_colour, "#0b5cad")
        data = (
            '<svg xmlns="http://www.w3.org/2000/svg" width="48" height="48" viewBox="0 0 48 48" role="img">'
            f'<rect width="48" height="48" rx="10" fill="{colour}"/>'
            '<text x="24" y="31" font-family="sans-serif" font-size="20" font-weight="700" '
            f'text-anchor="middle" fill="#fff">{escape(initials)}</text></svg>'
        ).encode()
        mimetype = "image/svg+xml"
    response = Response(data, mimetype=mimetype)
    response.headers["Cache-Control"] = "public, max-age=300"
    response.headers["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'"
    return response
