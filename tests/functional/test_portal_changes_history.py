"""What a customer changes in the portal (phone, address, e-mail, language, consent, paperless) reads in the back
office's history of the customer file: before and after, the customer as the one who did it, in the staff
member's language."""
from __future__ import annotations

import re

from sqlalchemy import select

from domain.db import db
from domain.identity.models import CustomerUser, StaffUser
from tenants.context import tenant_scope

_LINK = re.compile(r"https?://[^/\s]+(/\S+)")
ADDRESS = {"phone": "+33 4 72 10 20 30", "address_line1": "12 avenue Foch", "address_line2": "",
           "postcode": "69006", "city": "Lyon", "country": "FR"}


def _history(app, browser, a, locale: str) -> str:
    with app.app_context(), tenant_scope(a.tenant_id):
        db.session.scalar(select(StaffUser).where(StaffUser.email == a.staff_emails["tenant_admin"])).locale = locale
        db.session.commit()
    office = browser(a.slug)
    office.login(a.staff_emails["tenant_admin"], area="/backoffice")
    page = office.get(f"/backoffice/customers/{a.account_number}/history")
    assert page.status_code == 200
    return page.get_data(as_text=True).replace("&#43;", "+")


def _rows(html: str) -> list[str]:
    body = html[html.index("<tbody>"):html.index("</tbody>")]
    return [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", row)) for row in body.split("<tr>")[1:]]


def _customer_changes_everything(app, a, browser, outbox):
    portal = browser(a.slug)
    portal.login(a.customer_email)
    portal.submit("/profile/contact", ADDRESS)
    portal.submit("/profile/email", {"email": "moved@example.test"})
    link = _LINK.search(outbox()[-1].get_body(preferencelist=("plain",)).get_content()).group(1)
    portal.submit(link, {})
    portal.submit("/profile", {"locale": "fr"}, action="/profile/language")
    portal.submit("/profile", {"marketing_consent": "y"}, action="/profile/marketing")
    portal.submit("/profile", {"account_number": a.account_number, "paperless": "y"}, action="/profile/paperless")
    with app.app_context(), tenant_scope(a.tenant_id):
        user = db.session.scalar(select(CustomerUser).where(CustomerUser.email == "moved@example.test"))
        assert user is not None and user.locale == "fr" and user.marketing_consent


def test_each_portal_change_is_in_the_back_office_history_with_before_and_after(app, two_tenants, browser, outbox):
    a = two_tenants[0]

    _customer_changes_everything(app, a, browser, outbox)
    rows = _rows(_history(app, browser, a, "en"))

    by_customer = [row for row in rows if f"Customer · {a.customer_email}" in row or
                   "Customer · moved@example.test" in row]
    text = " | ".join(by_customer)
    assert "Phone number: — → +33 4 72 10 20 30" in text
    assert "Postal address: — → 12 avenue Foch, 69006 Lyon, France" in text
    assert f"E-mail address: {a.customer_email} → moved@example.test" in text
    assert "Language: — → Français" in text
    assert "News and offers: No → Yes" in text
    assert "Paperless billing: No → Yes" in text
    assert all("changed in the portal" in row or "changed" in row for row in by_customer)
    for column in ("marketing_consent", "locale", "address_line1"):
        assert column not in text


def test_the_history_of_portal_changes_reads_in_the_staff_members_language(app, two_tenants, browser, outbox):
    a = two_tenants[0]

    _customer_changes_everything(app, a, browser, outbox)
    html = _history(app, browser, a, "de")

    assert "Kunde · moved@example.test" in html
    assert "Telefonnummer: — → +33 4 72 10 20 30" in html
    assert "Sprache: — → Français" in html
    assert "Neuigkeiten und Angebote: Nein → Ja" in html
    assert "Papierlose Rechnung: Nein → Ja" in html


def test_a_change_that_changes_nothing_is_not_recorded(app, two_tenants, browser, outbox):
    a = two_tenants[0]
    portal = browser(a.slug)
    portal.login(a.customer_email)

    portal.submit("/profile/contact", ADDRESS)
    portal.submit("/profile/contact", ADDRESS)
    html = _history(app, browser, a, "en")

    assert html.count("Phone number: — → +33 4 72 10 20 30") == 1
    assert "Phone number: +33 4 72 10 20 30 → +33 4 72 10 20 30" not in html


def test_the_history_reads_in_french_with_french_punctuation(app, two_tenants, browser, outbox):
    a = two_tenants[0]

    _customer_changes_everything(app, a, browser, outbox)
    html = _history(app, browser, a, "fr").replace("\u00a0", " ")

    assert "Client · moved@example.test" in html
    assert "Numéro de téléphone : — → +33 4 72 10 20 30" in html
    assert "Actualités et offres : Non → Oui" in html
    assert "modification dans l’espace client" in html
