"""Rendering a mail with the tenant's branding, and the transport that sends it (the pipeline: app/messages.py)."""
from __future__ import annotations

import logging

from flask import current_app, render_template
from flask_babel import force_locale

from domain.db import db

from domain.communications.mail_settings import sender_of, tenant_transport
from domain.communications.outbound import OutboxTransport, OutgoingMail, transport_for

log = logging.getLogger("mail")


class MailNotConfigured(RuntimeError):
    """Production without an SMTP MAIL_URL: the outbox folder is the embedded default, never production's."""


def platform_transport():
    app = current_app
    transport = app.extensions.get("mail_transport")
    if transport is None:
        transport = transport_for(app.config.get("MAIL_URL"), app.config["OUTBOX_DIR"])
        app.extensions["mail_transport"] = transport
    if isinstance(transport, OutboxTransport) and app.config.get("ENV_NAME") == "production":
        raise MailNotConfigured("production sends mail through SMTP: set MAIL_URL=smtp://… or smtps://…")
    return transport


def tenant_or_platform_transport(tenant_id: int | None):
    """The tenant's own SMTP server when it has one (administration, mail settings), else the platform's."""
    if tenant_id is not None:
        from tenants.context import current_tenant_id, tenant_scope
        from tenants.models import Tenant

        if current_tenant_id() == tenant_id:
            tenant = db.session.get(Tenant, tenant_id)
        else:  # the tenant's row is read as that tenant (row-level security)
            with tenant_scope(tenant_id):
                tenant = db.session.get(Tenant, tenant_id)
        own = tenant_transport(tenant) if tenant is not None else None
        if own is not None:
            return own
    return platform_transport()


def compose(*, tenant, to: str, subject, template: str, locale: str | None, **context) -> OutgoingMail:
    """Render a mail with the tenant's branding in the recipient's language (pass `subject` lazily)."""
    from app.i18n import tenant_formats

    with force_locale(locale or tenant.default_locale), tenant_formats(tenant):
        subject = str(subject)
        text = render_template(f"mail/{template}.txt", tenant=tenant, **context)
        html = render_template(f"mail/{template}.html", tenant=tenant, **context)
        text, html = _with_footer(tenant, text, html)
    name, address = sender_of(tenant, platform_domain=current_app.config["PLATFORM_DOMAIN"])
    return OutgoingMail(to=to, subject=subject, text=text, html=html, sender_name=name,
                        sender_address=address, tenant_id=tenant.id)


def _with_footer(tenant, text: str, html: str) -> tuple[str, str]:
    """Every mail ends with the utility's legal name and customer-service contact (mail/_footer.*), whatever its
    own template says."""
    footer_text = render_template("mail/_footer.txt", tenant=tenant)
    footer_html = render_template("mail/_footer.html", tenant=tenant)
    text = text.rstrip() + "\n" + footer_text
    index = html.rfind("</body>")
    html = html[:index] + footer_html + html[index:] if index >= 0 else html + footer_html
    return text, html
