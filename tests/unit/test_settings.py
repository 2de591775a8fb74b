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
