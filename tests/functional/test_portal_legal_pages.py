"""The utility's legal and help pages on the portal: open without signing in, in the reader's language (else the
utility's default language, else generated from its identity), linked from every portal page's footer; the
administrator edits them per language in Markdown with a preview; e-mails carry the legal name and contact."""
from __future__ import annotations

from sqlalchemy import select

from domain.audit.models import AuditEvent
from domain.brand.models import PortalPage
from domain.db import db
from tenants.context import platform_scope, tenant_scope
from tenants.models import Tenant

PAGES = ("legal-notice", "privacy", "cookies", "accessibility", "contact", "help")


def _office(browser, data):
    office = browser(data.slug)
    office.login(data.staff_emails["tenant_admin"], area="/backoffice")
    return office


def _identity(app, data, **values):
    with app.app_context(), platform_scope("test: identity"):
        tenant = db.session.get(Tenant, data.tenant_id)
        for name, value in values.items():
            setattr(tenant, name, value)
        db.session.commit()


def _text(response) -> str:
    return response.get_data(as_text=True)


def test_every_page_opens_without_signing_in(browser, two_tenants):
    a, _b = two_tenants
    visitor = browser(a.slug)

    for page in PAGES:
        response = visitor.get(f"/legal/{page}")
        assert response.status_code == 200, page
        assert "<h1>" in _text(response)
    assert visitor.get("/legal/terms").status_code == 404


def test_the_footer_links_to_the_pages_and_shows_customer_service(app, browser, two_tenants):
    a, _b = two_tenants
    _identity(app, a, legal_name="Alpha Énergie SA", support_phone="04 72 00 00 00", support_hours="8:00-18:00",
              support_email="service@alpha.example")

    for path in ("/login", "/legal/privacy"):
        footer = _text(browser(a.slug).get(path)).split('<footer class="site-footer">')[1]
        for page in PAGES:
            assert f'href="/legal/{page}"' in footer
        assert "Alpha Énergie SA" in footer and 'href="tel:0472000000"' in footer and "8:00-18:00" in footer
        assert 'href="mailto:service@alpha.example"' in footer


def test_the_footer_shows_what_the_utility_typed_as_text(app, browser, two_tenants):
    a, _b = two_tenants
    _identity(app, a, support_phone="04 72 00 00 00", support_hours="<b>8-18</b>", support_email='x"@alpha.example')

    footer = _text(browser(a.slug).get("/login")).split('<footer class="site-footer">')[1]

    assert "<b>8-18</b>" not in footer and "&lt;b&gt;8-18&lt;/b&gt;" in footer
    assert 'mailto:x"@' not in footer


def test_generated_legal_notice_and_contact_page_come_from_the_identity(app, browser, two_tenants):
    a, _b = two_tenants
    _identity(app, a, legal_name="Alpha Énergie SA", company_registration="RCS Lyon 552 081 317",
              vat_number="FR40303265045", registered_office="10 place Bellecour\n69002 Lyon",
              support_phone="04 72 00 00 00", support_hours="8:00-18:00", emergency_phones={"gas": "0800 47 33 33"},
              ombudsman="Médiateur national de l'énergie", ombudsman_contact="www.energie-mediateur.fr")
    visitor = browser(a.slug)

    notice = _text(visitor.get("/legal/legal-notice"))
    contact = _text(visitor.get("/legal/contact"))

    for fact in ("Alpha Énergie SA", "RCS Lyon 552 081 317", "FR40303265045", "10 place Bellecour", "69002 Lyon",
                 "Hosting"):
        assert fact in notice
    assert 'Customer service: <a href="tel:0472000000" rel="noopener noreferrer">04 72 00 00 00</a> (8:00-18:00)' \
        in contact
    assert 'Emergencies (gas), day and night: <a href="tel:0800473333" rel="noopener noreferrer">0800 47 33 33</a>' \
        in contact
    assert "Médiateur national de l&#39;énergie" in contact or "Médiateur national de l'énergie" in contact


def _write(office, page, locale, body, action="save"):
    return office.submit(f"/backoffice/admin/pages/{page}/{locale}", {"body": body, "action": action})


