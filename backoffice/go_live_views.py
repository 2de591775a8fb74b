"""The "go live" switch of the administration home: opens the portal once every check passes (tenants/go_live.py)."""
from __future__ import annotations

from flask import current_app, flash, g, redirect, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from app.auth import staff_permission
from app.confirmation import confirm_form, confirmed
from app.i18n import tenant_today
from backoffice.admin_views import bp, render_home
from domain.db import utcnow
from tenants import go_live as going_live

# Opening the portal lets every customer in: the administrator ticks a box (checked again here, without JavaScript).
GoLiveForm = confirm_form(_l("Tick the box to confirm that the portal opens to customers now."))


def linkable(endpoint: str | None) -> str | None:
    """The URL of a check's page, if that page exists in this app (a part not built yet has none)."""
    if endpoint and endpoint in current_app.view_functions:
        return url_for(endpoint)
    return None


@bp.post("/go-live")
@staff_permission("admin.configure")
def go_live():
    form = GoLiveForm()
    if not confirmed(form):
        return render_home(form, 422)
    try:
        going_live.go_live(tenant=g.tenant, today=tenant_today(), now=utcnow())
    except going_live.AlreadyLive:
        flash(_("The portal is open already."), "success")
        return redirect(url_for("admin.home"))
    except going_live.NotReady:
        flash(_("The portal cannot open yet: some checks below are not done."), "error")
        return render_home(form, 409)
    flash(_("%(name)s is live: customers can use the portal now.", name=g.tenant.name), "success")
    return redirect(url_for("admin.home"))
