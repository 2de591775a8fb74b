"""Alembic environment: migrations run as the schema owner (MIGRATION_DATABASE_URL), never as the app role."""
from __future__ import annotations

import logging
from logging.config import fileConfig

from alembic import context
from flask import current_app
from sqlalchemy import create_engine, pool

from domain.db import Base
from migrations.env_helpers import include_object, render_item

config = context.config
if config.config_file_name is not None:
    fileConfig(config.config_file_name)
log = logging.getLogger("alembic.env")

import domain.models  # noqa: E402,F401  (the whole schema)

target_metadata = Base.metadata


def _url() -> str:
    return current_app.config["MIGRATION_DATABASE_URL"]


def _options(connection=None) -> dict:
    return dict(
        target_metadata=target_metadata,
        compare_type=True,
        render_item=render_item,
        include_object=include_object,
        render_as_batch=True,  # SQLite needs batch mode to alter tables
        **({"connection": connection} if connection is not None else {}),
    )


def run_migrations_offline() -> None:
    context.configure(url=_url(), literal_binds=True, **_options())
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    def process_revision_directives(context_, revision, directives):
        if getattr(config.cmd_opts, "autogenerate", False):
            script = directives[0]
            if script.upgrade_ops.is_empty():
                directives[:] = []
                log.info("No changes in schema detected.")

    engine = create_engine(_url(), poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(process_revision_directives=process_revision_directives, **_options(connection))
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
