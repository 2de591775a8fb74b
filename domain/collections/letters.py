"""Dunning notices: an e-mail through the mail pipeline, or a letter (a PDF of the same text, rendered once and
stored, listed for staff to print and post). A customer without an e-mail address gets a letter."""
from __future__ import annotations

import hashlib
import io
import logging
from datetime import date, datetime, timedelta
from xml.sax.saxutils import escape

from babel.dates import format_date
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer
from sqlalchemy import select

from domain.collections.models import DunningLetter
from domain.collections.rules import Level
from domain.communications.models import Message
from domain.communications.notifications import recipient_of_account
from domain.communications.pipeline import notify, render_message
from domain.db import db
from domain.i18n import tenant_formatting_locale, translator
from domain.identity.activation import display_code
from domain.storage import storage

log = logging.getLogger("collections.letters")
PAY_WITHIN_DAYS = 10


def notice_context(*, item, level: Level, today: date) -> dict:
    bill, account = item.bill, item.account
    return {"account": account, "bill": bill, "level": level.position, "outstanding": item.outstanding,
            "fee": level.fee, "to_pay": item.outstanding + level.fee, "currency": bill.currency,
            "due_date": bill.due_date, "pay_by": today + timedelta(days=PAY_WITHIN_DAYS),
            "holder_name": account.holder.display_name if account.holder else "", "letter_date": today}


def send_notice(*, tenant, item, level: Level, today: date, now: datetime
                ) -> tuple[str, Message | None, DunningLetter | None]:
    """Queue the e-mail or store the letter of one step: (channel used, message, letter)."""
    from domain.collections.dunning import LEVEL_KINDS

    kind = LEVEL_KINDS[level.position]
    reference = f"dunning:{item.bill.number}:{level.position}"
    account = item.account
    context = notice_context(item=item, level=level, today=today)
    links = {"link": ("portal.bill", {"number": item.bill.number})}
    to = recipient_of_account(account) if level.channel == "email" else None
    if to:
        message = notify(kind=kind, to=to, locale=account.locale, now=now, context=context, links=links,
                         account_id=account.id, party_id=account.holder_party_id, reference=reference)
        if message is None:
            message = db.session.scalar(select(Message).where(Message.kind == kind, Message.reference == reference))
        return "email", message, None
    letter = store_letter(tenant=tenant, account=account, kind=kind, reference=reference, context=context,
                          links=links, now=now)
    return "letter", None, letter


def store_letter(*, tenant, account, kind: str, reference: str, context: dict, links: dict,
                 now: datetime) -> DunningLetter:
    rendered = render_message(kind=kind, to="", locale=account.locale, context={**context, "as_letter": True},
                              links=links)
    pdf = letter_pdf(tenant=tenant, account=account, subject=rendered.subject, text=rendered.text,
                     day=context["letter_date"])
    key = storage().save(tenant_id=tenant.id, category="dunning-letters", filename=f"{reference}.pdf", data=pdf)
    letter = DunningLetter(account_id=account.id, reference=reference, subject=rendered.subject[:400],
                           document_path=key, document_sha256=hashlib.sha256(pdf).hexdigest(), created_at=now)
    db.session.add(letter)
    db.session.flush()
    return letter


def _address_lines(account) -> list[str]:
    holder = account.holder
    if holder is None:
        return []
    lines = [holder.display_name]
    postal = holder.primary("postal")
    if postal is not None:
        lines += [line for line in (postal.address_line1, postal.address_line2,
                                    " ".join(p for p in (postal.postcode, postal.city) if p)) if line]
    return lines


def letter_pdf(*, tenant, account, subject: str, text: str, day: date) -> bytes:
    """An A4 letter: the utility's name and address, the customer's, the date, the subject, the notice's text."""
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(buffer, pagesize=A4, leftMargin=22 * mm, rightMargin=22 * mm, topMargin=20 * mm,
                            bottomMargin=20 * mm, title=subject, author=tenant.name, invariant=1)
    body = ParagraphStyle("body", fontName="Helvetica", fontSize=10.5, leading=14, spaceAfter=6)
    head = ParagraphStyle("head", parent=body, fontName="Helvetica-Bold", fontSize=13, leading=17)
    right = ParagraphStyle("right", parent=body, leftIndent=95 * mm)
    story = [Paragraph(escape(tenant.legal_name or tenant.name), head)]
    if tenant.postal_address:
        story.append(Paragraph(escape(tenant.postal_address), body))
    story.append(Spacer(1, 12 * mm))
    story.append(Paragraph("<br/>".join(escape(line) for line in _address_lines(account)), right))
    story.append(Spacer(1, 8 * mm))
    story.append(Paragraph(escape(format_date(day, "long", locale=tenant_formatting_locale(
        account.locale or tenant.default_locale, tenant))), right))
    # As on bills: the customer number, and the code that with it opens the online access (issue 12 §4).
    _ = translator(account.locale or tenant.default_locale)
    references = [f"{_('Customer number')}: {account.account_number}"]
    if account.activation_code:
        references.append(f"{_('Activation code')}: {display_code(account.activation_code)}")
    story.append(Paragraph("<br/>".join(escape(line) for line in references), right))
    story.append(Spacer(1, 6 * mm))
    story.append(Paragraph(escape(subject), head))
    for block in text.split("\n\n"):
        if block.strip():
            story.append(Paragraph("<br/>".join(escape(line) for line in block.strip().splitlines()), body))
    doc.build(story)
    return buffer.getvalue()


def letter_document(letter: DunningLetter) -> bytes:
    """The letter as stored, checked against its checksum."""
    data = storage().read(tenant_id=letter.tenant_id, key=letter.document_path)
    if hashlib.sha256(data).hexdigest() != letter.document_sha256:
        raise ValueError(f"letter {letter.reference} does not match its checksum")
    return data


def letters_to_send(*, include_sent: bool = False, limit: int = 500) -> list[tuple[DunningLetter, str]]:
    """Letters (with the customer number), those still to post first, oldest first."""
    from domain.contracts.models import CustomerAccount

    query = (select(DunningLetter, CustomerAccount.account_number)
             .join(CustomerAccount, CustomerAccount.id == DunningLetter.account_id))
    if not include_sent:
        query = query.where(DunningLetter.sent_at.is_(None))
    return list(db.session.execute(query.order_by(DunningLetter.sent_at.is_not(None), DunningLetter.created_at,
                                                  DunningLetter.id).limit(limit)).tuples())


def letters_of_account(*, account_id: int) -> dict[int, DunningLetter]:
    """The account's letters by id (the customer file links each step to its letter)."""
    return {letter.id: letter for letter in db.session.scalars(
        select(DunningLetter).where(DunningLetter.account_id == account_id))}


def letter_by_public_id(public_id: str) -> DunningLetter | None:
    return db.session.scalar(select(DunningLetter).where(DunningLetter.public_id == public_id))


def mark_sent(*, letter: DunningLetter, by: str, now: datetime) -> bool:
    """Record that the letter was printed and posted; False when it was already."""
    if letter.sent_at is not None:
        return False
    letter.sent_at, letter.sent_by = now, by[:255]
    db.session.flush()
    return True
