"""PostgreSQL's row-level security, checked as the application role with raw SQL (no ORM guard)."""
from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import DBAPIError

pytestmark = pytest.mark.skipif(
    "postgresql" not in __import__("os").environ.get("TEST_DATABASE_URL", ""),
    reason="row-level security exists only on PostgreSQL (set TEST_DATABASE_URL to run)",
)


@pytest.fixture
def app_engine(app):
    engine = create_engine(app.config["SQLALCHEMY_DATABASE_URI"])
    yield engine
    engine.dispose()


def _as_tenant(conn, tenant_id):
    value = "" if tenant_id is None else str(tenant_id)
    conn.execute(text("SELECT set_config('app.tenant_id', :t, true)"), {"t": value})


def test_connects_as_a_role_without_privileges_over_rls(app_engine):
    with app_engine.connect() as conn:
        row = conn.execute(text(
            "SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user"
        )).one()
        owned = conn.execute(text(
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tableowner = current_user"
        )).scalar()

    assert row == (False, False)
    assert owned == 0


def test_raw_select_with_no_tenant_set_returns_nothing(app_engine, two_tenants):
    with app_engine.begin() as conn:
        _as_tenant(conn, None)
        accounts = conn.execute(text("SELECT count(*) FROM customer_accounts")).scalar()
        users = conn.execute(text("SELECT count(*) FROM customer_users")).scalar()

    assert accounts == 0 and users == 0


def test_raw_select_with_tenant_a_set_returns_only_a(app_engine, two_tenants):
    a, b = two_tenants
    with app_engine.begin() as conn:
        _as_tenant(conn, a.tenant_id)
        numbers = conn.execute(text("SELECT account_number, tenant_id FROM customer_accounts")).all()

    assert numbers == [(a.account_number, a.tenant_id)]


def test_setting_is_transaction_local(app_engine, two_tenants):
    a, _ = two_tenants
    with app_engine.connect() as conn:
        with conn.begin():
            _as_tenant(conn, a.tenant_id)
            inside = conn.execute(text("SELECT count(*) FROM customer_accounts")).scalar()
        with conn.begin():
            after = conn.execute(text("SELECT count(*) FROM customer_accounts")).scalar()

    assert inside == 1 and after == 0


def test_insert_for_tenant_b_while_a_is_set_fails(app_engine, two_tenants):
    a, b = two_tenants

    with pytest.raises(DBAPIError, match="row-level security"):
        with app_engine.begin() as conn:
            _as_tenant(conn, a.tenant_id)
            conn.execute(text(
                "INSERT INTO work_groups (tenant_id, code, name) VALUES (:t, 'sneaky', 'Sneaky')"
            ), {"t": b.tenant_id})


def test_update_cannot_move_a_row_to_another_tenant(app_engine, two_tenants):
    a, b = two_tenants

    with pytest.raises(DBAPIError, match="row-level security"):
        with app_engine.begin() as conn:
            _as_tenant(conn, a.tenant_id)
            conn.execute(text("UPDATE work_groups SET tenant_id = :b"), {"b": b.tenant_id})


def test_update_and_delete_of_other_tenant_rows_touch_nothing(app_engine, two_tenants):
    a, b = two_tenants
    with app_engine.begin() as conn:
        _as_tenant(conn, a.tenant_id)
        updated = conn.execute(text("UPDATE customer_accounts SET paperless = true WHERE tenant_id = :b"),
                               {"b": b.tenant_id}).rowcount
        deleted = conn.execute(text("DELETE FROM audit_events WHERE tenant_id = :b"), {"b": b.tenant_id}).rowcount

    assert updated == 0 and deleted == 0


def test_every_tenant_table_has_rls_enabled_and_forced(app_engine):
    with app_engine.connect() as conn:
        rows = conn.execute(text("""
            SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity,
                   (SELECT count(*) FROM pg_policy p WHERE p.polrelid = c.oid) AS policies
            FROM pg_class c
            JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = 'public' AND c.relkind = 'r'
              AND EXISTS (SELECT 1 FROM pg_attribute a
                          WHERE a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped)
            ORDER BY c.relname
        """)).all()

    unprotected = [r.relname for r in rows if not (r.relrowsecurity and r.relforcerowsecurity and r.policies)]
    assert len(rows) >= 25
    assert unprotected == []


def test_policies_check_writes_with_the_same_expression(app_engine):
    with app_engine.connect() as conn:
        rows = conn.execute(text("""
            SELECT polrelid::regclass::text, pg_get_expr(polqual, polrelid), pg_get_expr(polwithcheck, polrelid)
            FROM pg_policy
        """)).all()

    assert rows
    assert all(using == check and "app.tenant_id" in using for _t, using, check in rows)
