"""Administration of the utility's identity: one form per group, checked on the server; a form with errors changes
nothing and says what is wrong in the administrator's language; every change is audit-trailed with its author."""
from __future__ import annotations

import io

from PIL import Image
from sqlalchemy import select

from domain.audit.models import AuditEvent
from domain.db import db
from tenants.context import platform_scope, tenant_scope
from tenants.models import Tenant

PAGE = "/backoffice/admin/identity"


def _office(browser, data, role="tenant_admin"):
    office = browser(data.slug)
    office.login(data.staff_emails[role], area="/backoffice")
    return office


def _tenant(app, data) -> Tenant:
    with app.app_context(), platform_scope("test: read the tenant"):
        tenant = db.session.get(Tenant, data.tenant_id)
        db.session.expunge(tenant)
        return tenant


def _events(app, data) -> list[AuditEvent]:
    with app.app_context(), tenant_scope(data.tenant_id):
        events = list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == "identity_update")))
        for event in events:
            db.session.expunge(event)
        return events


LEGAL = {"legal_name": "Alpha Énergie SA", "company_registration": "RCS Lyon 552 081 317",
         "vat_number": "fr 40 303 265 045", "registered_office": "10 place Bellecour\n69002 Lyon",
         "website": "https://www.alpha.example"}


def test_administrator_saves_the_legal_identity_and_the_change_is_audited_with_its_author(app, browser, two_tenants):
    a, _b = two_tenants
    office = _office(browser, a)

    response = office.submit(PAGE, LEGAL, action=f"{PAGE}/legal")

    assert response.status_code == 302
    tenant = _tenant(app, a)
    assert tenant.legal_name == "Alpha Énergie SA" and tenant.vat_number == "FR40303265045"
    assert tenant.registered_office == "10 place Bellecour\n69002 Lyon"
    [event] = _events(app, a)
    assert event.actor_label == a.staff_emails["tenant_admin"] and event.actor_kind == "staff"
    assert event.changes["changes"]["vat_number"] == {"before": None, "after": "FR40303265045"}
    assert "The legal identity is saved." in office.get(PAGE).get_data(as_text=True)


def test_a_bad_vat_number_changes_nothing_and_says_why(app, browser, two_tenants):
    a, _b = two_tenants
    office = _office(browser, a)

    response = office.submit(PAGE, {**LEGAL, "vat_number": "FR41303265045", "legal_name": "Changed SA"},
                             action=f"{PAGE}/legal")

    assert response.status_code == 422
    text = response.get_data(as_text=True)
    assert "There is a problem" in text and "check key of this French VAT number" in text
    assert 'value="Changed SA"' in text  # the form keeps what was typed
    assert _tenant(app, a).legal_name is None and _events(app, a) == []


def test_a_missing_legal_name_and_a_website_without_scheme_are_refused(app, browser, two_tenants):
    a, _b = two_tenants
    office = _office(browser, a)

    missing = office.submit(PAGE, {**LEGAL, "legal_name": ""}, action=f"{PAGE}/legal")
    website = office.submit(PAGE, {**LEGAL, "website": "www.alpha.example"}, action=f"{PAGE}/legal")

    assert missing.status_code == 422 and "legal name, as registered" in missing.get_data(as_text=True)
    assert website.status_code == 422 and "starting with https://" in website.get_data(as_text=True)
    assert _tenant(app, a).legal_name is None


def test_customer_service_and_emergency_numbers_of_the_utilitys_activities_only(app, browser, two_tenants):
    a, _b = two_tenants  # electricity and gas
    office = _office(browser, a)
    form = office.get(PAGE).get_data(as_text=True)
    assert 'name="emergency_gas"' in form and 'name="emergency_electricity"' in form
    assert 'name="emergency_water"' not in form and 'name="emergency_heating"' not in form

    response = office.submit(PAGE, {"support_phone": "04 72 00 00 00", "support_hours": "Mon-Fri 8:00-18:00",
                                    "support_email": "service@alpha.example", "postal_address": "BP 12, 69001 Lyon",
                                    "emergency_gas": "0800 47 33 33", "emergency_water": "0800 00 00 00"},
                             action=f"{PAGE}/service")

    assert response.status_code == 302
    tenant = _tenant(app, a)
    assert tenant.support_phone == "04 72 00 00 00" and tenant.support_hours == "Mon-Fri 8:00-18:00"
    assert tenant.emergency_phones == {"gas": "0800 47 33 33"}


def test_a_bad_phone_number_changes_nothing(app, browser, two_tenants):
    a, _b = two_tenants
    office = _office(browser, a)

    response = office.submit(PAGE, {"support_phone": "call us", "emergency_gas": "0800 47 33 33"},
                             action=f"{PAGE}/service")

    assert response.status_code == 422
    assert "Enter a phone number" in response.get_data(as_text=True)
    assert _tenant(app, a).emergency_phones is None


