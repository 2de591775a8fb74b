"""The API reference page passes axe-core (WCAG 2.1 A/AA) and does not scroll sideways on a phone."""
from __future__ import annotations

import pytest

from tests.browser.conftest import Site

NARROW = 375


@pytest.mark.parametrize("language", ["en", "fr"])
def test_the_api_reference_passes_axe_and_fits_a_phone(chromium, live_server, axe_source, language):
    context = chromium.new_context(viewport={"width": 1280, "height": 900}, locale=language)
    site = Site(context, f"http://localhost:{live_server}", axe_source)
    try:
        response = site.goto("/api/v1/reference")
        assert response.status == 200
        found = []
        for width in (1280, NARROW):
            site.page.set_viewport_size({"width": width, "height": 900})
            found += [f"{width} px: {v['rule']} ({v['impact']}) {v['help']} at {v['nodes']}" for v in site.axe()]
            if width == NARROW and site.horizontal_overflow() > 0:
                found.append(f"{site.horizontal_overflow()} px wider than a {NARROW} px screen")
        assert not found, "\n".join(found)
    finally:
        context.close()
