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
    # How many proxies in front of the app append to X-Forwarded-For/-Proto (werkzeug's ProxyFix counts): only
    # what they added is believed. 0: the headers are ignored and the client is the TCP peer.
    proxy_hops: int = 0
    # Whether those proxies also set (overwrite) X-Forwarded-Host; off, the Host header alone names the tenant.
    proxy_forwards_host: bool = False
    # Fernet keys (urlsafe base64, 32 bytes) sealing tenant secrets at rest; the first seals, every one opens.
    secrets_keys: tuple[str, ...] = ()
    # Recipients a campaign's lane claims, sends and records per transaction (domain/campaigns/sending.py): at most
    # this many messages go twice when a worker is killed mid-batch.
    campaign_batch_size: int = 200
    # Webhooks (domain/webhooks/transport.py): whether subscribers' URLs may reach loopback, private, link-local...
    # addresses (a receiver on the same host or network; never on a shared platform), and plain http URLs.
    webhooks_allow_private: bool = False
    webhooks_allow_http: bool = False

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
    if app_env == "production" and not database_url.startswith("postgresql"):
        # SQLite has no row-level security, no concurrent writers and no server: it is the embedded demo only.
        raise SettingsError("production runs on PostgreSQL: set DATABASE_URL=postgresql://… "
                            f"(got {database_url.split(':', 1)[0]!r}; SQLite is for development and tests)")
    proxy_hops = _proxy_hops(env.get("PROXY_HOPS"), app_env)
    secrets_keys = _secrets_keys(env.get("SECRETS_KEY"), app_env)
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
        proxy_hops=proxy_hops,
        proxy_forwards_host=_bool(env.get("PROXY_FORWARDS_HOST"), False),
        secrets_keys=secrets_keys,
        campaign_batch_size=max(1, _int("CAMPAIGN_BATCH_SIZE", env.get("CAMPAIGN_BATCH_SIZE"), 200)),
        webhooks_allow_private=_bool(env.get("WEBHOOKS_ALLOW_PRIVATE"), False),
        webhooks_allow_http=_bool(env.get("WEBHOOKS_ALLOW_HTTP"), app_env == "development"),
    )


def _proxy_hops(value: str | None, app_env: str) -> int:
    """Production must say how many proxies it sits behind: guessing wrong either lets any client choose its
    IP address (and beat the per-IP sign-in limits) or makes every client look like the proxy."""
    if value is None or value.strip() == "":
        if app_env == "production":
            raise SettingsError("PROXY_HOPS is required in production: the number of proxies in front of the app "
                                "that set X-Forwarded-For (1 behind one TLS-terminating proxy, 0 if none)")
        return 0
    hops = _int("PROXY_HOPS", value, 0)
    if not 0 <= hops <= 5:
        raise SettingsError(f"PROXY_HOPS must be between 0 and 5, got {hops}")
    return hops


# Development and tests only: a fixed key, so a development database stays readable from one start to the next.
DEV_SECRETS_KEY = "ZGV2LW9ubHktc2VjcmV0cy1rZXktbm90LWZvci11c2U="


def _secrets_keys(value: str | None, app_env: str) -> tuple[str, ...]:
    """SECRETS_KEY: one Fernet key, or several separated by commas (the first seals, every one opens): a new key
    goes first, `flask tenants reseal-secrets` rewrites every secret with it, then the old key is dropped."""
    keys = tuple(k.strip() for k in (value or "").split(",") if k.strip())
    if not keys:
        if app_env == "production":
            raise SettingsError("SECRETS_KEY is required in production: a Fernet key that seals tenants' secrets "
                                "(python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key()"
                                ".decode())')")
        return (DEV_SECRETS_KEY,)
    from cryptography.fernet import Fernet

    for index, key in enumerate(keys):
        try:
            Fernet(key)
        except (ValueError, TypeError) as exc:
            raise SettingsError(f"SECRETS_KEY: key {index + 1} is not a Fernet key (32 bytes, urlsafe base64)") from exc
    if app_env == "production" and DEV_SECRETS_KEY in keys:
        raise SettingsError("SECRETS_KEY: the development key cannot be used in production")
    return keys
