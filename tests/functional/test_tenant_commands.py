"""`flask tenants create | list | suspend | resume | set-stripe | create-operator`."""
from __future__ import annotations

import re

from sqlalchemy import select

from domain.db import db
from domain.identity.models import StaffUser
from tenants.context import platform_scope, tenant_scope
from tenants.models import Tenant


def _run(app, *args, input=None):
    return app.test_cli_runner().invoke(args=list(args), input=input)


def test_create_tenant_with_its_first_administrator(app, browser):
    result = _run(app, "tenants", "create", "--slug", "riverside", "--name", "Riverside Water",
                  "--activity", "water", "--locale", "fr", "--currency", "EUR", "--timezone", "Europe/Paris",
                  "--admin-email", "boss@riverside.example.com", "--admin-password", "first-admin-pass")

    assert result.exit_code == 0, result.output
    with app.app_context():
        with platform_scope("test: the new tenant"):
            tenant = db.session.scalar(select(Tenant).where(Tenant.slug == "riverside"))
        with tenant_scope(tenant.id):
            admin = db.session.scalar(select(StaffUser))
            assert admin.roles == {"tenant_admin"}
    assert tenant.activities == ["water"] and tenant.default_locale == "fr"
    login = browser("riverside").login("boss@riverside.example.com", "first-admin-pass", area="/backoffice")
    assert login.status_code == 302


def test_create_refuses_bad_input_and_changes_nothing(app):
    cases = [
        ("--slug", "Bad Slug!"),
        ("--currency", "XXQ"),
        ("--timezone", "Mars/Olympus"),
        ("--admin-password", "short"),
    ]
    base = {"--slug": "okslug", "--name": "Ok", "--currency": "EUR", "--timezone": "Europe/Paris",
            "--admin-email": "a@ok.example.com", "--admin-password": "long-enough-pass"}
    for option, value in cases:
        args = {**base, option: value}
        flat = [item for pair in args.items() for item in pair]

        result = _run(app, "tenants", "create", "--activity", "gas", *flat)

        assert result.exit_code != 0, option
        assert "Error" in result.output
    with app.app_context(), platform_scope("test: no tenant made"):
        assert db.session.scalars(select(Tenant)).all() == []


def test_duplicate_slug_is_refused(app, make_tenant):
    make_tenant("taken")

    result = _run(app, "tenants", "create", "--slug", "taken", "--name", "Again", "--activity", "gas",
                  "--admin-email", "x@y.example.com", "--admin-password", "long-enough-pass")

    assert result.exit_code != 0 and "taken" in result.output


def test_list_suspend_and_resume(app, make_tenant, browser):
    make_tenant("one")

    listed = _run(app, "tenants", "list")
    suspended = _run(app, "tenants", "suspend", "one")
    page = browser("one").get("/login")
    resumed = _run(app, "tenants", "resume", "one")

    assert "one" in listed.output and "active" in listed.output
    assert suspended.exit_code == 0 and page.status_code == 503
    assert resumed.exit_code == 0 and browser("one").get("/login").status_code == 200


def test_suspend_unknown_tenant_is_an_error(app):
    result = _run(app, "tenants", "suspend", "ghost")

    assert result.exit_code != 0 and "ghost" in result.output


def test_create_operator(app, browser):
    result = _run(app, "tenants", "create-operator", "--email", "ops@platform.example.com",
                  "--password", "operator-password")

    assert result.exit_code == 0, result.output
    assert browser("localhost").login("ops@platform.example.com", "operator-password",
                                      area="/console").status_code == 302


def _stripe_keys(app, slug):
    from tenants.context import platform_scope
    with app.app_context(), platform_scope("test"):
        tenant = db.session.scalar(select(Tenant).where(Tenant.slug == slug))
        return tenant.stripe_secret_key, tenant.stripe_webhook_secret