def test_a_primary_colour_white_text_cannot_be_read_on_is_refused_with_the_shortfall(app, browser, two_tenants):
    a, _b = two_tenants
    office = _office(browser, a)
    before = _tenant(app, a).primary_colour

    response = office.submit(PAGE, {"primary_colour": "#f2a900", "accent_colour": "#00aa00"},
                             action=f"{PAGE}/colours")

    assert response.status_code == 422
    text = response.get_data(as_text=True)
    assert "White text on the primary colour #f2a900 reaches a contrast of only 2:1" in text
    assert "needs 4.5:1, so it falls 2.5 short" in text and "#9d6e00" in text
    assert _tenant(app, a).primary_colour == before


def test_the_contrast_message_reads_in_the_administrators_language(app, browser, two_tenants):
    a, _b = two_tenants
    office = _office(browser, a)
    office.submit("/backoffice/", {"locale": "fr", "next": "/backoffice/"}, action="/language")

    response = office.submit(PAGE, {"primary_colour": "#f2a900", "accent_colour": "#00aa00"},
                             action=f"{PAGE}/colours")

    assert response.status_code == 422
    assert 'lang="fr"' in response.get_data(as_text=True)
    assert "2,5" in response.get_data(as_text=True)  # the shortfall written the French way


def test_colours_that_pass_are_saved_and_served_in_the_brand_stylesheet(app, browser, two_tenants):
    a, _b = two_tenants
    office = _office(browser, a)

    office.submit(PAGE, {"primary_colour": "#1A4D2E", "accent_colour": "#f2a900"}, action=f"{PAGE}/colours")

    assert _tenant(app, a).primary_colour == "#1a4d2e"
    assert "--brand:#1a4d2e" in browser(a.slug).get("/brand.css").get_data(as_text=True)


def _png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (120, 40), "#0b5cad").save(buffer, format="PNG")
    return buffer.getvalue()


def test_a_png_logo_is_uploaded_and_served(app, browser, two_tenants):
    a, _b = two_tenants
    office = _office(browser, a)
    data = _png()

    response = office.submit(PAGE, {"logo": (io.BytesIO(data), "logo.png")}, action=f"{PAGE}/logo",
                             content_type="multipart/form-data")

    assert response.status_code == 302
    served = browser(a.slug).get("/brand/logo")
    assert served.mimetype == "image/png" and served.data == data


def test_an_svg_logo_is_served_without_its_script(app, browser, two_tenants):
    a, _b = two_tenants
    office = _office(browser, a)
    svg = (b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10" onload="alert(1)">'
           b'<script>alert(2)</script><rect width="10" height="10" fill="#0b5cad"/></svg>')

    office.submit(PAGE, {"logo": (io.BytesIO(svg), "logo.svg")}, action=f"{PAGE}/logo",
                  content_type="multipart/form-data")

    served = browser(a.slug).get("/brand/logo")
    assert served.mimetype == "image/svg+xml"
    assert b"<rect" in served.data and b"script" not in served.data and b"onload" not in served.data


def test_a_file_that_is_no_logo_changes_nothing(app, browser, two_tenants):
    a, _b = two_tenants
    office = _office(browser, a)

    response = office.submit(PAGE, {"logo": (io.BytesIO(b"GIF89a" + b"\0" * 64), "logo.gif")},
                             action=f"{PAGE}/logo", content_type="multipart/form-data")
    empty = office.submit(PAGE, {}, action=f"{PAGE}/logo", content_type="multipart/form-data")

    assert response.status_code == 422 and "Upload a PNG or SVG file." in response.get_data(as_text=True)
    assert empty.status_code == 422 and "Choose a PNG or SVG file." in empty.get_data(as_text=True)
    assert _tenant(app, a).logo_path is None


def test_the_logo_can_be_removed(app, browser, two_tenants):
    a, _b = two_tenants
    office = _office(browser, a)
    office.submit(PAGE, {"logo": (io.BytesIO(_png()), "logo.png")}, action=f"{PAGE}/logo",
                  content_type="multipart/form-data")

    office.submit(PAGE, {}, action=f"{PAGE}/logo/remove")

    assert _tenant(app, a).logo_path is None
    assert browser(a.slug).get("/brand/logo").mimetype == "image/svg+xml"  # the initials badge


def test_other_staff_cannot_open_or_change_the_identity(app, browser, two_tenants):
    a, _b = two_tenants
    office = _office(browser, a, role="supervisor")

    assert office.get(PAGE).status_code == 403
    assert office.post(f"{PAGE}/legal", {**LEGAL, "csrf_token": office.csrf("/backoffice/")}).status_code == 403
    assert _tenant(app, a).legal_name is None


def test_the_sections_are_listed_on_the_administration_home(browser, two_tenants):
    a, _b = two_tenants
    home = _office(browser, a).get("/backoffice/admin/").get_data(as_text=True)

    assert f'href="{PAGE}"' in home and 'href="/backoffice/admin/pages"' in home
