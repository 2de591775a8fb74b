"""Rate-limit keys and the per-account count of failed sign-ins.

Per-IP limits count an address across every tenant host and the platform host alike: an attacker does not get
a fresh allowance by switching subdomains. Per-account keys are prefixed by the tenant (the same e-mail address
is a different account at another utility). The IP is what the app sees (`request.remote_addr`, after the
proxy handling of app/security.py).
"""
from flask import current_app, g, request


def _tenant_prefix() -> str:
    tenant = getattr(g, "tenant", None)
    return f"t{tenant.id}" if tenant is not None else "platform"


def client_ip() -> str:
    return f"ip:{request.remote_addr or 'unknown'}"


def account_key() -> str:
    email = (request.form.get("email") or "").strip().lower()
    return f"{_tenant_prefix()}:account:{email or '-'}"


# Failed sign-ins per account: counted only on failure, checked before the password, cleared by a password reset.


def _failure_limit():
    from limits import parse

    return parse(current_app.config["RATE_LIMIT_LOGIN_ACCOUNT"])


def _failure_key(kind: str, email: str) -> tuple[str, ...]:
    return ("rl", "sign-in-failures", _tenant_prefix(), kind, (email or "").strip().lower() or "-")


def _strategy():
    from app.extensions import limiter

    return limiter.limiter


def sign_in_blocked(kind: str, email: str) -> bool:
    """Whether this account has used up its failed sign-ins for now (the right password is refused too)."""
    return not _strategy().test(_failure_limit(), *_failure_key(kind, email))


def count_failed_sign_in(kind: str, email: str) -> None:
    _strategy().hit(_failure_limit(), *_failure_key(kind, email))


def forget_failed_sign_ins(kind: str, email: str) -> None:
    """A successful password reset proves the owner: the account's sign-in lock-out ends."""
    _strategy().clear(_failure_limit(), *_failure_key(kind, email))
