"""Flask-Login glue: the signed-in principal, its server-side session, and access decorators.

The cookie holds only `<kind>:<random token>`; the token's hash lives in the database
(LoginSession for customers and staff, OperatorSession for operators). Logging out or
changing a password deletes the row, so a replayed cookie signs nobody in. Lookups go
through the tenant guard, so a session of tenant A is never found on tenant B's host.
"""
from __future__ import annotations

from datetime import timedelta
from functools import wraps

from flask import abort, current_app, g, redirect, request, session, url_for
from flask_login import current_user, login_user, logout_user

from app.extensions import login_manager
from app.permissions import PERMISSIONS, has_permission
from domain.audit.actor import Actor, set_actor
from domain.db import utcnow
from domain.identity import services as identity


class Principal:
    """The signed-in user as Flask-Login sees it."""

    is_authenticated = True
    is_anonymous = False

    def __init__(self, kind: str, user, token: str):
        self.kind = kind
        self.user = user
        self.token = token

    @property
    def is_active(self) -> bool:
        return bool(self.user.is_active)

    def get_id(self) -> str:
        return f"{self.kind}:{self.token}"

    @property
    def roles(self) -> frozenset[str]:
        return getattr(self.user, "roles", frozenset())

    @property
    def permissions(self) -> frozenset[str]:
        return frozenset(p for p in PERMISSIONS if has_permission(self.roles, p))

    @property
    def display_name(self) -> str:
        return getattr(self.user, "full_name", None) or self.user.email


def _lifetime() -> timedelta:
    return timedelta(hours=current_app.config["SESSION_HOURS"])


@login_manager.user_loader
def _load_principal(session_id: str):
    kind, _, token = (session_id or "").partition(":")
    if not token:
        return None
    now = utcnow()
    if kind == "operator":
        if g.get("tenant") is not None:
            return None
        user = identity.operator_for_session(token=token, now=now)
    elif kind in ("customer", "staff"):
        if g.get("tenant") is None:
            return None
        user = identity.user_for_session(user_kind=kind, token=token, now=now)
    else:
        return None
    if user is None:
        return None
    principal = Principal(kind, user, token)
    set_actor(Actor(kind, user.id, user.email))
    return principal


def sign_in(kind: str, user) -> None:
    """Open a server-side session for `user` and bind it to a fresh cookie session."""
    now = utcnow()
    locale = session.get("locale")
    session.clear()  # no session fixation: nothing from before sign-in survives but the language picked
    if locale:
        session["locale"] = locale
    if kind == "operator":
        opened = identity.open_operator_session(operator_id=user.id, now=now, lifetime=_lifetime())
    else:
        opened = identity.open_session(
            user_kind=kind, user_id=user.id, now=now, lifetime=_lifetime(),
            ip_address=request.remote_addr, user_agent=request.user_agent.string,
        )
    session.permanent = True
    login_user(Principal(kind, user, opened.token))
    set_actor(Actor(kind, user.id, user.email))


def sign_out() -> None:
    if current_user.is_authenticated:
        if current_user.kind == "operator":
            identity.close_operator_session(token=current_user.token)
        else:
            identity.close_session(token=current_user.token)
    logout_user()
    session.clear()


def _login_endpoint(kind: str) -> str:
    return {"customer": "portal.login", "staff": "backoffice.login", "operator": "console.login"}[kind]


def _require_kind(kind: str):
    if not current_user.is_authenticated or current_user.kind != kind:
        from app.second_factor_views import pending_step_redirect

        # Half-way through sign-in (password right, code or enrolment to come): nowhere else until it is done.
        pending = pending_step_redirect(kind)
        if pending is not None:
            return pending
        if request.method == "GET":
            return redirect(url_for(_login_endpoint(kind), next=request.full_path.rstrip("?")))
        abort(401)
    g.signed_in = True
    return None


def customer_required(view):
    @wraps(view)
    def wrapper(*args, **kwargs):
        refusal = _require_kind("customer")
        return refusal or view(*args, **kwargs)
    return wrapper


def operator_required(view):
    @wraps(view)
    def wrapper(*args, **kwargs):
        refusal = _require_kind("operator")
        return refusal or view(*args, **kwargs)
    return wrapper


def staff_permission(*permissions: str):
    """Declare the permissions a back-office view needs; every back-office view declares some."""
    def decorator(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            refusal = _require_kind("staff")
            if refusal:
                return refusal
            for permission in permissions:
                if not has_permission(current_user.roles, permission):
                    abort(403)
            return view(*args, **kwargs)
        wrapper.required_permissions = tuple(permissions)
        return wrapper
    return decorator


def public_view(view):
    """Mark a back-office view that anyone may reach (sign-in, password reset)."""
    view.required_permissions = ()
    view.is_public = True
    return view


def safe_next(default: str) -> str:
    """Only a local path is a valid place to go back to after sign-in."""
    target = request.args.get("next") or request.form.get("next") or ""
    if target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return default
