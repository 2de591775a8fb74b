"""An error page keeps the navigation of the area the signed-in person is in: a staff member refused a page of the
back office can still go elsewhere in it; a customer's 404 keeps the portal's menu."""
from __future__ import annotations


def test_a_403_in_the_back_office_keeps_its_navigation(two_tenants, browser):
    a, _b = two_tenants
    office = browser(a.slug)
    office.login(a.staff_emails["agent"], area="/backoffice")

    refused = office.get(f"/backoffice/customers/{a.account_number}/history")

    html = refused.get_data(as_text=True)
    assert refused.status_code == 403 and "Not allowed" in html
    assert 'class="nav-list"' in html and 'href="/backoffice/customers"' in html
    assert "Sign out" in html and "area-backoffice" in html


def test_a_404_in_the_back_office_keeps_its_navigation(two_tenants, browser):
    a, _b = two_tenants
    office = browser(a.slug)
    office.login(a.staff_emails["agent"], area="/backoffice")

    missing = office.get("/backoffice/customers/NO-SUCH-ACCOUNT")

    html = missing.get_data(as_text=True)
    assert missing.status_code == 404 and 'href="/backoffice/customers"' in html and "area-backoffice" in html


def test_a_404_in_the_portal_keeps_the_customers_menu(two_tenants, browser):
    a, _b = two_tenants
    portal = browser(a.slug)
    portal.login(a.customer_email)

    missing = portal.get("/bills/F9999-999999")

    html = missing.get_data(as_text=True)
    assert missing.status_code == 404 and 'href="/bills"' in html and 'href="/profile"' in html


def test_signed_out_error_pages_show_no_navigation(two_tenants, browser):
    a, _b = two_tenants

    html = browser(a.slug).get("/backoffice/no/such/page").get_data(as_text=True)

    assert "Page not found" in html and 'class="nav-list"' not in html
