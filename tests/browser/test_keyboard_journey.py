"""One journey with the keyboard alone (Tab, Shift+Tab, Enter, Space and typing): skip link, sign in, open an
account from the home page, then open the phone's menu and sign out with the form's button."""
from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from tests.conftest import TEST_PASSWORD


@pytest.fixture
def customer(app, make_tenant):
    from tests.factories import populate_tenant

    tenant = make_tenant("alpha")
    with app.app_context():
        return populate_tenant(tenant)


def _focused(page) -> dict:
    return page.evaluate("""() => {
        const e = document.activeElement;
        return {tag: e.tagName.toLowerCase(), id: e.id, text: (e.innerText || e.value || '').trim(),
                href: e.getAttribute('href'), type: e.getAttribute('type'),
                outline: getComputedStyle(e).outlineStyle, visible: e.getBoundingClientRect().top >= 0};
    }""")


def _tab_to(page, matches, limit: int = 40) -> dict:
    """Press Tab until the focused element matches; every focus stop must show a visible focus style."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        element = _focused(page)
        assert element["outline"] != "none", f"no visible focus on {element}"
        if matches(element):
            return element
    raise AssertionError("never reached the element with Tab")


def test_sign_in_open_an_account_and_sign_out_with_the_keyboard(site, customer):
    visitor = site(customer.slug, width=375)
    page = visitor.page
    visitor.goto("/login")

    page.keyboard.press("Tab")
    first = _focused(page)
    assert first["href"] == "#main" and first["visible"], "the skip link comes first and shows when focused"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"

    _tab_to(page, lambda e: e["id"] == "email")
    page.keyboard.type(customer.customer_email)
    _tab_to(page, lambda e: e["id"] == "password")
    page.keyboard.type(TEST_PASSWORD)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert urlsplit(page.url).path == "/", page.url
    assert "Hello" in page.inner_text("h1")

    _tab_to(page, lambda e: e["href"] == f"/accounts/{customer.account_number}" and e["tag"] == "a"
            and "See account" in e["text"])
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert urlsplit(page.url).path == f"/accounts/{customer.account_number}"
    assert customer.account_number in page.inner_text("h1")

    page.evaluate("window.scrollTo(0, 0); document.activeElement.blur()")
    _tab_to(page, lambda e: e["tag"] == "summary" and e["text"] == "Menu")
    assert not page.is_visible("text=Sign out"), "on a phone the navigation is folded into the menu"
    page.keyboard.press("Enter")
    assert page.evaluate("document.querySelector('details.nav-menu').open"), "Enter opens the menu"
    _tab_to(page, lambda e: e["tag"] == "button" and e["type"] == "submit" and "Sign out" in e["text"])
    with page.expect_navigation():
        page.keyboard.press("Space")
    visitor.goto("/")
    assert "/login" in page.url, "signed out: the home page asks to sign in again"
