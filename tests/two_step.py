"""The tests' side of two-step sign-in: `Browser.login` (tests/conftest.py) completes the second step like a user
with the app on their phone would, so tests that only need someone signed in never think about it.

- A user who must enrol (an operator, an administrator without a second factor) is enrolled with the factories'
  test secret (`tests.factories.TOTP_SECRET`), as `make_tenant` does for each tenant's first administrator.
- The code typed is pyotp's for the pinned clock. A code is accepted once: a user signing in again within the same
  30 seconds gets the next step's code (accepted, one step ahead), and beyond that the tests' clock moves forward to
  a step not used yet (tests/clock.py `advance`; forward only, so cookies and sessions stay valid).
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

from sqlalchemy import select

from domain.db import db, utcnow
from domain.identity import totp
from domain.identity.models import OperatorSecondFactor, PlatformOperator, StaffSecondFactor, StaffUser
from tenants.context import platform_scope, tenant_scope
from tenants.models import Tenant
from tenants.secrets import open_sealed
from tests.clock import advance

AREA_KINDS = {"": "customer", "/backoffice": "staff", "/console": "operator"}
_USERS = {"staff": (StaffUser, StaffSecondFactor, "staff_user_id"),
          "operator": (PlatformOperator, OperatorSecondFactor, "operator_id")}


@contextmanager
def _scope(app, host: str):
    """The tenant of `host` (`<slug>.localhost`), or the platform for the console's host."""
    with app.app_context():
        slug = host.split(".", 1)[0] if host.endswith(".localhost") else None
        if slug is None:
            with platform_scope("tests: two-step sign-in of an operator"):
                yield
        else:
            with platform_scope("tests: tenant of a host"):
                tenant_id = db.session.scalar(select(Tenant.id).where(Tenant.slug == slug))
            with tenant_scope(tenant_id):
                yield
        db.session.commit()


def _user(kind: str, email: str):
    model = _USERS[kind][0]
    return db.session.scalar(select(model).where(model.email == email.strip().lower()))


def _factor(kind: str, user):
    _model, factor, owner = _USERS[kind]
    return db.session.scalar(select(factor).where(getattr(factor, owner) == user.id))


def enrol(app, *, kind: str, email: str, host: str) -> None:
    """Give the user a confirmed second factor with the test secret, as the factories do."""
    from tests.factories import OperatorSecondFactorFactory, StaffSecondFactorFactory

    with _scope(app, host):
        user = _user(kind, email)
        pending = _factor(kind, user)
        if pending is not None:  # an enrolment begun on the page: the test secret replaces it
            db.session.delete(pending)
            db.session.flush()
        if kind == "staff":
            StaffSecondFactorFactory(user=user)
        else:
            OperatorSecondFactorFactory(operator=user)


@contextmanager
def fresh_code(app, *, kind: str, email: str, host: str) -> Iterator[str]:
    """A code of the user's app that the second step accepts now (see the module's docstring)."""
    with _scope(app, host):
        factor = _factor(kind, _user(kind, email))
        secret, latest = open_sealed(factor.secret_sealed), factor.latest_used_step
    now = utcnow()
    current = totp.time_step(now)
    step = current if latest is None else max(current, latest + 1)
    if step > current + totp.TOLERANCE_STEPS:
        # Every step the app's codes may be taken from is used: the clock moves on to the next one, for good.
        advance(step * totp.STEP_SECONDS + 1 - now.timestamp())
    yield totp.code_for_step(secret, step)


def complete_sign_in(browser, response, *, email: str, area: str):
    """After the password form: type the code the second step asks for, if it asks; the response is then the
    second step's (a redirect to where the user was going, as a sign-in without second step gives)."""
    kind = AREA_KINDS.get(area)
    if response.status_code != 302 or kind not in _USERS:
        return response
    path = urlsplit(response.headers["Location"]).path
    if path == f"{area}/login/second-factor":
        enrol(browser.client.application, kind=kind, email=email, host=browser.host)
        path = f"{area}/login/code"
    if path != f"{area}/login/code":
        return response
    with fresh_code(browser.client.application, kind=kind, email=email, host=browser.host) as code:
        answer = browser.submit(path, {"code": code})
    assert answer.status_code == 302 and "/login" not in answer.headers["Location"], \
        f"the second step of {email}'s sign-in failed: {answer.status_code}"
    return answer
