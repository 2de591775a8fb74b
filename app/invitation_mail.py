"""The e-mail inviting a staff member to a utility's back office, sent by a tenant administrator (back office) or
by the platform (console wizard, `flask tenants create`): in the invitee's language, else the utility's, with its
branding, and a link to the utility's own host."""
from __future__ import annotations

from contextlib import nullcontext

from flask import current_app, g, has_request_context, request, url_for
from flask_babel import lazy_gettext as _l
from flask_babel import refresh

from app.messages import queue_message
from domain.identity.invitations import SentInvitation
from tenants.contrast import ink_on


def tenant_url(tenant, endpoint: str, **values) -> str:
    """An absolute URL on `tenant`'s host: the current host when serving that tenant, else `<slug>.<platform
    domain>` (a custom domain may not point here yet), with this request's scheme and port when there is one."""
    current = g.get("tenant") if has_request_context() else None
    if current is not None and current.id == tenant.id:
        return url_for(endpoint, _external=True, **values)
    host = f"{tenant.slug}.{current_app.config['PLATFORM_DOMAIN']}"
    scheme = current_app.config.get("PREFERRED_URL_SCHEME", "https")
    if has_request_context():
        scheme = request.scheme
        port = request.host.rpartition(":")[2] if ":" in request.host else ""
        if port.isdigit():
            host = f"{host}:{port}"
    elif current_app.config["PLATFORM_DOMAIN"] == "localhost":
        scheme = "http"
    return current_app.url_map.bind(host, url_scheme=scheme).build(endpoint, values, force_external=True)


def send_invitation(*, tenant, sent: SentInvitation, inviter: str | None) -> None:
    """Queue the invitation on the mail pipeline: sent once the transaction that made it commits (a command calls
    `domain.communications.pipeline.dispatch_committed()` after its commit)."""
    from tenants.context import current_tenant_id, tenant_scope

    link = tenant_url(tenant, "backoffice.accept_invitation", token=sent.token)
    if has_request_context():
        refresh()  # dates in the mail in the tenant's time zone, not the one this page has already looked up
    try:
        # The console and the commands run as the platform: the message is the utility's, recorded as it.
        with tenant_scope(tenant.id) if current_tenant_id() != tenant.id else nullcontext():
            queue_message(kind="staff_invitation", tenant=tenant, to=sent.user.email,
                          subject=_l("Your invitation to %(name)s", name=tenant.name), locale=sent.user.locale,
                          user=sent.user, link=link, inviter=inviter, until=sent.expires_at,
                          ink=ink_on(tenant.primary_colour))
    finally:
        if has_request_context():
            refresh()