def test_set_and_remove_stripe_keys(app, make_tenant):
    make_tenant("payer")

    set_ = _run(app, "tenants", "set-stripe", "payer", "--secret-key", "sk_test_abc", "--webhook-secret", "whsec_x")
    keys_set = _stripe_keys(app, "payer")
    removed = _run(app, "tenants", "set-stripe", "payer", "--remove")

    assert set_.exit_code == 0 and "Stripe Checkout" in set_.output
    assert keys_set == ("sk_test_abc", "whsec_x")
    assert removed.exit_code == 0 and _stripe_keys(app, "payer") == (None, None)


def test_stripe_keys_are_checked_and_nothing_changes_on_error(app, make_tenant):
    make_tenant("payer")

    publishable = _run(app, "tenants", "set-stripe", "payer", "--secret-key", "pk_test_abc",
                       "--webhook-secret", "whsec_x")
    half = _run(app, "tenants", "set-stripe", "payer", "--secret-key", "sk_test_abc")
    unknown = _run(app, "tenants", "set-stripe", "ghost", "--secret-key", "sk_test_abc", "--webhook-secret", "whsec_x")

    assert publishable.exit_code != 0 and "sk_live_" in publishable.output
    assert half.exit_code != 0 and "both" in half.output
    assert unknown.exit_code != 0 and "ghost" in unknown.output
    assert _stripe_keys(app, "payer") == (None, None)


def test_create_invites_the_first_administrator_by_default(app, browser, outbox):
    result = _run(app, "tenants", "create", "--slug", "lakeside", "--name", "Lakeside Gas", "--activity", "gas",
                  "--country", "DE", "--admin-email", "chefin@lakeside.example.com", "--admin-name", "Petra Klein")

    assert result.exit_code == 0, result.output
    assert "invited administrator chefin@lakeside.example.com" in result.output
    with app.app_context(), platform_scope("test: the new tenant"):
        tenant = db.session.scalar(select(Tenant).where(Tenant.slug == "lakeside"))
    # Currency, time zone and language follow from the country when not given.
    assert (tenant.country, tenant.currency, tenant.timezone, tenant.default_locale) == (
        "DE", "EUR", "Europe/Berlin", "de")
    [mail] = outbox()
    body = mail.get_body(("plain",)).get_content()
    assert mail["To"] == "chefin@lakeside.example.com" and "Guten Tag Petra Klein" in body
    link = re.search(r"http://lakeside\.localhost(/backoffice/invitation/\S+)", body).group(1)
    # No password works before the invitation is accepted.
    office = browser("lakeside")
    assert office.login("chefin@lakeside.example.com", "any-password-at-all", area="/backoffice").status_code == 200
    joined = office.submit(link, {"password": "petra-password-1", "confirm": "petra-password-1"})
    assert joined.status_code == 302 and office.get(link).status_code == 410  # used up
    office.client.delete_cookie("session", domain=office.host)
    office.login("chefin@lakeside.example.com", "petra-password-1", area="/backoffice")
    assert office.get("/backoffice/admin/").status_code == 200


def test_invite_admin_sends_a_new_link_to_an_administrator_who_has_not_joined(app, outbox):
    _run(app, "tenants", "create", "--slug", "lakeside", "--name", "Lakeside Gas", "--activity", "gas",
         "--admin-email", "boss@lakeside.example.com")

    again = _run(app, "tenants", "invite-admin", "lakeside", "--email", "boss@lakeside.example.com")
    unknown = _run(app, "tenants", "invite-admin", "ghost", "--email", "boss@lakeside.example.com")

    assert again.exit_code == 0, again.output
    assert len(outbox()) == 2
    first, second = (re.search(r"/backoffice/invitation/\S+", m.get_body(("plain",)).get_content()).group(0)
                     for m in outbox())
    assert first != second
    assert unknown.exit_code != 0 and "ghost" in unknown.output


def test_create_reports_every_field_at_fault(app):
    result = _run(app, "tenants", "create", "--slug", "Bad!", "--name", " ", "--activity", "gas", "--currency", "ZZZ",
                  "--admin-email", "nobody")

    assert result.exit_code != 0
    for words in ("slug:", "name: required", "currency: unknown ISO 4217 code 'ZZZ'",
                  "administrator e-mail: not an e-mail address"):
        assert words in result.output
