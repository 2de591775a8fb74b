"""Shared helpers of the tenant-isolation matrix (tests/functional/test_tenant_isolation_matrix.py).

A case is a function `case_<endpoint with dots as underscores>(app, browser, a, b)`: signed in on tenant A, it
tries the route with tenant B's objects (`a`, `b` are `tests.factories.TenantData`) and asserts it answers
exactly like a missing object. Cases live in the matrix module or in a module of
`tests/functional/isolation_cases/`, one per area.
"""
from __future__ import annotations

import re

from domain.db import db, utcnow
from domain.identity import services as identity
from tenants.context import tenant_scope

MISSING = "ZZ-DOES-NOT-EXIST"


def _reset_token_of(app, tenant_id: int, email: str, kind: str) -> str:
    with app.app_context(), tenant_scope(tenant_id):
        _user, token = identity.start_password_reset(user_kind=kind, email=email, now=utcnow())
        db.session.commit()
        return token


# Both ways a CSRF token is written: by hand in templates, and by WTForms' `form.csrf_token` (type before value).
_TOKEN = re.compile(r'name="csrf_token"(?: type="hidden")? value="[^"]+"')


def same_page(foreign, missing, foreign_ref: str | None = None) -> bool:
    """Whether two responses show the same page word for word once `foreign_ref` reads MISSING, CSRF tokens
    aside: a token is signed with the second it was made, so two pages a second apart differ there only."""
    normalise = lambda r: _TOKEN.sub("", r.get_data(as_text=True))  # noqa: E731
    text = normalise(foreign)
    return (text.replace(foreign_ref, MISSING) if foreign_ref else text) == normalise(missing)


def _same_as_missing(browser_a, path_foreign: str, path_missing: str, foreign_ref: str):
    """The foreign object's page is the missing object's page, word for word."""
    foreign = browser_a.get(path_foreign)
    missing = browser_a.get(path_missing)
    assert foreign.status_code == missing.status_code == 404
    assert same_page(foreign, missing, foreign_ref)
    return foreign


