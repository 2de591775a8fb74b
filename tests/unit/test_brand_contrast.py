"""A tenant's brand colour never makes text unreadable: ink on it and a text shade of it reach WCAG AA."""
from __future__ import annotations

import pytest

from tenants.contrast import AA, contrast, ink_on, text_shade

COLOURS = ["#0b5cad", "#f2a900", "#ffff00", "#00a0e0", "#2e7d32", "#777777", "#767676", "#ffffff", "#000000",
           "#5b2a86", "#0e6ba8", "#ff0000", "#e0e0e0"]


@pytest.mark.parametrize("colour", COLOURS)
def test_ink_on_brand_colour_reaches_aa(colour):
    assert contrast(ink_on(colour), colour) >= AA


@pytest.mark.parametrize("colour", COLOURS)
def test_text_shade_reaches_aa_on_white_and_canvas(colour):
    shade = text_shade(colour)

    assert contrast(shade, "#f4f6f8") >= AA and contrast(shade, "#ffffff") >= AA


def test_dark_brand_colour_is_kept_as_it_is():
    assert text_shade("#0b5cad") == "#0b5cad"
    assert ink_on("#0b5cad") == "#ffffff"


def test_light_brand_colour_gets_dark_ink_and_a_darker_text_shade():
    assert ink_on("#f2a900") == "#1b1f24"
    assert text_shade("#f2a900") != "#f2a900"
