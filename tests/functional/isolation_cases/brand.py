"""Isolation cases of the identity and portal pages: tenant B's identity, logo and pages are neither shown nor
changed from A's host, and A's administrator changes A's only."""
from __future__ import annotations

import io

from sqlalchemy import select

from domain.brand.models import PortalPage
from domain.db import db, utcnow
from tenants.context import platform_scope, tenant_scope
from tenants.models import Tenant

B_SECRET = "Bravo Hidden Holdings"


def _office(browser, a):
    office = browser(a.slug)
    office.login(a.staff_emails["tenant_admin"], area="/backoffice")
    return office


def _tenant(app, data) -> Tenant:
    with app.app_context(), platform_scope("isolation: read a tenant"):
        tenant = db.session.get(Tenant, data.tenant_id)
        db.session.expunge(tenant)
        return tenant


def _b_identity(app, b):
    with app.app_context(), platform_scope("isolation: B's identity"):
        tenant = db.session.get(Tenant, b.tenant_id)
        tenant.legal_name, tenant.vat_number, tenant.support_phone = B_SECRET, "DE999999999", "09 99 99 99 99"
        db.session.commit()


def _b_page(app, b, page="privacy", locale="en"):
    with app.app_context(), tenant_scope(b.tenant_id):
        db.session.add(PortalPage(page=page, locale=locale, body=f"{B_SECRET} privacy", updated_at=utcnow(),
                                  updated_by="admin@bravo.test"))
        db.session.commit()


def _pages_of(app, data):
    with app.app_context(), tenant_scope(data.tenant_id):
        return sorted((p.page, p.locale, p.body) for p in db.session.scalars(select(PortalPage)))


def case_admin_identity_page(app, browser, a, b):
    _b_identity(app, b)
    page = _office(browser, a).get("/backoffice/admin/identity")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert B_SECRET not in text and "DE999999999" not in text


def case_admin_identity_save(app, browser, a, b):
    _b_identity(app, b)
    office = _office(browser, a)
    office.submit("/backoffice/admin/identity", {"legal_name": "Alpha Legal SA"},
                  action="/backoffice/admin/identity/legal")
    assert _tenant(app, a).legal_name == "Alpha Legal SA"
    assert _tenant(app, b).legal_name == B_SECRET and _tenant(app, b).vat_number == "DE999999999"


def case_admin_identity_logo(app, browser, a, b):
    svg = b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 4 4"><circle r="2" cx="2" cy="2"/></svg>'
    office = _office(browser, a)
    office.submit("/backoffice/admin/identity", {"logo": (io.BytesIO(svg), "logo.svg")},
                  action="/backoffice/admin/identity/logo", content_type="multipart/form-data")
    assert _tenant(app, a).logo_path.startswith(f"tenants/{a.tenant_id}/")
    assert _tenant(app, b).logo_path is None
    assert b"<circle" not in browser(b.slug).get("/brand/logo").data  # B still shows its initials
    assert b"<circle" in browser(a.slug).get("/brand/logo").data


def case_admin_identity_logo_remove(app, browser, a, b):
    with app.app_context(), platform_scope("isolation: B's logo"):
        db.session.get(Tenant, b.tenant_id).logo_path = f"tenants/{b.tenant_id}/branding/logo.png"
        db.session.commit()
    office = _office(browser, a)
    office.submit("/backoffice/admin/identity", {}, action="/backoffice/admin/identity/logo/remove")
    assert _tenant(app, b).logo_path == f"tenants/{b.tenant_id}/branding/logo.png"


def case_admin_portal_pages(app, browser, a, b):
    _b_page(app, b)
    text = _office(browser, a).get("/backoffice/admin/pages").get_data(as_text=True)
    assert "Written" not in text.split("<tbody>")[1]  # every page of A is still generated


def case_admin_portal_page_edit(app, browser, a, b):
    _b_page(app, b)
    office = _office(browser, a)
    form = office.get("/backoffice/admin/pages/privacy/en").get_data(as_text=True)
    assert B_SECRET not in form
    office.submit("/backoffice/admin/pages/privacy/en", {"body": "Alpha privacy", "action": "save"})
    assert _pages_of(app, a) == [("privacy", "en", "Alpha privacy")]
    assert _pages_of(app, b) == [("privacy", "en", f"{B_SECRET} privacy")]


def case_admin_portal_page_reset(app, browser, a, b):
    _b_page(app, b)
    office = _office(browser, a)
    response = office.submit("/backoffice/admin/pages/privacy/en", {},
                             action="/backoffice/admin/pages/privacy/en/reset")
    assert response.status_code == 302
    assert _pages_of(app, b) == [("privacy", "en", f"{B_SECRET} privacy")]


def case_portal_legal_page(app, browser, a, b):
    _b_identity(app, b)
    _b_page(app, b)
    visitor = browser(a.slug)
    for page in ("privacy", "legal-notice", "contact"):
        text = visitor.get(f"/legal/{page}").get_data(as_text=True)
        assert B_SECRET not in text and "09 99 99 99 99" not in text and "DE999999999" not in text
    assert B_SECRET in browser(b.slug).get("/legal/privacy").get_data(as_text=True)
