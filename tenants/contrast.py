"""WCAG 2.1 contrast for a tenant's brand colour: which ink reads on it, and a shade of it that reads as text."""
from __future__ import annotations

INK = "#1b1f24"
WHITE = "#ffffff"
AA = 4.5  # normal text


def _channel(value: int) -> float:
    c = value / 255
    return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4


def luminance(colour: str) -> float:
    r, g, b = (int(colour[i:i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * _channel(r) + 0.7152 * _channel(g) + 0.0722 * _channel(b)


def contrast(a: str, b: str) -> float:
    la, lb = sorted((luminance(a), luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def ink_on(background: str) -> str:
    """White if it reaches 4.5:1 on `background`, else the dark ink, else black (white or black always does)."""
    for ink in (WHITE, INK):
        if contrast(ink, background) >= AA:
            return ink
    return "#000000"


def text_shade(colour: str, *, on: str = "#f4f6f8", ratio: float = AA) -> str:
    """`colour` darkened just enough to reach `ratio` against `on` (the lightest page background is white; the
    canvas is a little darker, so it is the harder case): brand-coloured links and text stay readable."""
    r, g, b = (int(colour[i:i + 2], 16) for i in (1, 3, 5))
    for step in range(0, 101):
        k = 1 - step / 100
        shade = f"#{round(r * k):02x}{round(g * k):02x}{round(b * k):02x}"
        if contrast(shade, on) >= ratio:
            return shade
    return INK
