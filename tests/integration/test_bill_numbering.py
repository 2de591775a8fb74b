"""Bill numbers are gapless per tenant and year, never reused, and lost with a rolled-back transaction."""
from domain.billing.numbering import reserve_bill_numbers
from domain.db import db
from tenants.context import tenant_scope


def test_numbers_follow_each_other_per_tenant_and_year(ctx, two_tenants):
    a, b = two_tenants
    with tenant_scope(a.tenant_id):
        first = reserve_bill_numbers(tenant_id=a.tenant_id, year=2026, count=3)
        second = reserve_bill_numbers(tenant_id=a.tenant_id, year=2026, count=2)
        next_year = reserve_bill_numbers(tenant_id=a.tenant_id, year=2027, count=1)
        db.session.commit()
    with tenant_scope(b.tenant_id):
        other_tenant = reserve_bill_numbers(tenant_id=b.tenant_id, year=2026, count=1)
        db.session.commit()

    assert first == ["2026-0000001", "2026-0000002", "2026-0000003"]
    assert second == ["2026-0000004", "2026-0000005"]
    assert next_year == ["2027-0000001"]
    assert other_tenant == ["2026-0000001"]


def test_a_rolled_back_issue_gives_its_numbers_back(ctx, two_tenants):
    a, _ = two_tenants
    with tenant_scope(a.tenant_id):
        reserve_bill_numbers(tenant_id=a.tenant_id, year=2026, count=1)
        db.session.commit()
        reserve_bill_numbers(tenant_id=a.tenant_id, year=2026, count=5)
        db.session.rollback()
        after = reserve_bill_numbers(tenant_id=a.tenant_id, year=2026, count=1)
        db.session.commit()

    assert after == ["2026-0000002"]
