"""What every page shares, as a phone shows it: the header's menu, the way back from a forgotten password, file inputs
whose button reads in the page's language, and inputs as wide as what they hold."""
from __future__ import annotations

import re

from tests.functional.test_portal_readings import _one_a_day, _setup


def _tag(html: str, pattern: str) -> str:
    found = re.search(pattern, html)
    assert found, pattern
    return found.group(0)


def test_forgot_password_pages_link_back_to_their_sign_in(two_tenants, browser):
    a, _ = two_tenants
    visitor = browser(a.slug)

    portal = visitor.get("/password/forgot").get_data(as_text=True)
    office = visitor.get("/backoffice/password/forgot").get_data(as_text=True)

    assert '<a href="/login">Back to sign-in</a>' in portal
    assert '<a href="/backoffice/login">Back to sign-in</a>' in office


def test_the_way_back_to_sign_in_is_in_the_page_language(two_tenants, browser):
    a, _ = two_tenants
    visitor = browser(a.slug)
    visitor.submit("/login", {"locale": "fr", "next": "/login"}, action="/language")

    page = visitor.get("/password/forgot").get_data(as_text=True)

    assert '<a href="/login">Retour à la connexion</a>' in page


def test_signed_in_navigation_folds_into_a_labelled_menu(two_tenants, browser):
    a, _ = two_tenants
    portal = browser(a.slug)
    portal.login(a.customer_email)
    office = browser(a.slug)

    customer_page = portal.get("/").get_data(as_text=True)
    office.login(a.staff_emails["tenant_admin"], area="/backoffice")
    staff_page = office.get("/backoffice/").get_data(as_text=True)

    for page in (customer_page, staff_page):
        menu = page[page.index('<details class="nav-menu">'):page.index("</details>")]
        assert re.search(r'<summary class="nav-toggle">.*Menu</summary>', menu)
        assert '<nav class="site-nav" aria-label="Main">' in menu and 'id="locale-select"' in menu


def test_signed_out_pages_keep_the_language_choice_in_view(two_tenants, browser):
    a, _ = two_tenants

    page = browser(a.slug).get("/login").get_data(as_text=True)

    assert 'class="nav-menu"' not in page and 'id="locale-select"' in page


def test_request_attachments_button_and_status_are_in_the_page_language(two_tenants, browser):
    a, _ = two_tenants
    portal = browser(a.slug)
    portal.login(a.customer_email)
    portal.submit("/", {"locale": "fr", "next": "/"}, action="/language")

    page = portal.get("/requests/new?kind=complaint").get_data(as_text=True)

    file_input = _tag(page, r'<input type="file" id="attachments"[^>]*>')
    assert 'name="attachments"' in file_input and "multiple" in file_input
    assert '<label for="attachments" class="btn file-button" aria-hidden="true">Choisir des fichiers</label>' in page
    assert 'data-none="Aucun fichier choisi"' in page and 'data-many="{count} fichiers choisis"' in page
    assert '<label class="label" for="attachments">' in page, "the field keeps its own visible label"
    assert page.count('src="/static/js/file-input.js"') == 1


def test_pages_without_a_file_input_load_no_script(two_tenants, browser):
    a, _ = two_tenants
    portal = browser(a.slug)
    portal.login(a.customer_email)

    page = portal.get("/").get_data(as_text=True)

    assert "<script" not in page


def test_meter_photo_button_is_in_the_page_language(app, two_tenants, browser):
    a, _ = two_tenants
    serial = _setup(app, a, readings=_one_a_day())
    portal = browser(a.slug)
    portal.login(a.customer_email)
    portal.submit("/", {"locale": "de", "next": "/"}, action="/language")

    page = portal.get(f"/readings/{serial}").get_data(as_text=True)

    file_input = _tag(page, r'<input type="file"[^>]*>')
    photo_id = re.search(r'id="([^"]+)"', file_input).group(1)
    assert 'accept="image/jpeg,image/png,image/webp"' in file_input
    assert f'aria-describedby="{photo_id}-hint"' in file_input
    assert f'<label for="{photo_id}" class="btn file-button" aria-hidden="true">Datei auswählen</label>' in page


def test_short_settings_fields_get_widths_that_fit_them(two_tenants, browser):
    a, _ = two_tenants
    admin = browser(a.slug)
    admin.login(a.staff_emails["tenant_admin"], area="/backoffice")

    page = admin.get("/backoffice/collections/settings").get_data(as_text=True)
    batches = admin.get("/backoffice/collections/").get_data(as_text=True)

    assert 'class="input input-w4"' in _tag(page, r'<input[^>]*id="lead_days"[^>]*>')
    assert 'class="input input-w40"' in _tag(page, r'<input[^>]*id="iban"[^>]*>')
    assert 'class="input input-w20"' in _tag(page, r'<input[^>]*id="bic"[^>]*>')
    # A date field gets its width from its type.
    assert 'class="input input-w12"' in _tag(batches, r'<input[^>]*id="collection_date"[^>]*>')
