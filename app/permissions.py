"""Back-office permissions and which staff roles hold them."""
from __future__ import annotations

PERMISSIONS = {
    "home.view": "see the back-office home",
    "customers.view": "search customers and open their file",
    "customers.edit": "change customer data",
    "readings.validate": "validate meter readings",
    "billing.run": "start, simulate, issue and cancel billing runs",
    "collections.manage": "payments, dunning, payment plans",
    "collections.approve": "approve what collections staff propose (write-offs, refunds): the second pair of eyes",
    "requests.handle": "handle complaints and service requests",
    "tasks.work": "work the task queues",
    "tasks.assign": "assign tasks to a person and receive escalations",
    "audit.view": "see the audit history",
    "admin.configure": "configure the utility, staff and imports",
    "campaigns.manage": "write, send and follow mailing campaigns",
    "api.manage": "create and revoke the integration API's keys, read their call log",
}

ROLE_PERMISSIONS: dict[str, frozenset[str]] = {
    "agent": frozenset({"home.view", "customers.view", "customers.edit", "readings.validate",
                        "requests.handle", "tasks.work"}),
    "billing": frozenset({"home.view", "customers.view", "readings.validate", "billing.run", "tasks.work"}),
    "collections": frozenset({"home.view", "customers.view", "collections.manage", "tasks.work"}),
    "supervisor": frozenset({"home.view", "customers.view", "customers.edit", "readings.validate",
                             "requests.handle", "tasks.work", "tasks.assign", "audit.view", "collections.manage",
                             "collections.approve", "campaigns.manage"}),
    "tenant_admin": frozenset(PERMISSIONS),
}


def has_permission(roles, permission: str) -> bool:
    if permission not in PERMISSIONS:
        raise KeyError(f"unknown permission {permission!r}")
    return any(permission in ROLE_PERMISSIONS.get(role, ()) for role in roles)
