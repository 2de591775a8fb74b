"""Before going live, the administration home lists what is missing and the portal shows a "coming soon" page in the
utility's language and colours, while the back office works; "Go live" (confirmed, audited) opens the portal."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from domain.audit.models import AuditEvent
from domain.db import db
from tenants.context import platform_scope, tenant_scope
from tenants.models import Tenant
from tests.factories import OfferFactory, TariffVersionFactory, make_ready_for_go_live, populate_tenant


def _set(app, slug, **values):
    with app.app_context(), platform_scope("tests: tenant settings"):
        tenant = db.session.scalar(select(Tenant).where(Tenant.slug == slug))
        for key, value in values.items():
            setattr(tenant, key, value)
        db.session.commit()


def _live_at(app, slug):
    with app.app_context(), platform_scope("tests: read the tenant"):
        return db.session.scalar(select(Tenant.live_at).where(Tenant.slug == slug))


@pytest.fixture
def fresh(app, make_tenant):
    """A utility set up but not live yet: staff of every role, a customer, offers in force; legal identity too."""
    tenant = make_tenant("fresh", live=False, name="Fresh Energy")
    with app.app_context():
        data = populate_tenant(tenant, live=False)
        with tenant_scope(tenant.id):
            TariffVersionFactory(offer=OfferFactory(activity="gas"))
            db.session.commit()
        make_ready_for_go_live(tenant.id)
    return data


def _admin(browser, data):
    office = browser(data.slug)
    office.login(data.staff_emails["tenant_admin"], area="/backoffice")
    return office


def test_the_portal_of_a_utility_not_yet_live_says_coming_soon_on_every_page(app, fresh, browser):
    _set(app, "fresh", primary_colour="#7a1f5c", support_email="hello@fresh.example.com")
    visitor = browser("fresh")

    for path in ("/", "/login", "/activate", "/bills", f"/bills/{fresh.bill_number}", "/password/forgot"):
        page = visitor.get(path)
        assert page.status_code == 503, path
        assert "Coming soon" in page.get_data(as_text=True), path
    html = visitor.get("/").get_data(as_text=True)
    assert "Fresh Energy" in html and "hello@fresh.example.com" in html
    assert "/brand.css" in html and "/brand/logo" in html and "/static/css/go_live.css" in html
    assert "#7a1f5c" in visitor.get("/brand.css").get_data(as_text=True)
    assert visitor.post("/login", data={"email": fresh.customer_email, "password": "x"}).status_code == 503


def test_the_coming_soon_page_is_in_the_utilitys_language_or_the_browsers(app, fresh, browser):
    _set(app, "fresh", default_locale="fr")

    french = browser("fresh").get("/").get_data(as_text=True)
    german = browser("fresh").get("/", headers={"Accept-Language": "de"}).get_data(as_text=True)

    assert '<html lang="fr">' in french
    assert '<html lang="de">' in german


def test_the_back_office_works_before_going_live(app, fresh, browser):
    office = _admin(browser, fresh)

    assert office.get("/backoffice/").status_code == 200
    assert office.get(f"/backoffice/customers/{fresh.account_number}").status_code == 200


def test_the_administration_home_lists_what_is_missing(app, make_tenant, browser):
    tenant = make_tenant("empty", live=False)
    office = browser("empty")
    office.login(f"admin@{tenant.slug}.test", area="/backoffice")

    html = office.get("/backoffice/admin/").get_data(as_text=True)

    assert "Before the portal opens" in html
    for missing in ("Electricity: no offer with a tariff in force today.", "The legal name of the utility.",
                    "No active staff member has the role “Billing”.",
                    "No customer account yet: import the customer base."):
        assert missing in html
    assert html.count("is-missing") == 7
    assert 'action="/backoffice/admin/go-live"' not in html
    assert "appears here once every check is done" in html


def test_the_administrator_goes_live_after_confirming(app, fresh, browser):
    office = _admin(browser, fresh)
    home = office.get("/backoffice/admin/").get_data(as_text=True)

    unconfirmed = office.submit("/backoffice/admin/", {}, action="/backoffice/admin/go-live")
    still_closed = browser("fresh").get("/login").status_code
    done = office.submit("/backoffice/admin/", {"confirm": "y"}, action="/backoffice/admin/go-live")
    after = office.get("/backoffice/admin/").get_data(as_text=True)

    assert home.count("is-done") == 7 and 'action="/backoffice/admin/go-live"' in home
    assert unconfirmed.status_code == 422
    assert "Tick the box to confirm that the portal opens to customers now." in unconfirmed.get_data(as_text=True)
    assert still_closed == 503
    assert done.status_code == 302 and _live_at(app, "fresh") is not None
    assert "Fresh Energy is live" in after and "Before the portal opens" not in after
    assert browser("fresh").get("/login").status_code == 200
    with app.app_context(), tenant_scope(fresh.tenant_id):
        event = db.session.execute(select(AuditEvent.actor_kind, AuditEvent.actor_label).where(
            AuditEvent.action == "tenant_went_live")).one()
    assert tuple(event) == ("staff", fresh.staff_emails["tenant_admin"])


def test_going_live_is_refused_while_something_is_missing(app, fresh, browser):
    office = _admin(browser, fresh)
    token = office.csrf("/backoffice/admin/")
    _set(app, "fresh", legal_name=None)  # something went missing after the page was shown

    refused = office.post("/backoffice/admin/go-live", data={"csrf_token": token, "confirm": "y"})

    assert refused.status_code == 409
    assert "The portal cannot open yet" in refused.get_data(as_text=True)
    assert _live_at(app, "fresh") is None


def test_only_an_administrator_goes_live(app, fresh, browser):
    office = browser("fresh")
    office.login(fresh.staff_emails["supervisor"], area="/backoffice")

    refused = office.submit("/backoffice/", {"confirm": "y"}, action="/backoffice/admin/go-live")

    assert refused.status_code == 403 and _live_at(app, "fresh") is None


def test_a_live_utility_shows_since_when_and_no_checklist(app, two_tenants, browser):
    a, _b = two_tenants
    office = _admin(browser, a)

    html = office.get("/backoffice/admin/").get_data(as_text=True)

    assert "The portal is open to customers since" in html and "Before the portal opens" not in html
