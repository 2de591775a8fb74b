"""Composite keys: a child row can never point at another tenant's parent (both databases)."""
from __future__ import annotations

import pytest
from sqlalchemy import create_engine, insert, select
from sqlalchemy.exc import IntegrityError

from domain.contracts.models import Contract, CustomerAccount
from domain.db import Base, db


def test_child_cannot_reference_another_tenants_parent(app, two_tenants, owner_engine):
    a, b = two_tenants
    with owner_engine.connect() as conn:  # the owner: no ORM guard and no row-level security in the way
        b_account = conn.execute(
            select(CustomerAccount.__table__.c.id).where(CustomerAccount.__table__.c.tenant_id == b.tenant_id)
        ).scalar()
        a_contract = conn.execute(
            select(Contract.__table__).where(Contract.__table__.c.tenant_id == a.tenant_id)
        ).mappings().first()
        row = dict(a_contract)
        row.pop("id")
        row.update(contract_number="SNEAKY", account_id=b_account)
        conn.rollback()

        with pytest.raises(IntegrityError):
            with conn.begin():
                conn.execute(insert(Contract.__table__), [row])


def test_every_foreign_key_between_tenant_tables_includes_tenant_id():
    offenders = []
    for table in Base.metadata.tables.values():
        if "tenant_id" not in table.c:
            continue
        for fk in table.foreign_key_constraints:
            target = fk.referred_table
            if target.name == "tenants":
                continue
            if "tenant_id" in target.c and "tenant_id" not in [c.name for c in fk.columns]:
                offenders.append(f"{table.name}.{[c.name for c in fk.columns]}")

    assert offenders == []


def test_every_unique_constraint_and_index_of_tenant_tables_starts_with_tenant_id():
    offenders = []
    for table in Base.metadata.tables.values():
        if "tenant_id" not in table.c:
            continue
        for constraint in table.constraints:
            if constraint.__class__.__name__ == "UniqueConstraint":
                if [c.name for c in constraint.columns][0] != "tenant_id":
                    offenders.append(f"unique {constraint.name}")
        for index in table.indexes:
            if [c.name for c in index.columns][0] != "tenant_id":
                offenders.append(f"index {index.name}")

    assert offenders == []


def test_sqlite_enforces_foreign_keys_too(app):
    engine = create_engine(app.config["SQLALCHEMY_DATABASE_URI"])
    with app.app_context():
        from domain.db import install_sqlite_pragmas
        install_sqlite_pragmas()
        dialect = db.engine.dialect.name
    if dialect != "sqlite":
        pytest.skip("PostgreSQL always enforces foreign keys")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    engine.dispose()
