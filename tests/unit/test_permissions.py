import pytest

from app.permissions import PERMISSIONS, ROLE_PERMISSIONS, has_permission
from domain.identity.models import STAFF_ROLES


def test_every_role_has_permissions_and_admin_has_all():
    assert set(ROLE_PERMISSIONS) == set(STAFF_ROLES)
    assert ROLE_PERMISSIONS["tenant_admin"] == frozenset(PERMISSIONS)


def test_roles_grant_what_their_job_needs():
    assert has_permission({"billing"}, "billing.run")
    assert not has_permission({"agent"}, "billing.run")
    assert has_permission({"collections"}, "collections.manage")
    assert not has_permission({"agent"}, "audit.view")
    assert has_permission({"agent", "billing"}, "billing.run")
    assert not has_permission(set(), "home.view")


def test_unknown_permission_is_a_programming_error():
    with pytest.raises(KeyError):
        has_permission({"tenant_admin"}, "billing.runn")
