"""Rate-limit keys: per client IP and per account, always prefixed by the tenant."""
from flask import g, request


def _tenant_prefix() -> str:
    tenant = getattr(g, "tenant", None)
    return f"t{tenant.id}" if tenant is not None else "platform"


def client_ip() -> str:
    return f"{_tenant_prefix()}:ip:{request.remote_addr or 'unknown'}"


def account_key() -> str:
    email = (request.form.get("email") or "").strip().lower()
    return f"{_tenant_prefix()}:account:{email or '-'}"
