"""Reply templates: ready answers per name and language that staff start a reply from. Placeholders in braces
(`{customer_name}`) are filled for the request answered, in the customer's language; staff edit the text before
sending. Only the placeholders listed exist, so a template can never reach anything else."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from babel.dates import format_date
from sqlalchemy import select

from domain.db import db
from domain.requests.models import ReplyTemplate, ServiceRequest

PLACEHOLDERS = ("customer_name", "request_reference", "request_subject", "answer_due_date", "utility_name",
                "staff_name")
LOCALES = ("en", "fr", "de", "es")
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
NAME_MAX, BODY_MAX = 120, 5000


class TemplateRefused(ValueError):
    """`field` and `code`: name (empty, long, taken), locale (unknown), body (empty, long, placeholder)."""

    def __init__(self, field: str, code: str, detail: str = ""):
        super().__init__(f"{field}: {code}")
        self.field, self.code, self.detail = field, code, detail


def unknown_placeholders(body: str) -> list[str]:
    return sorted({name for name in _PLACEHOLDER.findall(body) if name not in PLACEHOLDERS})


def fill(body: str, values: dict[str, str]) -> str:
    """The template's text with its placeholders replaced (an unknown one stays as written)."""
    return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), body)


def templates() -> list[ReplyTemplate]:
    return list(db.session.scalars(select(ReplyTemplate).order_by(ReplyTemplate.name, ReplyTemplate.locale)))


def template_by_public_id(public_id: str) -> ReplyTemplate | None:
    return db.session.scalar(select(ReplyTemplate).where(ReplyTemplate.public_id == public_id))


def save_template(*, template: ReplyTemplate | None, name: str, locale: str, body: str, staff_id: int,
                  now: datetime) -> ReplyTemplate:
    name, body = (name or "").strip(), (body or "").strip()
    if not name:
        raise TemplateRefused("name", "empty")
    if len(name) > NAME_MAX:
        raise TemplateRefused("name", "long")
    if locale not in LOCALES:
        raise TemplateRefused("locale", "unknown")
    if not body:
        raise TemplateRefused("body", "empty")
    if len(body) > BODY_MAX:
        raise TemplateRefused("body", "long")
    unknown = unknown_placeholders(body)
    if unknown:
        raise TemplateRefused("body", "placeholder", ", ".join("{" + u + "}" for u in unknown))
    clash = db.session.scalar(select(ReplyTemplate).where(ReplyTemplate.name == name, ReplyTemplate.locale == locale))
    if clash is not None and clash is not template:
        raise TemplateRefused("name", "taken")
    if template is None:
        template = ReplyTemplate(name=name, locale=locale, body=body, updated_at=now, updated_by_id=staff_id)
        db.session.add(template)
    else:
        template.name, template.locale, template.body = name, locale, body
        template.updated_at, template.updated_by_id = now, staff_id
    db.session.flush()
    return template


def delete_template(template: ReplyTemplate) -> None:
    db.session.delete(template)
    db.session.flush()


def choices() -> list[tuple[str, str, list[str]]]:
    """(public id of one version, name, languages it exists in) per name, for the reply form's list."""
    by_name: dict[str, list[ReplyTemplate]] = {}
    for template in templates():
        by_name.setdefault(template.name, []).append(template)
    return [(versions[0].public_id, name, [v.locale for v in versions]) for name, versions in by_name.items()]


@dataclass
class Filled:
    template: ReplyTemplate  # the version used (the customer's language when it exists)
    text: str


def version_for(template: ReplyTemplate, *, locales: list[str]) -> ReplyTemplate:
    """The version of the same name in the first of `locales` that has one, else the one chosen."""
    versions = {t.locale: t for t in db.session.scalars(select(ReplyTemplate).where(
        ReplyTemplate.name == template.name))}
    for locale in locales:
        if locale in versions:
            return versions[locale]
    return template


def fill_for(*, template: ReplyTemplate, request: ServiceRequest, customer_name: str, customer_locale: str,
             tenant_locale: str, utility_name: str, staff_name: str, zone: ZoneInfo) -> Filled:
    """The template in the customer's language (else the utility's, else the one chosen), filled for `request`."""
    version = version_for(template, locales=[customer_locale, tenant_locale])
    due = format_date(request.due_at.astimezone(zone).date(), "long", locale=version.locale) if request.due_at \
        else ""
    values = {"customer_name": customer_name, "request_reference": request.reference,
              "request_subject": request.subject, "answer_due_date": due, "utility_name": utility_name,
              "staff_name": staff_name}
    return Filled(version, fill(version.body, values))
