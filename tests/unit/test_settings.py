import pytest

from app.settings import SettingsError, load_settings


def test_development_defaults_just_work():
    settings = load_settings({})

    assert settings.env == "development"
    assert settings.database_url.startswith("sqlite:///")
    assert settings.redis_url is None and settings.mail_url is None
    assert settings.platform_domain == "localhost"


def test_production_fails_fast_without_a_secret():
    with pytest.raises(SettingsError, match="SECRET_KEY"):
        load_settings({"APP_ENV": "production"})


def test_production_refuses_a_short_secret():
    with pytest.raises(SettingsError, match="32"):
        load_settings({"APP_ENV": "production", "SECRET_KEY": "short"})


def test_postgres_urls_use_psycopg3():
    settings = load_settings({"DATABASE_URL": "postgres://u@h/db"})

    assert settings.database_url == "postgresql+psycopg://u@h/db"
    assert settings.migration_database_url == "postgresql+psycopg://u@h/db"


def test_bad_values_are_reported_by_name():
    with pytest.raises(SettingsError, match="SESSION_HOURS"):
        load_settings({"SESSION_HOURS": "twelve"})
    with pytest.raises(SettingsError, match="APP_ENV"):
        load_settings({"APP_ENV": "staging"})


PRODUCTION = {"APP_ENV": "production", "SECRET_KEY": "s" * 40, "DATABASE_URL": "postgresql://app@db/utility",
              "PROXY_HOPS": "1", "SECRETS_KEY": "q2Yh8j0yG7yS1m8o3m4uM2F0ZlV5m4Zc1oJXo4kH0xk="}


def test_a_complete_production_configuration_loads():
    settings = load_settings(PRODUCTION)

    assert settings.is_production and settings.uses_postgresql
    assert settings.proxy_hops == 1 and settings.proxy_forwards_host is False
    assert settings.secrets_keys == (PRODUCTION["SECRETS_KEY"],)


@pytest.mark.parametrize("url", ["sqlite:////srv/utility.db", "sqlite://", ""])
def test_production_refuses_sqlite(url):
    environ = {**PRODUCTION, "DATABASE_URL": url}

    with pytest.raises(SettingsError, match="production runs on PostgreSQL"):
        load_settings(environ)


def test_production_refuses_to_start_on_sqlite(tmp_path):
    import os
    import subprocess
    import sys
    from pathlib import Path

    environ = {**os.environ, **PRODUCTION, "DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}",
               "INSTANCE_DIR": str(tmp_path)}

    started = subprocess.run([sys.executable, "-c", "import wsgi"], cwd=Path(__file__).resolve().parents[2],
                             env=environ, capture_output=True, text=True, timeout=120)

    assert started.returncode != 0
    assert "SettingsError: production runs on PostgreSQL" in started.stderr


def test_production_must_say_how_many_proxies_are_in_front():
    environ = {k: v for k, v in PRODUCTION.items() if k != "PROXY_HOPS"}

    with pytest.raises(SettingsError, match="PROXY_HOPS is required in production"):
        load_settings(environ)
    assert load_settings({**environ, "PROXY_HOPS": "0"}).proxy_hops == 0
    with pytest.raises(SettingsError, match="PROXY_HOPS"):
        load_settings({**environ, "PROXY_HOPS": "-1"})


def test_forwarded_headers_are_ignored_by_default_outside_production():
    for env in ("development", "test"):
        settings = load_settings({"APP_ENV": env})

        assert settings.proxy_hops == 0 and settings.proxy_forwards_host is False


def test_production_needs_its_own_key_for_tenant_secrets():
    from app.settings import DEV_SECRETS_KEY

    without = {k: v for k, v in PRODUCTION.items() if k != "SECRETS_KEY"}

    with pytest.raises(SettingsError, match="SECRETS_KEY is required in production"):
        load_settings(without)
    with pytest.raises(SettingsError, match="development key"):
        load_settings({**without, "SECRETS_KEY": DEV_SECRETS_KEY})
    with pytest.raises(SettingsError, match="not a Fernet key"):
        load_settings({**without, "SECRETS_KEY": "too-short"})
    assert load_settings({}).secrets_keys == (DEV_SECRETS_KEY,)


def test_several_secrets_keys_rotate_first_one_seals():
    keys = "q2Yh8j0yG7yS1m8o3m4uM2F0ZlV5m4Zc1oJXo4kH0xk=, ZGV2LW9ubHktc2VjcmV0cy1rZXktbm90LWZvci11c2U="

    assert load_settings({"SECRETS_KEY": keys}).secrets_keys == (
        "q2Yh8j0yG7yS1m8o3m4uM2F0ZlV5m4Zc1oJXo4kH0xk=", "ZGV2LW9ubHktc2VjcmV0cy1rZXktbm90LWZvci11c2U=")


def test_webhooks_reach_only_public_https_addresses_unless_allowed():
    strict = load_settings({"APP_ENV": "test"})
    development = load_settings({"APP_ENV": "development"})
    allowed = load_settings({"APP_ENV": "test", "WEBHOOKS_ALLOW_PRIVATE": "1", "WEBHOOKS_ALLOW_HTTP": "yes"})

    assert (strict.webhooks_allow_private, strict.webhooks_allow_http) == (False, False)
    assert (development.webhooks_allow_private, development.webhooks_allow_http) == (False, True)
    assert (allowed.webhooks_allow_private, allowed.webhooks_allow_http) == (True, True)
