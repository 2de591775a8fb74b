"""The consumption chart's stylesheet sizes the y-axis and the plot from the drawing's own widths: they must agree
with portal/consumption_views.py, or the scale would no longer be level with its grid lines."""
from __future__ import annotations

from pathlib import Path

from portal.consumption_views import LEFT, WIDTH

CSS = Path(__file__).resolve().parents[2] / "static" / "css" / "readings.css"


def test_the_axis_and_plot_columns_follow_the_drawings_widths():
    css = CSS.read_text()

    assert f"minmax(0, {LEFT}fr) minmax(0, {WIDTH - LEFT}fr)" in css
    assert f"minmax(calc(520px * {LEFT} / {WIDTH - LEFT}), {LEFT}fr) minmax(0, {WIDTH - LEFT}fr)" in css
