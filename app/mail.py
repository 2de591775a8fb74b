"""Mail written during a request is sent only after the request's transaction commits."""
from __future__ import annotations

import logging

from flask import after_this_request, current_app, g, has_request_context, render_template
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


def _transport(mail: OutgoingMail):
    """The tenant's own SMTP server when it has one (administration, mail settings), else the platform's."""
    if mail.tenant_id is not None:
        from tenants.context import current_tenant_id, tenant_scope
        from tenants.models import Tenant

        if current_tenant_id() == mail.tenant_id:
            tenant = db.session.get(Tenant, mail.tenant_id)
        else:  # after the response, or a job: the tenant's row is read as that tenant (row-level security)
            with tenant_scope(mail.tenant_id):
                tenant = db.session.get(Tenant, mail.tenant_id)
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


def send_after_commit(mail: OutgoingMail) -> None:
    if has_request_context():
        g.setdefault("pending_mail", []).append(mail)
    else:
        _transport(mail).send(mail)


def flush_pending_mail() -> None:
    for mail in g.pop("pending_mail", []):
        try:
            _transport(mail).send(mail)
            log.info("mail sent tenant=%s subject=%r", mail.tenant_id, mail.subject)
        except Exception:  # a failed mail must not turn a committed request into an error page
            log.exception("mail failed tenant=%s", mail.tenant_id)


def send_after_response(mail: OutgoingMail) -> None:
    """Send once the response has gone out, not before: for mails whose sending must not show in the response time.

    Activation, link-account and password-reset answers are the same whether or not the facts match; an SMTP
    exchange before the response would tell them apart by its duration. The mail leaves after the server has
    written the last byte (WSGI `close`), only if the request committed (status below 400).
    """
    if not has_request_context():
        _transport(mail).send(mail)
        return
    pending = g.get("mail_after_response")
    if pending is None:
        pending = g.mail_after_response = []
        after_this_request(_send_on_close)
    pending.append(mail)


def _send_on_close(response):
    mails = g.pop("mail_after_response", [])
    if response.status_code >= 400 or not mails:
        return response
    app = current_app._get_current_object()

    def deliver():
        with app.app_context():
            for mail in mails:
                try:
                    _transport(mail).send(mail)
                    log.info("mail sent after response tenant=%s subject=%r", mail.tenant_id, mail.subject)
                except Exception:
                    log.exception("mail failed tenant=%s", mail.tenant_id)

    response.call_on_close(deliver)
    return response
