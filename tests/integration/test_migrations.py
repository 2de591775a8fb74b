"""Migrations build the whole schema from empty, match the models exactly, and downgrade to nothing."""
from __future__ import annotations

import os
import uuid

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import create_engine, inspect, select, text
from sqlalchemy.engine import make_url

from app import create_app
from app.settings import load_settings
from domain.db import Base
from migrations.env_helpers import include_object, render_item  # noqa: F401  (the env's type rendering must import cleanly)


@pytest.fixture
def scratch_urls(app, tmp_path):
    """(app role URL, owner URL) of an empty database of the same kind as the suite's."""
    owner_url = make_url(app.config["MIGRATION_DATABASE_URL"])
    if owner_url.get_backend_name() != "postgresql":
        path = tmp_path / "scratch.db"
        yield f"sqlite:///{path}", f"sqlite:///{path}"
        return
    name = f"scratch_{uuid.uuid4().hex[:10]}"
    admin = create_engine(owner_url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name}"))
    app_url = make_url(app.config["SQLALCHEMY_DATABASE_URI"]).set(database=name)
    yield app_url.render_as_string(hide_password=False), owner_url.set(database=name).render_as_string(
        hide_password=False)
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
    admin.dispose()


def test_upgrade_from_empty_matches_models_then_downgrades_to_nothing(scratch_urls, tmp_path):
    app_url, owner_url = scratch_urls
    scratch = create_app(load_settings({
        "APP_ENV": "test", "DATABASE_URL": app_url, "MIGRATION_DATABASE_URL": owner_url,
        "INSTANCE_DIR": str(tmp_path), "APP_DB_ROLE": os.environ.get("APP_DB_ROLE", "utility_app"),
    }))
    owner = create_engine(owner_url)

    with scratch.app_context():
        upgrade()
    with owner.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(
            conn, opts={"compare_type": True, "include_object": include_object}), Base.metadata)
        tables_after_upgrade = set(inspect(conn).get_table_names())
    with scratch.app_context():
        downgrade(revision="base")
    with owner.connect() as conn:
        tables_after_downgrade = set(inspect(conn).get_table_names())
    owner.dispose()

    assert diffs == []
    assert set(Base.metadata.tables) <= tables_after_upgrade
    assert tables_after_downgrade <= {"alembic_version"}


def test_request_counters_start_after_the_numbers_already_given_in_either_form(scratch_urls, tmp_path):
    from domain.db import db, utcnow
    from domain.requests.models import RequestNumberSequence
    from domain.requests.numbering import reserve_reference
    from tenants.context import tenant_scope
    from tenants.services import create_tenant
    from tests.factories import CustomerAccountFactory, ServiceRequestFactory

    app_url, owner_url = scratch_urls
    scratch = create_app(load_settings({
        "APP_ENV": "test", "DATABASE_URL": app_url, "MIGRATION_DATABASE_URL": owner_url,
        "INSTANCE_DIR": str(tmp_path), "APP_DB_ROLE": os.environ.get("APP_DB_ROLE", "utility_app"),
    }))
    with scratch.app_context():
        upgrade()
        tenant_id = create_tenant(slug="legacy", name="Legacy Water", activities=["water"], default_locale="en",
                                  currency="EUR", timezone="Europe/Paris", admin_email="admin@legacy.test",
                                  admin_name="Admin", admin_password="a-long-password-2026", now=utcnow()).id
        with tenant_scope(tenant_id):
            account = CustomerAccountFactory()
            for reference in ("R2026-000003", "SR-2026-00009", "SR-2025-00002", "R2025-000001", "PHONE-1"):
                ServiceRequestFactory(account_id=account.id, reference=reference)
            db.session.commit()
        downgrade(revision="0013")  # as before the counters existed
        upgrade()
        with tenant_scope(tenant_id):
            counters = {year: value for year, value in db.session.execute(
                select(RequestNumberSequence.year, RequestNumberSequence.next_value)).all()}
            following = reserve_reference(tenant_id=tenant_id, year=2026)
            db.session.rollback()
        db.session.remove()

    assert counters == {2025: 3, 2026: 10}
    assert following == "R2026-000010"
