"""The ORM guard: tenant filter on every query, stamping and refusal on writes, fail closed."""
from __future__ import annotations

import pytest
from sqlalchemy import delete, func, select, update

from domain.contracts.models import CustomerAccount
from domain.db import db
from domain.parties.models import Party
from domain.tasks.models import WorkGroup
from tenants.context import NoTenantContext, TenantMismatch, platform_scope, tenant_scope
from tenants.models import Tenant


def test_query_on_tenant_data_with_no_tenant_raises(ctx, two_tenants):
    with pytest.raises(NoTenantContext):
        db.session.scalars(select(CustomerAccount)).all()


def test_count_and_column_queries_with_no_tenant_raise_too(ctx, two_tenants):
    with pytest.raises(NoTenantContext):
        db.session.scalar(select(func.count(CustomerAccount.id)))
    with pytest.raises(NoTenantContext):
        db.session.scalars(select(Party.last_name)).all()


def test_platform_tables_need_no_tenant(ctx, two_tenants):
    visible = db.session.scalars(select(Tenant)).all()  # no NoTenantContext: `tenants` is not tenant data
    with platform_scope("test: every tenant"):
        listed = db.session.scalars(select(Tenant)).all()

    # On PostgreSQL the `tenants` table itself is under row-level security (migration 0013): with no tenant set,
    # only the platform's escape hatch lists it.
    assert len(visible) == (0 if db.engine.dialect.name == "postgresql" else 2)
    assert len(listed) == 2


def test_queries_see_only_the_current_tenant(ctx, two_tenants):
    a, b = two_tenants

    with tenant_scope(a.tenant_id):
        numbers = db.session.scalars(select(CustomerAccount.account_number)).all()
        by_b_number = db.session.scalar(
            select(CustomerAccount).where(CustomerAccount.account_number == b.account_number)
        )

    assert numbers == [a.account_number]
    assert by_b_number is None


def test_relationship_loads_are_filtered(ctx, two_tenants):
    a, _ = two_tenants
    with tenant_scope(a.tenant_id):
        account = db.session.scalar(select(CustomerAccount))
        db.session.expire_all()

        holder = account.holder
        contracts = account.contracts

    assert holder.tenant_id == a.tenant_id
    assert contracts and all(c.tenant_id == a.tenant_id for c in contracts)


def test_new_rows_are_stamped_with_the_current_tenant(ctx, two_tenants):
    a, _ = two_tenants
    with tenant_scope(a.tenant_id):
        group = WorkGroup(code="stamped", name="Stamped")
        db.session.add(group)
        db.session.commit()

    assert group.tenant_id == a.tenant_id


def test_a_row_of_another_tenant_is_refused(ctx, two_tenants):
    a, b = two_tenants
    with tenant_scope(a.tenant_id):
        db.session.add(WorkGroup(code="sneaky", name="Sneaky", tenant_id=b.tenant_id))
        with pytest.raises(TenantMismatch):
            db.session.flush()
        db.session.rollback()


def test_new_row_with_no_tenant_is_refused(ctx, two_tenants):
    db.session.add(WorkGroup(code="orphan", name="Orphan"))
    with pytest.raises(NoTenantContext):
        db.session.flush()
    db.session.rollback()


def test_tenant_id_of_a_row_cannot_change(ctx, two_tenants):
    a, b = two_tenants
    with tenant_scope(a.tenant_id):
        group = db.session.scalars(select(WorkGroup)).first()
        group.tenant_id = b.tenant_id
        with pytest.raises(TenantMismatch):
            db.session.flush()
        db.session.rollback()


def test_bulk_update_and_delete_are_filtered(ctx, two_tenants):
    a, b = two_tenants
    with tenant_scope(a.tenant_id):
        db.session.execute(update(CustomerAccount).values(paperless=True))
        db.session.execute(delete(WorkGroup).where(WorkGroup.code == "billing"),
                           execution_options={"synchronize_session": False})
        db.session.commit()

    with tenant_scope(b.tenant_id):
        assert db.session.scalar(select(CustomerAccount)).paperless is False
        assert db.session.scalar(select(WorkGroup).where(WorkGroup.code == "billing")) is not None


def test_identity_map_hit_of_another_tenant_is_not_returned(ctx, two_tenants):
    a, b = two_tenants
    with tenant_scope(a.tenant_id):
        account = db.session.scalar(select(CustomerAccount))

    with tenant_scope(b.tenant_id):
        assert db.session.get(CustomerAccount, account.id) is None


def test_platform_scope_reads_across_tenants_on_sqlite_only(ctx, two_tenants):
    with platform_scope("test: cross-tenant read"):
        count = db.session.scalar(select(func.count(CustomerAccount.id)))

    # On PostgreSQL row-level security still hides tenant rows when no tenant is set.
    assert count == (0 if db.engine.dialect.name == "postgresql" else 2)


def test_core_wrapper_around_an_orm_subquery_cannot_escape_the_filter(ctx, two_tenants):
    from tenants.guard import UnguardedTenantQuery

    a, _ = two_tenants
    ids = select(CustomerAccount.id).subquery()
    with tenant_scope(a.tenant_id):
        with pytest.raises(UnguardedTenantQuery):
            db.session.scalar(select(func.count()).select_from(ids))
        with pytest.raises(UnguardedTenantQuery):
            db.session.scalar(select(func.count()).select_from(CustomerAccount.__table__))
        filtered = db.session.scalar(
            select(func.count()).select_from(CustomerAccount.__table__)
            .where(CustomerAccount.__table__.c.tenant_id == a.tenant_id),
            execution_options={"tenant_filtered": True})

    assert filtered == 1


def test_subqueries_under_an_orm_entity_are_filtered_too(ctx, two_tenants):
    from domain.contracts.models import Contract

    a, _ = two_tenants
    with tenant_scope(a.tenant_id):
        via_in = db.session.scalar(select(func.count(Contract.id)).where(
            Contract.account_id.in_(select(CustomerAccount.id))))
        via_join_on_platform_entity = db.session.scalars(
            select(Tenant.slug).where(Tenant.id.in_(select(CustomerAccount.tenant_id)))).all()

    assert via_in == 1
    assert via_join_on_platform_entity == ["alpha"]


def test_core_statement_on_tenant_tables_without_tenant_raises(ctx, two_tenants):
    with pytest.raises(NoTenantContext):
        db.session.scalar(select(func.count()).select_from(CustomerAccount.__table__))
