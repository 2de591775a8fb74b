"""Customers for campaign tests and an aiosmtpd server the tests start (answers per recipient, one per try)."""
from __future__ import annotations

import socket
import time
from contextlib import contextmanager
from datetime import date
from decimal import Decimal

from domain.db import db
from tests import factories as f


def customer(*, email: str | None = "user", consent: bool = False, contact: str | None = None,
             locale: str | None = None, activity: str = "electricity", postcode: str = "69001", city: str = "Lyon",
             offer=None,
             payment_method: str = "transfer", paperless: bool = False, overdue: bool = False, last_name="Martin",
             first_name="Alice"):
    """An account with one active contract; an online access (`email`, consent, language) unless email is None; a
    holder's e-mail contact point when `contact` is given; an unpaid bill past its due date when `overdue`."""
    party = f.PartyFactory(first_name=first_name, last_name=last_name)
    if contact:
        f.ContactPointFactory(party=party, value=contact)
    account = f.CustomerAccountFactory(holder=party, payment_method=payment_method, paperless=paperless)
    premise = f.PremiseFactory(postcode=postcode, city=city)
    point = f.DeliveryPointFactory(premise=premise, activity=activity)
    f.ContractFactory(account=account, delivery_point=point, **({"offer": offer} if offer else {}))
    if email is not None:
        address = email if "@" in email else f"{email}.{account.account_number.lower()}@example.test"
        user = f.CustomerUserFactory(party=party, email=address, marketing_consent=consent, locale=locale)
        f.CustomerAccessFactory(user=user, account=account)
    if overdue:
        f.BillFactory(account=account, due_date=date(2026, 10, 1), total_incl_tax=Decimal("80.00"))
    db.session.flush()
    return account


class SMTPServer:
    """aiosmtpd on a free port; `answers` maps a recipient to the answers it gets at RCPT, one per try (then 250);
    `delay` seconds of wait at DATA (a slow server, so a worker can be killed mid-batch)."""

    def __init__(self, answers=None, delay: float = 0.0):
        from aiosmtpd.controller import Controller

        self.answers = {k: list(v) for k, v in (answers or {}).items()}
        self.received = []
        server = self

        class Handler:
            async def handle_RCPT(self, smtp, session, envelope, address, rcpt_options):
                queued = server.answers.get(address)
                if queued:
                    return queued.pop(0)
                envelope.rcpt_tos.append(address)
                return "250 OK"

            async def handle_DATA(self, smtp, session, envelope):
                if delay:
                    import asyncio
                    await asyncio.sleep(delay)
                server.received.append(envelope)
                return "250 OK"

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def __enter__(self):
        self.controller.start()
        return self

    def __exit__(self, *exc):
        self.controller.stop()

    def messages(self):
        import email
        from email import policy

        return [email.message_from_bytes(e.content, policy=policy.default) for e in self.received]


@contextmanager
def platform_smtp(app, url: str):
    """The platform's transport pointed at `url` for the block."""
    from domain.communications.outbound import SMTPTransport

    saved = app.extensions.get("mail_transport")
    app.extensions["mail_transport"] = SMTPTransport(url)
    try:
        yield
    finally:
        app.extensions.pop("mail_transport", None)
        if saved is not None:
            app.extensions["mail_transport"] = saved


def wait_for(condition, timeout: float = 10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False
