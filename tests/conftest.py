"""Test set-up: one migrated database per run (PostgreSQL as the app role, or SQLite), emptied after each test.

Which database: TEST_DATABASE_URL (the application role's URL) and
TEST_MIGRATION_DATABASE_URL (the owner's) when set, as in CI on PostgreSQL; otherwise a
fresh SQLite file. REDIS_URL, when set, puts jobs and rate limits on real Redis.
"""
from __future__ import annotations

import os
import re
import warnings
from pathlib import Path

import pytest
from sqlalchemy import create_engine, exc as sa_exc, text

from app import create_app
from app.settings import load_settings

warnings.filterwarnings("ignore", category=sa_exc.SAWarning, message=".*Decimal objects natively.*")

TEST_PASSWORD = "correct-horse-battery"


def pytest_configure(config):
    """Pin the clock before anything is imported or collected: no test sees the real date (tests/clock.py)."""
    import time_machine

    from tests.clock import PINNED_AT

    from tests.clock import track

    config._pinned_clock = time_machine.travel(PINNED_AT, tick=True)
    track(config._pinned_clock.start())


def pytest_unconfigure(config):
    traveller = getattr(config, "_pinned_clock", None)
    if traveller is not None:
        traveller.stop()
    # Timers still waiting (the in-memory rate-limit storage re-arms one every few milliseconds) are not daemons:
    # Python joins them on exit. Under CI's libfaketime their timed waits may never end, so end them here.
    import threading

    for thread in threading.enumerate():
        if isinstance(thread, threading.Timer):
            thread.cancel()


def pytest_report_header(config):
    from tests.clock import PINNED_AT

    return f"clock pinned at {PINNED_AT.isoformat()} (tests/clock.py); the machine's date plays no part"


class _Clock:
    """Moves the tests' clock for one test; back to the pinned clock afterwards."""

    def __init__(self):
        self._travellers = []

    def move_to(self, moment, tick: bool = True) -> None:
        import time_machine

        from tests.clock import track

        traveller = time_machine.travel(moment, tick=tick)
        moving = traveller.start()
        track(moving)
        self._travellers.append((traveller, moving))

    def stop(self) -> None:
        from tests.clock import untrack

        while self._travellers:
            traveller, moving = self._travellers.pop()
            untrack(moving)
            traveller.stop()


@pytest.fixture
def clock():
    moved = _Clock()
    yield moved
    moved.stop()


def _database_urls(tmp_root: Path) -> tuple[str, str]:
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        return url, os.environ.get("TEST_MIGRATION_DATABASE_URL") or url
    path = tmp_root / "test.db"
    return f"sqlite:///{path}", f"sqlite:///{path}"


@pytest.fixture(scope="session")
def app(tmp_path_factory):
    root = tmp_path_factory.mktemp("instance")
    db_url, owner_url = _database_urls(root)
    environ = {
        "APP_ENV": "test",
        "SECRET_KEY": "test-secret-key-" + "x" * 32,
        "DATABASE_URL": db_url,
        "MIGRATION_DATABASE_URL": owner_url,
        "INSTANCE_DIR": str(root),
        "PLATFORM_DOMAIN": "localhost",
        "RATE_LIMIT_LOGIN": "30 per minute",
        "RATE_LIMIT_LOGIN_ACCOUNT": "5 per minute",
    }
    if os.environ.get("REDIS_URL"):
        environ["REDIS_URL"] = os.environ["REDIS_URL"]
    if os.environ.get("APP_DB_ROLE"):
        environ["APP_DB_ROLE"] = os.environ["APP_DB_ROLE"]
    application = create_app(load_settings(environ), SERVER_NAME=None)
    with application.app_context():
        from flask_migrate import upgrade

        upgrade()
    yield application


@pytest.fixture(autouse=True)
def _push_request_context():
    """Replace pytest-flask's: a request context held open for the whole test would make every
    test-client request share one app context (and `g`), which real requests never do."""
    yield


@pytest.fixture(autouse=True)
def _the_apps_file_storage(app):
    """Jobs find files through the process-wide storage (domain/storage.py); a test that builds a second app
    (migrations, settings) points it at that app's folder. Each test starts with the suite's app's storage."""
    import domain.storage as files

    files._storage = app.extensions["file_storage"]
    yield


@pytest.fixture(scope="session")
def owner_engine(app):
    engine = create_engine(app.config["MIGRATION_DATABASE_URL"])
    yield engine
    engine.dispose()


def _tables(app) -> list[str]:
    from domain.db import Base

    return [t.name for t in reversed(Base.metadata.sorted_tables)]


@pytest.fixture(autouse=True)
def _clean_database(request, app, owner_engine):
    yield
    from app.extensions import limiter
    from domain.db import db

    with app.app_context():
        db.session.remove()
    tables = _tables(app)
    with owner_engine.begin() as conn:
        # DELETE in child-to-parent order beats TRUNCATE on tables this small; bills point at bills, plans at plans.
        conn.execute(text("UPDATE bills SET corrects_bill_id = NULL WHERE corrects_bill_id IS NOT NULL"))
        conn.execute(text("UPDATE down_payment_plans SET previous_plan_id = NULL WHERE previous_plan_id IS NOT NULL"))
        for table in tables:
            conn.execute(text(f"DELETE FROM {table}"))
    with app.app_context():
        limiter.reset()
    from tenants.resolution import forget_cached_tenants
    forget_cached_tenants()  # ids are reused on SQLite once rows are deleted


