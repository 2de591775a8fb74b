"""Outbound mail transport: an outbox folder (embedded default) or an SMTP server.

`transport.send(mail)` delivers one mail on its own connection. `transport.session()` opens one connection for a
batch (a worker sending hundreds of messages): `session.send(mail)` raises `TemporaryFailure` (4xx, connection
lost, timeout: try again later) or `PermanentFailure` (5xx: the address or the message is refused for good),
and the session reconnects by itself after a temporary failure.
"""
from __future__ import annotations

import base64
import binascii
import smtplib
import ssl
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formataddr, formatdate, make_msgid
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlparse


@dataclass(frozen=True)
class Attachment:
    filename: str
    content: bytes
    mimetype: str = "application/pdf"


@dataclass(frozen=True)
class OutgoingMail:
    to: str
    subject: str
    text: str
    sender_name: str
    sender_address: str
    tenant_id: int | None = None
    html: str | None = None
    headers: tuple[tuple[str, str], ...] = ()  # extra headers: List-Unsubscribe, X-Message-Ref...
    attachments: tuple[Attachment, ...] = ()
    message_id: str | None = None  # kept when given (a message sent again keeps its Message-ID)
    # Serialise with `fast_bytes` (text and HTML, no attachment): a campaign's hundred thousand mails, where the
    # email package's generator would cost more than the SMTP exchange itself.
    fast: bool = False

    def to_email_message(self) -> EmailMessage:
        msg = EmailMessage()
        msg["From"] = formataddr((self.sender_name, self.sender_address))
        msg["To"] = self.to
        msg["Subject"] = self.subject
        msg["Message-ID"] = self.message_id or make_msgid(domain=self.sender_address.split("@")[-1])
        for name, value in self.headers:
            msg[name] = value
        msg.set_content(self.text)
        if self.html:
            msg.add_alternative(self.html, subtype="html")
        for attachment in self.attachments:
            main, _, sub = attachment.mimetype.partition("/")
            msg.add_attachment(attachment.content, maintype=main, subtype=sub or "octet-stream",
                               filename=attachment.filename)
        return msg


def _header_text(value: str) -> str:
    """A header value on one line; non-ASCII as RFC 2047 encoded words of at most 45 bytes each."""
    value = " ".join(value.split())
    if value.isascii():
        return value
    words, chunk = [], ""
    for char in value:
        if len((chunk + char).encode()) > 45:
            words.append(chunk)
            chunk = ""
        chunk += char
    words.append(chunk)
    return "\r\n ".join("=?utf-8?b?" + base64.b64encode(word.encode()).decode("ascii") + "?=" for word in words)


def _qp(text: str) -> bytes:
    return binascii.b2a_qp(text.replace("\r\n", "\n").encode("utf-8")).replace(b"\n", b"\r\n")


def fast_bytes(mail: OutgoingMail) -> bytes:
    """The mail as MIME bytes with CRLF line ends, quoted-printable text and HTML alternatives, written directly: the
    message `to_email_message` makes, some twenty times faster (smtplib sends bytes as they are). No attachments."""
    if mail.attachments:
        return bytes(mail.to_email_message())
    message_id = mail.message_id or make_msgid(domain=mail.sender_address.split("@")[-1])
    head = [f"From: {formataddr((mail.sender_name, mail.sender_address))}", f"To: {mail.to}",
            f"Subject: {_header_text(mail.subject)}", f"Date: {formatdate(usegmt=True)}", f"Message-ID: {message_id}"]
    head += [f"{name}: {_header_text(value)}" for name, value in mail.headers]
    head.append("MIME-Version: 1.0")
    text_part = b'Content-Type: text/plain; charset="utf-8"\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n'
    if not mail.html:
        return ("\r\n".join(head) + "\r\n").encode("utf-8") + text_part + _qp(mail.text) + b"\r\n"
    boundary = "=_" + uuid.uuid4().hex  # "=_" never appears in quoted-printable
    head.append(f'Content-Type: multipart/alternative; boundary="{boundary}"')
    mark = f"--{boundary}\r\n".encode()
    html_part = b'Content-Type: text/html; charset="utf-8"\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n'
    return b"".join((
        ("\r\n".join(head) + "\r\n\r\n").encode("utf-8"), mark, text_part, _qp(mail.text), b"\r\n", mark,
        html_part, _qp(mail.html), b"\r\n", f"--{boundary}--\r\n".encode()))


class TemporaryFailure(Exception):
    """Try again later: a 4xx answer, the server unreachable or the connection lost."""

    def __init__(self, reason: str, code: int | None = None):
        super().__init__(reason)
        self.reason, self.code = reason, code


