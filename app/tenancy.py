"""Resolve the tenant once per request from the host name, and keep platform and tenant hosts apart."""
from __future__ import annotations

from flask import abort, g, redirect, render_template, request, url_for

from domain.audit.actor import SYSTEM, reset_actor, set_actor
from tenants.context import reset_tenant, set_tenant
from tenants.resolution import HostKind, resolve_host

# Blueprints served on the platform's own host (no tenant) and on every host.
PLATFORM_BLUEPRINTS = {"console"}
ANY_HOST_BLUEPRINTS = {"health", "api"}  # the API's tenant comes from its key (api/auth.py)
# What a suspended tenant's host still serves: what its "service suspended" page needs to look like the utility's
# own (stylesheets, brand colours, logo) and to be read in another language.
SUSPENDED_ENDPOINTS = {"static", "branding.brand_css", "branding.logo", "portal.language"}
# Before its administrator goes live (tenants/go_live.py) a tenant's portal shows a "coming soon" page on every
# page; these still answer (the language choice, the payment provider's notifications), and the back office works.
PORTAL_BLUEPRINT = "portal"
BEFORE_LIVE_PORTAL_ENDPOINTS = {"portal.language", "portal.payment_webhook"}


def init_tenancy(app) -> None:
    @app.before_request
    def _resolve_tenant():
        g.tenant = None
        g.tenant_token = set_tenant(None)
        g.actor_token = set_actor(SYSTEM)
        if request.blueprint in ANY_HOST_BLUEPRINTS or request.path.startswith("/api/"):
            return None
        kind, tenant = resolve_host(request.host, app.config["PLATFORM_DOMAIN"])
        if kind is not HostKind.TENANT and request.endpoint == "static":
            return None  # the same public files on every host: the platform's, the API reference's
        if kind is HostKind.UNKNOWN:
            abort(404)
        if kind is HostKind.PLATFORM:
            if request.blueprint in PLATFORM_BLUEPRINTS:
                return None
            if request.path == "/":
                return redirect(url_for("console.home"))
            abort(404)
        # A tenant host: the platform console is not served here.
        if request.blueprint in PLATFORM_BLUEPRINTS:
            abort(404)
        g.tenant = tenant
        reset_tenant(g.tenant_token)
        g.tenant_token = set_tenant(tenant.id)
        if not tenant.is_active and request.endpoint not in SUSPENDED_ENDPOINTS:
            # In the tenant's language (or the browser's), with its branding: g.tenant is set for the page.
            return render_template("errors/suspended.html", tenant=tenant), 503
        if (not tenant.is_live and request.blueprint == PORTAL_BLUEPRINT
                and request.endpoint not in BEFORE_LIVE_PORTAL_ENDPOINTS):
            return render_template("errors/coming_soon.html", tenant=tenant), 503
        return None

    @app.teardown_request
    def _leave_tenant(exc):
        token = g.pop("tenant_token", None)
        if token is not None:
            try:
                reset_tenant(token)
            except ValueError:
                set_tenant(None)
        actor_token = g.pop("actor_token", None)
        if actor_token is not None:
            try:
                reset_actor(actor_token)
            except ValueError:
                pass
