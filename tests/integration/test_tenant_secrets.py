"""Tenants' secrets are sealed at rest, and on PostgreSQL the application role reads another tenant's row only
through the host lookup (migration 0013)."""
from __future__ import annotations

import os

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import create_engine, select, text
from sqlalchemy.exc import DBAPIError

from domain.db import db, utcnow
from tenants import secrets, services
from tenants.context import platform_scope, tenant_scope
from tenants.models import Tenant
from tests.integration.test_migrations import scratch_urls  # noqa: F401  (fixture)
from tests.integration.test_stripe_webhooks import _checkout, shop, stripe_api  # noqa: F401  (fixtures)

on_postgresql = pytest.mark.skipif(
    "postgresql" not in os.environ.get("TEST_DATABASE_URL", ""),
    reason="row-level security exists only on PostgreSQL (set TEST_DATABASE_URL to run)",
)


def _stored(owner_engine, slug: str) -> tuple[str | None, str | None]:
    """The columns as the database holds them, read by the schema owner."""
    with owner_engine.connect() as conn:
        return tuple(conn.execute(text(
            "SELECT stripe_secret_key, stripe_webhook_secret FROM tenants WHERE slug = :slug"), {"slug": slug}).one())


@pytest.fixture
def app_engine(app):
    engine = create_engine(app.config["SQLALCHEMY_DATABASE_URI"])
    yield engine
    engine.dispose()


@pytest.fixture
def keyring():
    """Put the suite's keys back after a test that rotates them."""
    before = secrets._keyring
    yield
    secrets._keyring = before


def test_stripe_keys_are_stored_sealed_and_read_back_in_clear(app, owner_engine, make_tenant):
    make_tenant("payer")

    with app.app_context():
        services.set_stripe_keys(slug="payer", secret_key="sk_live_51Hclear", webhook_secret="whsec_clear")
    stored_key, stored_hook = _stored(owner_engine, "payer")
    with app.app_context(), platform_scope("test: read the keys"):
        tenant = db.session.scalar(db.select(Tenant).where(Tenant.slug == "payer"))
        read = (tenant.stripe_secret_key, tenant.stripe_webhook_secret)

    assert "sk_live_51Hclear" not in stored_key and "whsec_clear" not in stored_hook
    assert secrets.is_sealed(stored_key) and secrets.is_sealed(stored_hook)
    assert read == ("sk_live_51Hclear", "whsec_clear")


def test_a_checkout_is_created_with_the_opened_key(app, owner_engine, shop, stripe_api):  # noqa: F811
    a, _b, bills, portal = shop

    _checkout(portal, bills)

    assert stripe_api.checkout_requests()[-1]["headers"]["Authorization"] == "Bearer sk_test_alpha"
    assert "sk_test_alpha" not in _stored(owner_engine, a.slug)[0]


def test_a_sealed_secret_does_not_open_with_another_key(app, owner_engine, make_tenant, keyring):
    make_tenant("payer")
    with app.app_context():
        services.set_stripe_keys(slug="payer", secret_key="sk_test_abc", webhook_secret="whsec_abc")
    stored_key, _ = _stored(owner_engine, "payer")

    secrets.configure_secrets([Fernet.generate_key().decode()])

    with pytest.raises(secrets.SecretUnreadable):
        secrets.open_sealed(stored_key)


def test_key_rotation_new_key_first_then_reseal_then_old_key_dropped(app, owner_engine, make_tenant, keyring):
    make_tenant("payer")
    old_keys = app.config["SETTINGS"].secrets_keys
    with app.app_context():
        services.set_stripe_keys(slug="payer", secret_key="sk_test_rotate", webhook_secret="whsec_rotate")
    new_key = Fernet.generate_key().decode()

    secrets.configure_secrets([new_key, *old_keys])
    result = app.test_cli_runner().invoke(args=["tenants", "reseal-secrets"])
    secrets.configure_secrets([new_key])
    stored_key, stored_hook = _stored(owner_engine, "payer")

    assert result.exit_code == 0, result.output
    assert (secrets.open_sealed(stored_key), secrets.open_sealed(stored_hook)) == ("sk_test_rotate", "whsec_rotate")


@on_postgresql
def test_the_app_role_with_no_tenant_set_reads_no_tenant_row(app_engine, two_tenants):
    with app_engine.begin() as conn:
        conn.execute(text("SELECT set_config('app.tenant_id', '', true)"))
        rows = conn.execute(text("SELECT * FROM tenants")).all()
        secrets_seen = conn.execute(text("SELECT count(stripe_secret_key) FROM tenants")).scalar()

    assert rows == [] and secrets_seen == 0


