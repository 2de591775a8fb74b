"""The back-office navigation marks the area a staff member is in on every page of it, and leads to the password
page."""
from __future__ import annotations

import re

import pytest


@pytest.fixture
def office(browser, two_tenants):
    alpha = two_tenants[0]
    signed_in = browser(alpha.slug)
    signed_in.login(alpha.staff_emails["tenant_admin"], area="/backoffice")
    return alpha, signed_in


def _current(html: str) -> list[str]:
    nav = html[html.index('<nav class="site-nav"'):html.index("</nav>")]
    return re.findall(r'<a href="([^"]+)" aria-current="page">', nav)


@pytest.mark.parametrize(("path", "area"), [
    ("/backoffice/", "/backoffice/"),
    ("/backoffice/customers?q=x", "/backoffice/customers"),
    ("/backoffice/customers/{account}", "/backoffice/customers"),
    ("/backoffice/customers/{account}/history", "/backoffice/customers"),
    ("/backoffice/requests", "/backoffice/requests"),
    ("/backoffice/requests/{request}", "/backoffice/requests"),
    ("/backoffice/readings", "/backoffice/readings"),
    ("/backoffice/billing/runs", "/backoffice/billing/runs"),
    ("/backoffice/collections/", "/backoffice/collections/"),
    ("/backoffice/collections/settings", "/backoffice/collections/"),
    ("/backoffice/password/change", "/backoffice/password/change"),
])
def test_the_area_of_the_page_is_marked_current_and_only_it(office, path, area):
    alpha, signed_in = office

    html = signed_in.get(path.format(account=alpha.account_number, request=alpha.request_reference)) \
        .get_data(as_text=True)

    assert _current(html) == [area]


def test_staff_find_the_password_page_and_sign_out_beside_their_name(office):
    _alpha, signed_in = office

    html = signed_in.get("/backoffice/").get_data(as_text=True)

    account = html[html.index('class="nav-account"'):html.index("</nav>")]
    assert 'href="/backoffice/password/change"' in account and "Change my password" in account
    assert 'action="/backoffice/logout"' in account
