"""Isolation cases of the administration home: a tenant administrator sees their own utility only."""
from __future__ import annotations


def case_admin_home(app, browser, a, b):
    office = browser(a.slug)
    office.login(a.staff_emails["tenant_admin"], area="/backoffice")
    page = office.get("/backoffice/admin/")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "Alpha Utility" in text and "Bravo Utility" not in text