@pytest.fixture
def ctx(app):
    """An app context for service and integration tests."""
    with app.app_context():
        yield app
        from domain.db import db

        db.session.rollback()
        db.session.remove()


@pytest.fixture
def make_tenant(app):
    """Create a tenant with its administrator; returns the Tenant."""
    from domain.db import utcnow
    from tenants.services import create_tenant

    def _make(slug: str, activities=("electricity", "gas"), live: bool = True, **kwargs):
        """`live=False`: a utility whose portal has not opened yet (the go-live switch, tenants/go_live.py)."""
        from sqlalchemy import select

        from domain.db import db
        from domain.identity.models import StaffUser
        from tenants.context import tenant_scope
        from tests.factories import StaffSecondFactorFactory

        with app.app_context():
            tenant = create_tenant(
                slug=slug, name=kwargs.pop("name", slug.title() + " Utility"), activities=list(activities),
                default_locale=kwargs.pop("default_locale", "en"), currency=kwargs.pop("currency", "EUR"),
                timezone=kwargs.pop("timezone", "Europe/Paris"), admin_email=f"admin@{slug}.test",
                admin_name="Admin", admin_password=TEST_PASSWORD, now=utcnow(), **kwargs,
            )
            # An administrator must have a second factor: this one is enrolled with the tests' TOTP secret.
            with tenant_scope(tenant.id):
                admin = db.session.scalar(select(StaffUser).where(StaffUser.email == f"admin@{slug}.test"))
                StaffSecondFactorFactory(user=admin)
                db.session.commit()
            if live:
                from tests.factories import make_live
                make_live(tenant)
            return tenant

    return _make


@pytest.fixture
def two_tenants(app, make_tenant):
    """Tenants A and B, each with one customer (account, point of delivery, meter) and staff of every role."""
    from tests.factories import populate_tenant

    a = make_tenant("alpha")
    b = make_tenant("bravo")
    with app.app_context():
        data_a = populate_tenant(a)
        data_b = populate_tenant(b)
    return data_a, data_b


def host(tenant_or_slug) -> str:
    slug = tenant_or_slug if isinstance(tenant_or_slug, str) else tenant_or_slug.slug
    return f"{slug}.localhost"


_CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"')


class Browser:
    """The test client pinned to one host, reading CSRF tokens from forms like a browser would."""

    def __init__(self, client, host_name: str):
        self.client = client
        self.host = host_name
        self.base_url = f"http://{host_name}"

    def get(self, path: str, **kwargs):
        return self.client.get(path, base_url=self.base_url, **kwargs)

    def post(self, path: str, data: dict | None = None, **kwargs):
        return self.client.post(path, base_url=self.base_url, data=data or {}, **kwargs)

    def csrf(self, path: str) -> str:
        page = self.get(path)
        match = _CSRF.search(page.get_data(as_text=True))
        assert match, f"no CSRF token on {path} ({page.status_code})"
        return match.group(1) or match.group(2)

    def submit(self, form_path: str, data: dict, action: str | None = None, **kwargs):
        """GET the form page for its token, then POST the data (to `action` or the same path)."""
        token = self.csrf(form_path)
        return self.post(action or form_path, data={**data, "csrf_token": token}, **kwargs)

    def login(self, email: str, password: str = TEST_PASSWORD, area: str = ""):
        """Sign in through the form; staff and operators with a second factor type their app's code too
        (tests/two_step.py), so the answer is the sign-in's redirect as for anyone else."""
        from tests.two_step import complete_sign_in

        response = self.submit(f"{area}/login", {"email": email, "password": password})
        return complete_sign_in(self, response, email=email, area=area)

    def cookie(self, name: str = "session"):
        found = self.client.get_cookie(name, domain=self.host)
        return found.value if found else None


@pytest.fixture
def browser(client):
    """browser("alpha") -> a Browser on alpha.localhost sharing the client's cookie jar."""
    return lambda name: Browser(client, name if "." in name or name == "localhost" else host(name))


@pytest.fixture
def outbox(app, monkeypatch):
    """The mails written to the outbox folder, parsed.

    Mail is sent by a job of the `mail` queue (app/messages.py): a test reading the outbox runs its jobs in-process,
    as the embedded default does, also when REDIS_URL is set (no worker reads the queue during a test)."""
    import email
    from email import policy

    monkeypatch.setitem(app.config, "REDIS_URL", None)

    folder = Path(app.config["OUTBOX_DIR"])

    def _read():
        if not folder.exists():
            return []
        paths = sorted(folder.rglob("*.eml"), key=lambda p: p.stat().st_mtime)
        return [email.message_from_bytes(p.read_bytes(), policy=policy.default) for p in paths]

    def _clear():
        if folder.exists():
            for path in folder.rglob("*.eml"):
                path.unlink()

    _clear()
    yield _read
    _clear()
