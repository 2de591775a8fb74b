"""Settings read once from the environment: typed, with development defaults, strict in production."""
from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent


class SettingsError(RuntimeError):
    """A setting is missing or invalid; the process must not start."""


def _bool(value: str | None, default: bool) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _int(name: str, value: str | None, default: int) -> int:
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError as exc:
        raise SettingsError(f"{name} must be an integer, got {value!r}") from exc


@dataclass(frozen=True)
class Settings:
    env: str
    secret_key: str
    database_url: str
    migration_database_url: str
    redis_url: str | None
    platform_domain: str
    mail_url: str | None
    instance_dir: Path
    files_dir: Path
    outbox_dir: Path
    https: bool
    rate_limit_login: str
    rate_limit_login_account: str
    session_hours: int
    app_db_role: str
    extra: dict = field(default_factory=dict)
    # Stripe's API host; the tests point the real `stripe` library at a local fake.
    stripe_api_base: str = "https://api.stripe.com"
    database_pre_ping: bool = False

    @property
    def is_production(self) -> bool:
        return self.env == "production"

    @property
    def uses_postgresql(self) -> bool:
        return self.database_url.startswith("postgresql")


def _normalise_db_url(url: str) -> str:
    # psycopg 3 is the driver; accept the plain scheme people paste from their provider.
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def load_settings(environ: dict[str, str] | None = None) -> Settings:
    env = dict(os.environ if environ is None else environ)
    app_env = env.get("APP_ENV", "development").strip().lower()
    if app_env not in {"development", "test", "production"}:
        raise SettingsError(f"APP_ENV must be development, test or production, got {app_env!r}")
    instance_dir = Path(env.get("INSTANCE_DIR") or BASE_DIR / "instance")

    secret_key = env.get("SECRET_KEY", "")
    if not secret_key:
        if app_env == "production":
            raise SettingsError("SECRET_KEY is required in production")
        secret_key = "dev-" + secrets.token_hex(16) if app_env == "test" else "dev-insecure-key-change-me"
    elif app_env == "production" and len(secret_key) < 32:
        raise SettingsError("SECRET_KEY must be at least 32 characters in production")

    database_url = env.get("DATABASE_URL") or f"sqlite:///{instance_dir / 'utility.db'}"
    database_url = _normalise_db_url(database_url)
    if app_env == "production" and database_url.startswith("sqlite"):
        # Allowed (embedded demo), but a real deployment sets DATABASE_URL.
        pass
    migration_url = _normalise_db_url(env.get("MIGRATION_DATABASE_URL") or database_url)

    return Settings(
        env=app_env,
        secret_key=secret_key,
        database_url=database_url,
        migration_database_url=migration_url,
        redis_url=env.get("REDIS_URL") or None,
        platform_domain=(env.get("PLATFORM_DOMAIN") or "localhost").strip().lower(),
        mail_url=env.get("MAIL_URL") or None,
        instance_dir=instance_dir,
        files_dir=Path(env.get("FILES_DIR") or instance_dir / "files"),
        outbox_dir=Path(env.get("OUTBOX_DIR") or instance_dir / "outbox"),
        https=_bool(env.get("HTTPS"), app_env == "production"),
        rate_limit_login=env.get("RATE_LIMIT_LOGIN") or "20 per minute",
        rate_limit_login_account=env.get("RATE_LIMIT_LOGIN_ACCOUNT") or "5 per minute",
        session_hours=_int("SESSION_HOURS", env.get("SESSION_HOURS"), 12),
        app_db_role=env.get("APP_DB_ROLE") or "utility_app",
        stripe_api_base=(env.get("STRIPE_API_BASE") or "https://api.stripe.com").rstrip("/"),
        database_pre_ping=_bool(env.get("DATABASE_PRE_PING"), False),
    )
