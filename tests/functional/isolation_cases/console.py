"""Isolation cases of the console's exports and of the go-live switch: the console is never served on a tenant's
host, an export is found only under its own utility, and an administrator opens only their own portal."""
from __future__ import annotations

from sqlalchemy import select

from domain.db import db, utcnow
from tenants.context import platform_scope
from tenants.export import request_export
from tenants.models import Tenant


def _export_of(app, tenant_id: int) -> str:
    with app.app_context():
        return request_export(tenant_id=tenant_id, requested_by="ops@platform.example.com", now=utcnow()).public_id


def case_console_exports_page(app, browser, a, b):
    assert browser(a.slug).get(f"/console/tenants/{b.slug}/exports").status_code == 404


def case_console_start_export(app, browser, a, b):
    assert browser(a.slug).post(f"/console/tenants/{b.slug}/exports").status_code == 404


def case_console_download_export(app, browser, a, b):
    from tests.functional.test_pages import _operator

    public_id = _export_of(app, b.tenant_id)
    assert browser(a.slug).get(f"/console/tenants/{b.slug}/exports/{public_id}.zip").status_code == 404
    _operator(app)
    console = browser("localhost")
    console.login("ops@platform.example.com", area="/console")
    # B's export asked for under A's slug is missing, exactly as an unknown one.
    assert console.get(f"/console/tenants/{a.slug}/exports/{public_id}.zip").status_code == 404
    assert console.get(f"/console/tenants/{a.slug}/exports/{'0' * 8}-0000-0000-0000-{'0' * 12}.zip"
                       ).status_code == 404


def _live_at(app, slug):
    with app.app_context(), platform_scope("isolation: read a tenant"):
        return db.session.scalar(select(Tenant.live_at).where(Tenant.slug == slug))


def case_admin_go_live(app, browser, a, b):
    with app.app_context(), platform_scope("isolation: B not live yet"):
        db.session.scalar(select(Tenant).where(Tenant.slug == b.slug)).live_at = None
        db.session.commit()
    office = browser(a.slug)
    office.login(a.staff_emails["tenant_admin"], area="/backoffice")

    own = office.submit("/backoffice/admin/", {"confirm": "y"}, action="/backoffice/admin/go-live")
    other = browser(b.slug)
    other.client.set_cookie("session", office.cookie(), domain=other.host)  # A's session replayed on B's host
    replayed = other.post("/backoffice/admin/go-live", data={"confirm": "y"})

    assert own.status_code == 302  # A is live already: nothing to do, and B is not touched
    assert replayed.status_code in (302, 400, 403)
    assert _live_at(app, b.slug) is None
