"""The portal's legal and help pages: what the utility wrote per locale, else its default locale's text, else the
page generated from its identity."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from domain.brand.defaults import default_page, title
from domain.brand.markdown import render_markdown
from domain.brand.models import PAGES, PortalPage
from domain.db import db

log = logging.getLogger("brand.pages")

MAX_LENGTH = 50_000


class PageRefused(ValueError):
    """`code`: empty, length."""

    def __init__(self, code: str):
        super().__init__(code)
        self.code = code


@dataclass(frozen=True)
class PageContent:
    page: str
    title: str  # in the reader's locale
    markdown: str
    locale: str  # the language the text is in (the default locale's when the reader's has none)
    source: str  # written, fallback (the default locale's text), generated

    @property
    def html(self) -> str:
        return render_markdown(self.markdown)


def written(*, page: str, locale: str) -> PortalPage | None:
    return db.session.scalar(select(PortalPage).where(PortalPage.page == page, PortalPage.locale == locale))


def written_pages() -> dict[tuple[str, str], PortalPage]:
    return {(row.page, row.locale): row for row in db.session.scalars(select(PortalPage))}


def page_content(*, tenant, page: str, locale: str, platform: str) -> PageContent:
    """The page as a reader in `locale` sees it. KeyError for a page that does not exist."""
    if page not in PAGES:
        raise KeyError(page)
    for candidate, source in ((locale, "written"), (tenant.default_locale, "fallback")):
        row = written(page=page, locale=candidate)
        if row is not None:
            return PageContent(page=page, title=title(page, candidate), markdown=row.body, locale=candidate,
                               source=source)
    return PageContent(page=page, title=title(page, locale), locale=locale, source="generated",
                       markdown=default_page(page, tenant, locale, platform=platform))


def save_page(*, page: str, locale: str, body: str, author: str, now: datetime) -> PortalPage:
    """Save what the utility wrote (audited with its author like every tenant row)."""
    if page not in PAGES:
        raise KeyError(page)
    body = (body or "").replace("\r\n", "\n").strip()
    if not body:
        raise PageRefused("empty")
    if len(body) > MAX_LENGTH:
        raise PageRefused("length")
    row = written(page=page, locale=locale)
    if row is None:
        row = PortalPage(page=page, locale=locale, body=body, updated_at=now, updated_by=author)
        db.session.add(row)
    elif row.body != body:
        row.body, row.updated_at, row.updated_by = body, now, author
    db.session.flush()
    log.info("portal page saved page=%s locale=%s by=%s", page, locale, author)
    return row


def reset_page(*, page: str, locale: str) -> bool:
    """Forget what the utility wrote: the page is generated again (or falls back). False when nothing was written."""
    row = written(page=page, locale=locale)
    if row is None:
        return False
    db.session.delete(row)
    db.session.flush()
    return True
