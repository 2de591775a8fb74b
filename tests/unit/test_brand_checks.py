"""Checks of what an administrator enters as the utility's identity: VAT numbers, phones, the primary colour's
contrast with white text, logos (PNG decoded, SVG rebuilt without scripts or external references)."""
from __future__ import annotations

import io

import pytest
from PIL import Image

from domain.brand.checks import is_phone, normalise_vat, vat_problem, white_text_shortfall
from domain.brand.logo import MAX_BYTES, LogoRefused, check_logo, sanitise_svg


@pytest.mark.parametrize("number", ["FR40303265045", "fr 40 303 265 045", "DE123456789", "ESB12345678",
                                    "BE0123456789", "NL123456789B01", "ATU12345678", "GB123456789"])
def test_accepts_vat_numbers_in_their_country_format(number):
    assert vat_problem(normalise_vat(number)) is None


@pytest.mark.parametrize("number, problem", [
    ("US123456789", "country"), ("123456789", "country"), ("DE12345678", "format"), ("DE1234567890", "format"),
    ("NL123456789A01", "format"), ("ATX12345678", "format"), ("FR41303265045", "key"),
])
def test_refuses_vat_numbers_of_the_wrong_shape(number, problem):
    assert vat_problem(normalise_vat(number)) == problem


@pytest.mark.parametrize("value, ok", [("04 72 00 00 00", True), ("+33 4 72 00 00 00", True), ("0800-123-456", True),
                                       ("(0)30 1234567", True), ("call us", False), ("12", False),
                                       ("+33 4 72 <b>", False)])
def test_phone_numbers(value, ok):
    assert is_phone(value) is ok


def test_a_dark_primary_colour_passes_the_contrast_check():
    assert white_text_shortfall("#0b5cad") is None


def test_a_light_primary_colour_fails_and_says_by_how_much_and_what_would_pass():
    shortfall = white_text_shortfall("#F2A900")

    assert shortfall.colour == "#f2a900"
    assert shortfall.ratio == 2.0 and shortfall.needed == 4.5 and shortfall.short_by == 2.5
    assert white_text_shortfall(shortfall.suggestion) is None


def test_a_ratio_just_under_the_threshold_is_not_rounded_up_to_pass():
    shortfall = white_text_shortfall("#777777")  # 4.48:1

    assert shortfall is not None and shortfall.ratio < 4.5


def _png(width=64, height=32) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), "#0b5cad").save(buffer, format="PNG")
    return buffer.getvalue()


def test_a_png_logo_is_kept_as_uploaded():
    data = _png()

    assert check_logo(filename="logo.png", data=data) == ("png", data)


@pytest.mark.parametrize("data, filename, code", [
    (b"GIF89a" + b"\0" * 40, "logo.gif", "type"),
    (b"\xff\xd8\xff\xe0" + b"\0" * 40, "logo.png", "type"),  # a JPEG named .png
    (b"\x89PNG\r\n\x1a\n" + b"garbage", "logo.png", "unreadable"),
    (b"<svg", "logo.svg", "unreadable"),
    (b'<html xmlns="http://www.w3.org/1999/xhtml"><body/></html>', "logo.svg", "type"),
])
def test_refuses_files_that_are_not_png_or_svg_logos(data, filename, code):
    with pytest.raises(LogoRefused) as refused:
        check_logo(filename=filename, data=data)
    assert refused.value.code == code


def test_refuses_logos_too_large_or_too_big_in_pixels():
    with pytest.raises(LogoRefused) as too_heavy:
        check_logo(filename="logo.png", data=b"\x89PNG\r\n\x1a\n" + b"\0" * MAX_BYTES)
    with pytest.raises(LogoRefused) as too_wide:
        check_logo(filename="logo.png", data=_png(width=2400))

    assert too_heavy.value.code == "size" and too_wide.value.code == "dimensions"


def test_svg_logos_lose_scripts_handlers_and_external_references():
    svg = (b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink"'
           b' viewBox="0 0 10 10" onload="alert(1)"><script>alert(2)</script>'
           b'<rect width="10" height="10" fill="url(#g)" style="fill:url(https://evil.example/x)"/>'
           b'<a xlink:href="javascript:alert(3)"><text x="1" y="8">Aq</text></a>'
           b'<image href="https://evil.example/x.png"/><foreignObject><p>hi</p></foreignObject>'
           b'<use xlink:href="#g"/></svg>')

    kind, clean = check_logo(filename="logo.svg", data=svg)

    text = clean.decode()
    assert kind == "svg"
    assert "script" not in text and "onload" not in text and "javascript" not in text
    assert "evil.example" not in text and "foreignObject" not in text and "<a" not in text
    assert 'fill="url(#g)"' in text and '<use href="#g"/>' in text and "<rect" in text


def test_svg_with_entity_declarations_is_refused():
    svg = (b'<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
           b'<svg xmlns="http://www.w3.org/2000/svg"><text>&x;</text></svg>')

    with pytest.raises(LogoRefused):
        sanitise_svg(svg)
