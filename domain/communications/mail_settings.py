"""The utility's mail settings: the sender of its e-mails, its own SMTP server or the platform's, and a test mail.

The SMTP password is sealed at rest (tenants/secrets.py), never shown again and never in the audit trail. Any
change of sender or server clears `mail_tested_at`: the go-live checklist asks for mail settings that passed a
test (`tenants.operation_settings.tenant_mail_tested`), so a test must pass again with the settings as they are.
"""
from __future__ import annotations

import logging
import re
import smtplib
import ssl
from datetime import datetime

from email_validator import EmailNotValidError, validate_email

from domain.audit.recorder import record_event
from domain.communications.outbound import OutboxTransport, OutgoingMail, SMTPTransport
from domain.db import db
from tenants.operation_settings import SMTP_SECURITY, has_own_smtp

log = logging.getLogger("communications.mail_settings")

_HOST = re.compile(r"^(?=.{1,253}$)(?!-)[A-Za-z0-9-]{1,63}(?<!-)(\.(?!-)[A-Za-z0-9-]{1,63}(?<!-))*$")
_SENDER_NAME = re.compile(r"^[^\r\n<>\"]{1,120}$")
TEST_TIMEOUT_SECONDS = 15


class MailSettingsRefused(ValueError):
    """`field` and `code` say what is wrong; nothing was changed."""

    def __init__(self, field: str, code: str, message: str):
        super().__init__(message)
        self.field, self.code = field, code


class MailTestFailed(RuntimeError):
    """The test mail did not go through; `code`: auth, tls, unreachable, rejected, not_configured, error."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


def check_sender(*, name: str | None, address: str | None) -> tuple[str | None, str | None]:
    """(name, address) cleaned; both optional (the utility's name and the platform's no-reply address then)."""
    name = (name or "").strip() or None
    address = (address or "").strip() or None
    if name is not None and not _SENDER_NAME.match(name):
        raise MailSettingsRefused("sender_name", "format", "a sender name is one line of at most 120 characters")
    if address is not None:
        try:
            address = validate_email(address, check_deliverability=False).normalized
        except EmailNotValidError as exc:
            raise MailSettingsRefused("sender_address", "format", "not an e-mail address") from exc
    return name, address


def check_smtp(*, host: str | None, port: int | None, security: str | None, username: str | None,
               has_password: bool) -> tuple[str, int | None, str, str | None]:
    host = (host or "").strip().lower()
    if not host or not _HOST.match(host):
        raise MailSettingsRefused("smtp_host", "format", "a host name such as smtp.example.com")
    if security not in SMTP_SECURITY:
        raise MailSettingsRefused("smtp_security", "choice", f"one of {SMTP_SECURITY}")
    if port is not None and not 1 <= port <= 65535:
        raise MailSettingsRefused("smtp_port", "range", "a port from 1 to 65535")
    username = (username or "").strip() or None
    if username is not None and not has_password:
        raise MailSettingsRefused("smtp_password", "needed", "a user name needs its password")
    return host, port, security, username


def update_mail_settings(*, tenant, sender_name: str | None, sender_address: str | None, own_server: bool,
                         host: str | None = None, port: int | None = None, security: str | None = None,
                         username: str | None = None, password: str | None = None, now: datetime) -> dict:
    """Check everything, then store; `password` None or empty keeps the stored one. Returns what changed."""
    name, address = check_sender(name=sender_name, address=sender_address)
    values: dict = {"mail_sender_name": name, "mail_sender_address": address}
    new_password = password or None
    if own_server:
        host, port, security, username = check_smtp(
            host=host, port=port, security=security, username=username,
            has_password=bool(new_password) or bool(tenant.smtp_password_sealed))
        values |= {"smtp_host": host, "smtp_port": port, "smtp_security": security, "smtp_username": username}
        if username is None:
            new_password = None  # no authentication: no password kept either
    else:
        values |= {"smtp_host": None, "smtp_port": None, "smtp_security": None, "smtp_username": None}
    changes = {key: {"before": getattr(tenant, key), "after": value}
               for key, value in values.items() if getattr(tenant, key) != value}
    drop_password = (not own_server or values.get("smtp_username") is None) and tenant.smtp_password_sealed
    if new_password or drop_password:
        changes["smtp_password"] = {"before": "[redacted]" if tenant.smtp_password_sealed else None,
                                    "after": "[redacted]" if new_password else None}
    if not changes:
        return {}
    for key, value in values.items():
        setattr(tenant, key, value)
    if new_password:
        tenant.smtp_password = new_password
    elif drop_password:
        tenant.smtp_password = None
    tenant.mail_tested_at = None
    record_event(db.session, tenant_id=tenant.id, action="mail_settings", entity_type="Tenant", entity_id=tenant.id,
                 details=changes, occurred_at=now)
    db.session.flush()
    log.info("mail settings tenant=%s changed=%s", tenant.id, sorted(changes))
    return changes


def sender_of(tenant, *, platform_domain: str) -> tuple[str, str]:
    """(name, address) the tenant's e-mails are sent from."""
    address = tenant.mail_sender_address or tenant.support_email or f"no-reply@{tenant.slug}.{platform_domain}"
    return tenant.mail_sender_name or tenant.name, address


def tenant_transport(tenant, *, timeout: int = 30) -> SMTPTransport | None:
    """The tenant's own SMTP server, or None for the platform's transport."""
    if not has_own_smtp(tenant):
        return None
    return SMTPTransport.from_settings(host=tenant.smtp_host, port=tenant.smtp_port, security=tenant.smtp_security,
                                       username=tenant.smtp_username, password=tenant.smtp_password, timeout=timeout)


def send_test_mail(*, tenant, mail: OutgoingMail, transport, now: datetime) -> str:
    """Send `mail` through `transport` now (not after the commit: the administrator waits for the answer). On
    success the settings are marked tested; a failure raises MailTestFailed and marks nothing. The outbox folder
    is no transport to test (the embedded development default): it is refused by the caller in production."""
    kind = "outbox" if isinstance(transport, OutboxTransport) else "smtp"
    try:
        transport.send(mail)
    except smtplib.SMTPAuthenticationError as exc:
        raise MailTestFailed("auth", "the server refused the user name or password") from exc
    except (smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused, smtplib.SMTPDataError) as exc:
        raise MailTestFailed("rejected", "the server refused the sender or the recipient") from exc
    except (ssl.SSLError, smtplib.SMTPNotSupportedError) as exc:
        raise MailTestFailed("tls", "the secure connection could not be set up") from exc
    except (smtplib.SMTPConnectError, smtplib.SMTPServerDisconnected, OSError) as exc:
        raise MailTestFailed("unreachable", "the server could not be reached") from exc
    except smtplib.SMTPException as exc:
        raise MailTestFailed("error", exc.__class__.__name__) from exc
    tenant.mail_tested_at = now
    record_event(db.session, tenant_id=tenant.id, action="mail_test_passed", entity_type="Tenant",
                 entity_id=tenant.id, details={"to": mail.to, "server": tenant.smtp_host or "platform",
                                               "transport": kind}, occurred_at=now)
    db.session.flush()
    log.info("mail test passed tenant=%s server=%s", tenant.id, tenant.smtp_host or "platform")
    return kind
