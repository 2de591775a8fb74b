"""Tenant-isolation cases per area; collected by tests/functional/test_tenant_isolation_matrix.py."""