@on_postgresql
def test_the_app_role_reads_only_its_own_tenant_row_and_cannot_write_another(app_engine, two_tenants):
    a, b = two_tenants
    with app_engine.begin() as conn:
        conn.execute(text("SELECT set_config('app.tenant_id', :t, true)"), {"t": str(a.tenant_id)})
        visible = conn.execute(text("SELECT slug FROM tenants ORDER BY slug")).scalars().all()
        changed = conn.execute(text("UPDATE tenants SET name = 'taken over' WHERE id = :b"),
                               {"b": b.tenant_id}).rowcount

    assert visible == ["alpha"] and changed == 0


@on_postgresql
def test_the_host_lookup_answers_one_row_for_one_host_and_nothing_else(app_engine, two_tenants):
    a, b = two_tenants
    with app_engine.begin() as conn:
        by_slug = conn.execute(text("SELECT id FROM tenant_for_host('bravo', NULL)")).scalars().all()
        unknown = conn.execute(text("SELECT id FROM tenant_for_host('nobody', NULL)")).scalars().all()
        no_host = conn.execute(text("SELECT id FROM tenant_for_host(NULL, NULL)")).scalars().all()
        after = conn.execute(text("SELECT count(*) FROM tenants")).scalar()

    assert by_slug == [b.tenant_id] and unknown == [] and no_host == [] and after == 0


@on_postgresql
def test_the_app_role_cannot_insert_a_tenant_outside_the_escape_hatch(app_engine):
    with pytest.raises(DBAPIError, match="row-level security"):
        with app_engine.begin() as conn:
            conn.execute(text("INSERT INTO tenants (slug, name, activities) VALUES ('rogue', 'Rogue', '[]')"))


def test_hosts_still_resolve_and_the_console_still_lists_every_tenant(app, two_tenants, browser):
    a, b = two_tenants
    with app.app_context():
        listed = [usage.tenant.slug for usage in services.list_tenants_with_usage(now=utcnow())]

    assert "Bravo Utility" in browser(b.slug).get("/login").get_data(as_text=True)
    assert listed == ["alpha", "bravo"]


def test_the_migration_seals_the_keys_already_stored_and_its_downgrade_opens_them(scratch_urls, tmp_path):  # noqa: F811
    from flask_migrate import downgrade, upgrade

    from app import create_app
    from app.settings import load_settings

    app_url, owner_url = scratch_urls
    scratch = create_app(load_settings({
        "APP_ENV": "test", "DATABASE_URL": app_url, "MIGRATION_DATABASE_URL": owner_url,
        "INSTANCE_DIR": str(tmp_path), "APP_DB_ROLE": os.environ.get("APP_DB_ROLE", "utility_app"),
    }))
    owner = create_engine(owner_url)
    select_keys = text("SELECT stripe_secret_key, stripe_webhook_secret FROM tenants WHERE slug = 'old'")

    with scratch.app_context():
        upgrade(revision="0012")
    with owner.begin() as conn:
        conn.execute(text("INSERT INTO tenants (slug, name, activities, created_at, stripe_secret_key, "
                          "stripe_webhook_secret) VALUES ('old', 'Old', '[]', '2026-11-01 00:00:00', "
                          "'sk_live_before', 'whsec_before')"))
    with scratch.app_context():
        upgrade(revision="0013")
    with owner.connect() as conn:
        sealed = tuple(conn.execute(select_keys).one())
    with scratch.app_context():
        downgrade(revision="0012")
    with owner.connect() as conn:
        opened = tuple(conn.execute(select_keys).one())
    owner.dispose()

    assert all(secrets.is_sealed(value) for value in sealed)
    assert tuple(secrets.open_sealed(value) for value in sealed) == ("sk_live_before", "whsec_before")
    assert opened == ("sk_live_before", "whsec_before")


def test_key_rotation_reseals_webhook_signing_secrets(app, owner_engine, make_tenant, keyring):
    from domain.webhooks.models import WebhookSubscription
    from tests.factories import make_webhook_subscription

    tenant = make_tenant("payer")
    old_keys = app.config["SETTINGS"].secrets_keys
    with app.app_context(), tenant_scope(tenant.id):
        make_webhook_subscription(secret="whsec_rotate_me")
        db.session.commit()
    new_key = Fernet.generate_key().decode()

    secrets.configure_secrets([new_key, *old_keys])
    result = app.test_cli_runner().invoke(args=["tenants", "reseal-secrets"])
    secrets.configure_secrets([new_key])
    with owner_engine.connect() as conn:
        sealed = conn.execute(select(WebhookSubscription.secret_sealed)).scalar_one()

    assert result.exit_code == 0, result.output
    assert secrets.open_sealed(sealed) == "whsec_rotate_me"