class PermanentFailure(Exception):
    """Refused for good (5xx): sending the same mail again to the same address will fail again."""

    def __init__(self, reason: str, code: int | None = None):
        super().__init__(reason)
        self.reason, self.code = reason, code


def _failure(code: int | None, reason: str) -> Exception:
    if code is not None and 500 <= code < 600:
        return PermanentFailure(reason, code)
    return TemporaryFailure(reason, code)


def _text(value) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)


class OutboxTransport:
    """Writes each mail as an .eml file under `<folder>/<tenant>/`: nothing leaves the machine."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)

    def send(self, mail: OutgoingMail) -> str:
        target = self.folder / (f"t{mail.tenant_id}" if mail.tenant_id else "platform")
        target.mkdir(parents=True, exist_ok=True)
        path = target / f"{uuid.uuid4().hex}.eml"
        path.write_bytes(fast_bytes(mail) if mail.fast else bytes(mail.to_email_message()))
        return str(path)

    @contextmanager
    def session(self) -> Iterator[OutboxTransport]:
        yield self


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

    def connect(self) -> smtplib.SMTP:
        cls = smtplib.SMTP_SSL if self.tls else smtplib.SMTP
        kwargs = {"context": ssl.create_default_context()} if self.tls else {}
        smtp = cls(self.host, self.port, timeout=self.timeout, **kwargs)
        try:
            if self.starttls:
                smtp.starttls(context=ssl.create_default_context())
            if self.username:
                smtp.login(self.username, self.password or "")
        except BaseException:
            smtp.close()
            raise
        return smtp

    def send(self, mail: OutgoingMail) -> str:
        with self.connect() as smtp:
            smtp.send_message(mail.to_email_message())
        return f"smtp://{self.host}:{self.port}"

    @contextmanager
    def session(self) -> Iterator[SMTPSession]:
        session = SMTPSession(self)
        try:
            yield session
        finally:
            session.close()


class SMTPSession:
    """One SMTP connection reused for a batch; opened at the first mail, opened again after a lost one."""

    def __init__(self, transport: SMTPTransport):
        self.transport = transport
        self.smtp: smtplib.SMTP | None = None
        self.connections = 0

    def send(self, mail: OutgoingMail) -> str:
        message = data = None
        if mail.fast:
            data = fast_bytes(mail)
        else:
            message = mail.to_email_message()
        try:
            if self.smtp is None:
                self.smtp = self.transport.connect()
                self.connections += 1
            if data is not None:
                refused = self.smtp.sendmail(mail.sender_address, [mail.to], data)
            else:
                refused = self.smtp.send_message(message)
        except smtplib.SMTPRecipientsRefused as exc:
            code, reason = next(iter(exc.recipients.values()), (None, b"recipient refused"))
            self._reset()
            raise _failure(code, _text(reason)) from exc
        except (smtplib.SMTPSenderRefused, smtplib.SMTPDataError) as exc:
            self._reset()
            raise _failure(exc.smtp_code, _text(exc.smtp_error)) from exc
        except smtplib.SMTPAuthenticationError as exc:  # our credentials, not the address: retry later
            self.close()
            raise TemporaryFailure(f"authentication refused: {_text(exc.smtp_error)}", exc.smtp_code) from exc
        except smtplib.SMTPResponseException as exc:
            self.close()
            raise _failure(exc.smtp_code, _text(exc.smtp_error)) from exc
        except (smtplib.SMTPException, OSError) as exc:  # timeouts are OSErrors
            self.close()
            raise TemporaryFailure(f"{type(exc).__name__}: {exc}") from exc
        if refused:  # some of several recipients refused (we send to one: not expected)
            code, reason = next(iter(refused.values()))
            raise _failure(code, _text(reason))
        return message["Message-ID"] if message is not None else mail.message_id

    def _reset(self) -> None:
        """After a refused mail the connection stays usable once the transaction is reset."""
        try:
            if self.smtp is not None:
                self.smtp.rset()
        except (smtplib.SMTPException, OSError):
            self.close()

    def close(self) -> None:
        if self.smtp is not None:
            try:
                self.smtp.quit()
            except (smtplib.SMTPException, OSError):
                self.smtp.close()
            self.smtp = None


def transport_for(mail_url: str | None, outbox_dir: Path):
    if not mail_url:
        return OutboxTransport(outbox_dir)
    if mail_url.startswith(("smtp://", "smtps://")):
        return SMTPTransport(mail_url)
    if mail_url.startswith("outbox://"):
        return OutboxTransport(Path(mail_url[len("outbox://"):]))
    raise ValueError(f"unsupported MAIL_URL scheme: {mail_url.split(':', 1)[0]}")
