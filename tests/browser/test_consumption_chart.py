"""The consumption chart keeps its y-axis in view on a phone: the plot scrolls (it opens on the latest months), the
scale stays beside it, each figure level with its grid line; on a wide screen the two are one drawing."""
from __future__ import annotations

import os

import pytest

from tests.conftest import TEST_PASSWORD
from tests.functional.test_portal_consumption import _setup


@pytest.mark.parametrize("width", [375, 1280])
def test_the_y_axis_stays_in_view_level_with_its_grid_lines(app, two_tenants, site, width):
    a, _b = two_tenants
    _setup(app, a)
    portal = site(a.slug, width=width)
    portal.sign_in(a.customer_email, TEST_PASSWORD)

    portal.goto("/consumption")
    page = portal.page
    labels = page.eval_on_selector_all(
        ".chart-y-axis text", "els => els.map(e => { const r = e.getBoundingClientRect();"
        " return {text: e.textContent, left: r.left, right: r.right, mid: (r.top + r.bottom) / 2}; })")
    grid = page.eval_on_selector_all(
        ".chart-plot .chart-grid", "els => els.map(e => { const r = e.getBoundingClientRect(); return r.top; })")
    plot = page.eval_on_selector(".chart-scroll", "e => { const r = e.getBoundingClientRect();"
                                 " return {left: r.left, scrolled: e.scrollWidth > e.clientWidth}; }")
    if os.environ.get("PORTAL_SCREENSHOTS"):
        page.screenshot(path=os.path.join(os.environ["PORTAL_SCREENSHOTS"], f"consumption-chart-{width}.png"),
                        full_page=True)

    ticks = labels[:-1]  # the last label is the unit, above the scale
    assert labels[-1]["text"] == "m³" and len(ticks) == len(grid) >= 3
    assert all(0 <= label["left"] and label["right"] <= plot["left"] + 1 for label in ticks)  # in view, left of it
    assert all(abs(label["mid"] - line) < 4 for label, line in zip(ticks, grid, strict=True))  # level with its line
    assert plot["scrolled"] is (width == 375)
    assert portal.horizontal_overflow() == 0
