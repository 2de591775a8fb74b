"""Sections of the customer file contributed by business areas, so each area adds its part without editing the page.

An area registers a loader with `@customer_section("backoffice/_customer_x.html", order=…, permission=…)`; the loader
takes the customer account and returns the partial's context (a dict, or None to leave the section out). The page
includes each section in `order`, skipping those whose permission the staff member lacks (their loader is not run).
Orders in use: 10 contracts and readings, 20 bills, 30 payments and collections, 40 case work and contacts,
50 messages; pick a number between to place yours.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class CustomerSection:
    template: str
    order: int
    permission: str | None
    load: Callable


@dataclass(frozen=True)
class LoadedSection:
    template: str
    data: dict


SECTIONS: list[CustomerSection] = []


def customer_section(template: str, *, order: int, permission: str | None = None):
    def register(load: Callable) -> Callable:
        SECTIONS.append(CustomerSection(template, order, permission, load))
        SECTIONS.sort(key=lambda section: section.order)
        return load
    return register


def loaded_sections(account, *, permissions, before: int | None = None, after: int | None = None
                    ) -> list[LoadedSection]:
    """The sections this staff member may see, with their data, whose order is in [after, before)."""
    out = []
    for section in SECTIONS:
        if (after is not None and section.order < after) or (before is not None and section.order >= before):
            continue
        if section.permission is not None and section.permission not in permissions:
            continue
        data = section.load(account)
        if data is not None:
            out.append(LoadedSection(section.template, data))
    return out
