"""Administration of the utility by its tenant administrators (`admin.configure`), under /backoffice/admin.

This module holds the blueprint and the administration home; each settings section registers its views on `bp`
in a module of its own (imported in app/__init__.py) and lists itself in backoffice/admin_sections.py. The home
also shows the go-live checklist (tenants/go_live.py; the switch itself is in backoffice/go_live_views.py).
"""
from __future__ import annotations

from flask import Blueprint, g, render_template

from app.auth import staff_permission
from backoffice.admin_sections import sections

bp = Blueprint("admin", __name__)


def render_home(go_live_form=None, status: int = 200):
    from app.i18n import tenant_today
    from backoffice.go_live_views import GoLiveForm, linkable
    from tenants.go_live import checklist

    checks = [] if g.tenant.is_live else checklist(g.tenant, today=tenant_today())
    form = go_live_form or GoLiveForm(formdata=None)
    return render_template("backoffice/admin/home.html", sections=sections(), checks=checks,
                           ready=all(check.done for check in checks), go_live_form=form,
                           check_link=linkable), status


@bp.get("/")
@staff_permission("admin.configure")
def home():
    return render_home()