def test_a_page_written_per_language_falls_back_to_the_default_language_then_the_generated_text(
        app, browser, two_tenants):
    a, _b = two_tenants  # default locale: English
    office = _office(browser, a)
    _write(office, "privacy", "fr", "## Vos données\n\nTexte écrit par Alpha.")
    french = browser(a.slug)
    german = browser(a.slug)

    in_french = _text(french.get("/legal/privacy", headers={"Accept-Language": "fr"}))
    generated = _text(german.get("/legal/privacy", headers={"Accept-Language": "de"}))
    _write(office, "privacy", "en", "## Your data\n\nWritten by Alpha in English.")
    fallback = _text(browser(a.slug).get("/legal/privacy", headers={"Accept-Language": "de"}))

    assert "Texte écrit par Alpha." in in_french and "<h2>Vos données</h2>" in in_french
    assert "Texte écrit par Alpha." not in generated and "Alpha Utility" in generated  # generated, from identity
    assert "Written by Alpha in English." in fallback and '<article class="legal-text" lang="en">' in fallback


def test_the_page_is_rendered_safely(app, browser, two_tenants):
    a, _b = two_tenants
    office = _office(browser, a)

    _write(office, "help", "en", "Hi <script>alert(1)</script> [x](javascript:alert(1)) ![t](https://evil.example/p.png)")

    page = _text(browser(a.slug).get("/legal/help"))
    assert "<script>alert" not in page and 'href="javascript' not in page and "evil.example" not in page


def test_preview_shows_the_text_without_saving_it(app, browser, two_tenants):
    a, _b = two_tenants
    office = _office(browser, a)

    preview = _write(office, "cookies", "en", "## Only necessary cookies", action="preview")

    assert preview.status_code == 200 and "<h2>Only necessary cookies</h2>" in _text(preview)
    with app.app_context(), tenant_scope(a.tenant_id):
        assert db.session.scalars(select(PortalPage)).all() == []


def test_an_empty_page_is_refused_and_changes_nothing(app, browser, two_tenants):
    a, _b = two_tenants
    office = _office(browser, a)
    _write(office, "contact", "en", "Call us.")

    response = _write(office, "contact", "en", "   ")

    assert response.status_code == 422 and "There is a problem" in _text(response)
    assert "Call us." in _text(browser(a.slug).get("/legal/contact"))


def test_saving_is_audited_and_going_back_to_the_generated_text_removes_the_page(app, browser, two_tenants):
    a, _b = two_tenants
    office = _office(browser, a)
    _write(office, "accessibility", "es", "Declaración propia.")

    office.submit("/backoffice/admin/pages/accessibility/es", {},
                  action="/backoffice/admin/pages/accessibility/es/reset")

    with app.app_context(), tenant_scope(a.tenant_id):
        events = db.session.scalars(select(AuditEvent).where(AuditEvent.entity_type == "PortalPage")
                                    .order_by(AuditEvent.id)).all()
        assert [e.action for e in events] == ["insert", "delete"]
        assert {e.actor_label for e in events} == {a.staff_emails["tenant_admin"]}
        assert db.session.scalars(select(PortalPage)).all() == []
    assert "Declaración propia." not in _text(browser(a.slug).get("/legal/accessibility",
                                                                  headers={"Accept-Language": "es"}))


def test_unknown_pages_and_languages_are_not_found_in_the_editor(browser, two_tenants):
    a, _b = two_tenants
    office = _office(browser, a)

    assert office.get("/backoffice/admin/pages/terms/en").status_code == 404
    assert office.get("/backoffice/admin/pages/privacy/it").status_code == 404
    listing = _text(office.get("/backoffice/admin/pages"))
    assert all(f"/backoffice/admin/pages/{page}/{code}" in listing
               for page in PAGES for code in ("en", "fr", "de", "es"))


def test_emails_end_with_the_legal_name_and_customer_service(app, two_tenants):
    from app.mail import compose

    a, _b = two_tenants
    _identity(app, a, legal_name="Alpha Énergie SA", support_phone="04 72 00 00 00", support_hours="8:00-18:00",
              support_email="service@alpha.example")
    with app.test_request_context(), platform_scope("test: mail"):
        tenant = db.session.get(Tenant, a.tenant_id)
        mail = compose(tenant=tenant, to="someone@example.test", subject="Hello", template="activation",
                       locale="en", existing=False, account_number="C1", link="https://x.example/l")

    for body in (mail.text, mail.html):
        assert "Alpha Énergie SA" in body and "04 72 00 00 00 (8:00-18:00)" in body
        assert "service@alpha.example" in body
    assert mail.html.index("Alpha Énergie SA") < mail.html.index("</body>")
