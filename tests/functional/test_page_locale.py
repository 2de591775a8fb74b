"""Numbers, dates and money as the page's language writes them in the utility's country; the first visit's
language follows the browser among the platform's languages; an explicit choice still wins."""
from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from types import SimpleNamespace

from sqlalchemy import select

from domain.db import db
from domain.identity.models import CustomerUser
from tenants.context import platform_scope, tenant_scope
from tenants.models import Tenant


def _french_utility(app, two_tenants, **values):
    a, _b = two_tenants
    with app.app_context(), platform_scope("test tenant settings"):
        tenant = db.session.scalar(select(Tenant).where(Tenant.slug == a.slug))
        tenant.default_locale = "fr"
        for key, value in values.items():
            setattr(tenant, key, value)
        db.session.commit()
    return a


def _customer_language(app, data, locale):
    with app.app_context(), tenant_scope(data.tenant_id):
        user = db.session.scalar(select(CustomerUser).where(CustomerUser.email == data.customer_email))
        user.locale = locale
        db.session.commit()


def _plain(text: str) -> str:
    return text.replace("\u202f", " ").replace("\xa0", " ")


def test_english_page_of_a_french_utility_writes_money_and_dates_the_european_way(app, two_tenants, browser):
    a = _french_utility(app, two_tenants)
    _customer_language(app, a, "en")
    portal = browser(a.slug)
    portal.login(a.customer_email)

    page = _plain(portal.get(f"/bills/{a.bill_number}").get_data(as_text=True))

    assert '<html lang="en">' in page
    assert "€60.00" in page and "60,00" not in page
    assert "1 Nov 2026" in page and "Nov 1, 2026" not in page


def test_french_page_of_the_same_utility_writes_french_money_and_dates(app, two_tenants, browser):
    a = _french_utility(app, two_tenants)
    _customer_language(app, a, "fr")
    portal = browser(a.slug)
    portal.login(a.customer_email)

    page = _plain(portal.get(f"/bills/{a.bill_number}").get_data(as_text=True))

    assert '<html lang="fr">' in page
    assert "60,00 €" in page and "€60.00" not in page
    assert "1 nov. 2026" in page


def test_a_belgian_utility_writes_belgian_french(app, two_tenants, browser):
    a = _french_utility(app, two_tenants, timezone="Europe/Brussels")
    _customer_language(app, a, "fr")
    portal = browser(a.slug)
    portal.login(a.customer_email)

    page = portal.get("/bills").get_data(as_text=True)

    assert "15/11/26" in page or "15 nov. 2026" in page  # fr_BE's short and medium dates
    with app.test_request_context():
        from flask import g
        from flask_babel import force_locale

        from app.i18n import format_locale

        g.tenant = SimpleNamespace(timezone="Europe/Brussels")
        with force_locale("fr"):
            assert format_locale() == "fr_BE"
        with force_locale("de"):
            assert format_locale() == "de_BE"


def test_first_visit_follows_the_browser_language_among_the_platforms(app, two_tenants, browser):
    a = _french_utility(app, two_tenants)

    german = browser(a.slug).get("/login", headers={"Accept-Language": "de-DE,de;q=0.9,en;q=0.5"})
    unknown = browser(a.slug).get("/login", headers={"Accept-Language": "ja-JP,ja;q=0.9"})

    assert '<html lang="de">' in german.get_data(as_text=True)
    assert "Anmelden" in german.get_data(as_text=True)
    assert '<html lang="fr">' in unknown.get_data(as_text=True)  # none of the browser's: the utility's default


def test_an_explicit_choice_wins_over_the_browser(app, two_tenants, browser):
    a = _french_utility(app, two_tenants)
    visitor = browser(a.slug)
    visitor.submit("/login", {"locale": "es", "next": "/login"}, action="/language")

    page = visitor.get("/login", headers={"Accept-Language": "de-DE,de;q=0.9"}).get_data(as_text=True)

    assert '<html lang="es">' in page


def test_a_signed_in_customers_language_wins_over_the_browser(app, two_tenants, browser):
    a = _french_utility(app, two_tenants)
    _customer_language(app, a, "en")
    portal = browser(a.slug)
    portal.login(a.customer_email)

    page = portal.get("/", headers={"Accept-Language": "de-DE,de;q=0.9"}).get_data(as_text=True)

    assert '<html lang="en">' in page


def test_a_mail_composed_by_a_job_formats_as_the_utility_country_does(app, two_tenants):
    a = _french_utility(app, two_tenants)
    from app.mail import compose

    receipt = SimpleNamespace(holder_name="Alice", amount=Decimal("60.00"), currency="EUR",
                              received_at=datetime(2026, 11, 1, 9, 30, tzinfo=UTC), account_number=a.account_number,
                              payment_public_id="p-1", bills=[(a.bill_number, Decimal("60.00"))],
                              credit_left=Decimal("0"))
    with app.app_context(), platform_scope("test"):
        tenant = db.session.scalar(select(Tenant).where(Tenant.slug == a.slug))
        mail = compose(tenant=tenant, to="alice@example.test", subject="Receipt", template="payment_receipt",
                       locale="en", receipt=receipt)

    assert "€60.00" in mail.text and "01/11/2026, 10:30" in mail.text  # en_IE, in the utility's time zone
