"""Outbound mail transport: an outbox folder (embedded default) or an SMTP server."""
from __future__ import annotations

import smtplib
import ssl
import uuid
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formataddr, make_msgid
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlparse


@dataclass(frozen=True)
class OutgoingMail:
    to: str
    subject: str
    text: str
    sender_name: str
    sender_address: str
    tenant_id: int | None = None
    html: str | None = None

    def to_email_message(self) -> EmailMessage:
        msg = EmailMessage()
        msg["From"] = formataddr((self.sender_name, self.sender_address))
        msg["To"] = self.to
        msg["Subject"] = self.subject
        msg["Message-ID"] = make_msgid(domain=self.sender_address.split("@")[-1])
        msg.set_content(self.text)
        if self.html:
            msg.add_alternative(self.html, subtype="html")
        return msg


class OutboxTransport:
    """Writes each mail as an .eml file under `<folder>/<tenant>/`: nothing leaves the machine."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)

    def send(self, mail: OutgoingMail) -> str:
        target = self.folder / (f"t{mail.tenant_id}" if mail.tenant_id else "platform")
        target.mkdir(parents=True, exist_ok=True)
        path = target / f"{uuid.uuid4().hex}.eml"
        path.write_bytes(bytes(mail.to_email_message()))
        return str(path)


class SMTPTransport:
    """smtp://user:pass@host:port (plain or STARTTLS with ?starttls=1), smtps:// for TLS."""

    def __init__(self, url: str):
        parsed = urlparse(url)
        self.host = parsed.hostname or "localhost"
        self.tls = parsed.scheme == "smtps"
        self.port = parsed.port or (465 if self.tls else 25)
        self.username = unquote(parsed.username) if parsed.username else None
        self.password = unquote(parsed.password) if parsed.password else None
        self.starttls = parse_qs(parsed.query).get("starttls", ["0"])[0] in ("1", "true")
        self.timeout = 30

    @classmethod
    def from_settings(cls, *, host: str, port: int | None, security: str, username: str | None,
                      password: str | None, timeout: int = 30) -> SMTPTransport:
        """A tenant's own server: `security` is "tls" (implicit TLS, 465), "starttls" (587) or "none" (25)."""
        transport = cls.__new__(cls)
        transport.host, transport.tls, transport.starttls = host, security == "tls", security == "starttls"
        transport.port = port or (465 if security == "tls" else 587 if security == "starttls" else 25)
        transport.username, transport.password, transport.timeout = username or None, password, timeout
        return transport

    def send(self, mail: OutgoingMail) -> str:
        cls = smtplib.SMTP_SSL if self.tls else smtplib.SMTP
        kwargs = {"context": ssl.create_default_context()} if self.tls else {}
        with cls(self.host, self.port, timeout=self.timeout, **kwargs) as smtp:
            if self.starttls:
                smtp.starttls(context=ssl.create_default_context())
            if self.username:
                smtp.login(self.username, self.password or "")
            smtp.send_message(mail.to_email_message())
        return f"smtp://{self.host}:{self.port}"


def transport_for(mail_url: str | None, outbox_dir: Path):
    if not mail_url:
        return OutboxTransport(outbox_dir)
    if mail_url.startswith(("smtp://", "smtps://")):
        return SMTPTransport(mail_url)
    if mail_url.startswith("outbox://"):
        return OutboxTransport(Path(mail_url[len("outbox://"):]))
    raise ValueError(f"unsupported MAIL_URL scheme: {mail_url.split(':', 1)[0]}")
