"""Queueing e-mails on the mail pipeline: rendered here (templates, the tenant's branding, the recipient's language),
recorded in the caller's transaction (domain/communications/pipeline.py), sent by the `mail` queue's job after the
transaction commits. Nothing is sent inside a web request.

    queue_message(kind="password_reset", to=user.email, locale=user.locale, subject=_l("Reset your password"),
                  link=link, after_response=True)

`kind` is one of domain/communications/kinds.py (its template and documented variables). `subject` may be omitted
when the kind's template has a `mail/<template>.subject.txt`. `after_response=True`: the sending job is asked for
only once the response has been written (the answer's timing must not tell whether a mail went out).
"""
from __future__ import annotations

import logging
from collections.abc import Sequence

from flask import after_this_request, current_app, g, has_request_context, render_template
from flask_babel import force_locale

from app.mail import compose
from domain.communications import pipeline
from domain.communications.kinds import kind_of
from domain.communications.models import Message
from domain.db import utcnow

log = logging.getLogger("mail")


def render(*, tenant, kind: str, to: str, locale: str | None, subject=None, template: str | None = None,
           **context) -> pipeline.Rendered:
    """Subject, text and HTML of a message of `kind`, as compose renders them (branding, footer, language)."""
    template = template or kind_of(kind).template
    if subject is None:
        from app.i18n import tenant_formats

        with force_locale(locale or tenant.default_locale), tenant_formats(tenant):
            subject = " ".join(render_template(f"mail/{template}.subject.txt", tenant=tenant, **context).split())
    mail = compose(tenant=tenant, to=to, subject=subject, template=template, locale=locale, **context)
    return pipeline.Rendered(subject=mail.subject, text=mail.text, html=mail.html, sender_name=mail.sender_name,
                             sender_address=mail.sender_address)


def queue_message(*, kind: str, to: str, locale: str | None, subject=None, tenant=None, account=None,
                  account_id: int | None = None, party=None, customer_user=None, template: str | None = None,
                  reference: str | None = None,
                  attachments: Sequence[dict] = (), headers: Sequence[tuple[str, str]] = (),
                  after_response: bool = False, **context) -> Message:
    """Render and record one message in the current transaction; it is sent once the transaction commits.

    `account` (or `account_id`) / `party` / `customer_user` (ORM objects or None) link the message to the customer
    file and to the notification preferences (`account` is also given to the template); `reference` makes it
    once-only per kind (e.g. "bill:<number>"); `attachments` are references read at send time (`{"bill_id": id}`).
    """
    tenant = tenant if tenant is not None else g.tenant
    if party is not None:
        party_id = party.id
    elif account is not None:
        party_id = account.holder_party_id
    else:
        party_id = customer_user.party_id if customer_user is not None else None
    if account is not None:
        context["account"], account_id = account, account.id
    rendered = render(tenant=tenant, kind=kind, to=to, locale=locale, subject=subject, template=template,
                      **context)
    message = pipeline.record_message(
        kind=kind, to=to, rendered=rendered, now=utcnow(), locale=locale or tenant.default_locale,
        account_id=account_id, party_id=party_id,
        customer_user_id=customer_user.id if customer_user is not None else None, headers=headers,
        attachments=attachments, reference=reference)
    if after_response and has_request_context():
        _send_after_response()
    return message


def _send_after_response() -> None:
    """Hold this request's sending until the response is written (WSGI `close`); see flush_committed_mail."""
    if g.get("mail_on_close") is not None:
        return
    held: set[int] = set()
    g.mail_on_close = held
    app = current_app._get_current_object()

    def on_close():
        if not held:
            return
        with app.app_context():
            try:
                pipeline.dispatch_sending(held)
            except Exception:  # a committed request stays answered; the sweep sends what is left queued
                log.exception("could not ask for the sending of mail tenants=%s", sorted(held))

    @after_this_request
    def _hold(response):
        response.call_on_close(on_close)
        return response


def flush_committed_mail() -> None:
    """End of a request: ask for the sending of what its committed transaction queued (after the response when a
    message asked so)."""
    tenants = pipeline.committed_tenants()
    if not tenants:
        return
    held = g.get("mail_on_close")
    if held is not None:
        held.update(tenants)
        return
    try:
        pipeline.dispatch_sending(tenants)
    except Exception:
        log.exception("could not ask for the sending of mail tenants=%s", sorted(tenants))


def render_for_domain(*, tenant_id: int, kind: str, to: str, locale: str | None, context: dict,
                      links: dict[str, tuple[str, dict]]) -> pipeline.Rendered:
    """The renderer of messages queued by domain code (domain/communications/pipeline.notify): links on the
    tenant's own host, even from a worker."""
    from app.invitation_mail import tenant_url
    from domain.db import db
    from tenants.models import Tenant

    tenant = db.session.get(Tenant, tenant_id)
    values = {name: tenant_url(tenant, endpoint, **args) for name, (endpoint, args) in links.items()}
    return render(tenant=tenant, kind=kind, to=to, locale=locale, **context, **values)


def commit_and_send() -> None:
    """Outside a request and a job (a command): commit, then ask for the sending of what was queued."""
    from domain.db import db

    db.session.commit()
    pipeline.dispatch_committed()


def transport_of_tenant(tenant_id: int):
    """The sending job's transport: the tenant's own SMTP server when it has one, else the platform's."""
    from app.mail import tenant_or_platform_transport

    return tenant_or_platform_transport(tenant_id)
