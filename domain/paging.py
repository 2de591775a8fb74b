"""Paging of long lists (bills, requests): which page to show and which page numbers to offer; pure."""
from __future__ import annotations

from dataclasses import dataclass

DEFAULT_PAGE_SIZE = 20


@dataclass(frozen=True)
class Page:
    """Page `number` (1-based) of `total` items, `size` per page; always a page that exists (1 when empty)."""

    number: int
    size: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.size))

    @property
    def offset(self) -> int:
        return (self.number - 1) * self.size

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def has_next(self) -> bool:
        return self.number < self.pages

    @property
    def first_item(self) -> int:
        """1-based position of the first item shown (0 when there is none)."""
        return min(self.offset + 1, self.total)

    @property
    def last_item(self) -> int:
        return min(self.offset + self.size, self.total)

    def numbers(self, *, around: int = 2) -> list[int | None]:
        """The page numbers to link: the first, the last and `around` either side of this one; None marks a gap."""
        wanted = {1, self.pages, *range(self.number - around, self.number + around + 1)}
        shown = sorted(n for n in wanted if 1 <= n <= self.pages)
        out: list[int | None] = []
        for n in shown:
            if out and n - out[-1] == 2:
                out.append(n - 1)  # a gap of one page: show the page rather than an ellipsis
            elif out and n - out[-1] > 2:
                out.append(None)
            out.append(n)
        return out


def requested_page(raw: str | None) -> int:
    """What the query string asked for: a positive whole number, else 1 (never an error)."""
    text = (raw or "").strip()
    if not text.isdecimal() or len(text) > 9:
        return 1 if not text.isdecimal() else 10**9
    return max(int(text), 1)


def page_of(*, requested: str | None, total: int, size: int = DEFAULT_PAGE_SIZE) -> Page:
    """The page to show: a number past the end shows the last page, anything not a number the first."""
    if size < 1:
        raise ValueError("page size must be positive")
    last = max(1, -(-total // size))
    return Page(number=min(requested_page(requested), last), size=size, total=total)
