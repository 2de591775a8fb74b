"""The administration area: for tenant administrators only, reached from the back office's menu."""
from __future__ import annotations


def test_administrator_reaches_administration_from_the_menu(browser, two_tenants):
    a, _b = two_tenants
    office = browser(a.slug)
    office.login(a.staff_emails["tenant_admin"], area="/backoffice")
    home = office.get("/backoffice/").get_data(as_text=True)
    assert 'href="/backoffice/admin/"' in home
    page = office.get("/backoffice/admin/")
    assert page.status_code == 200
    assert "<h1>Administration</h1>" in page.get_data(as_text=True)


def test_other_staff_neither_see_nor_open_administration(browser, two_tenants):
    a, _b = two_tenants
    office = browser(a.slug)
    office.login(a.staff_emails["supervisor"], area="/backoffice")
    assert 'href="/backoffice/admin/"' not in office.get("/backoffice/").get_data(as_text=True)
    assert office.get("/backoffice/admin/").status_code == 403
