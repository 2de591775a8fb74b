"""Isolation cases of the platform console's confirmation pages: never served on a tenant's host."""
from __future__ import annotations


def case_console_confirm_suspend(app, browser, a, b):
    response = browser(a.slug).get(f"/console/tenants/{b.slug}/suspend")
    assert response.status_code == 404
