"""The bill pages customers read (tier names, VAT basis, true-up deductions) pass axe and fit a phone screen."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.conftest import TEST_PASSWORD
from tests.functional.test_bill_presentation import bills  # noqa: F401 (the fixture)

SCREENSHOTS = os.environ.get("PORTAL_SCREENSHOTS")


@pytest.mark.parametrize("width", [1280, 375])
def test_bill_pages_have_no_axe_violation_and_fit_the_screen(site, bills, width):  # noqa: F811
    a, numbers = bills
    visitor = site(a.slug, width=width)
    visitor.sign_in(a.customer_email, TEST_PASSWORD)
    found = []

    for kind, number in numbers.items():
        visitor.goto(f"/bills/{number}")
        if SCREENSHOTS:
            Path(SCREENSHOTS).mkdir(parents=True, exist_ok=True)
            visitor.page.screenshot(path=f"{SCREENSHOTS}/bill_{kind}_{width}.png", full_page=True)
        found += [(kind, violation) for violation in visitor.axe()]
        assert visitor.horizontal_overflow() <= 0, kind

    assert not found
