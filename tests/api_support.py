"""API keys and a client that calls the integration API with one, for the tests."""
from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import select

from domain.apikeys import services as keys
from domain.apikeys.scopes import ALL_SCOPES
from domain.db import db, utcnow
from tenants.context import platform_scope, tenant_scope
from tenants.models import Tenant


def make_api_key(app, tenant_id: int, scopes=ALL_SCOPES, *, name: str = "Meter data platform",
                 expires_at: datetime | None = None, rate_limit_per_minute: int = 10_000) -> str:
    """A key of the tenant, created as an administrator would; returns its token (shown once)."""
    with app.app_context():
        with platform_scope("test key"):
            slug = db.session.scalar(select(Tenant.slug).where(Tenant.id == tenant_id))
        with tenant_scope(tenant_id):
            _key, token = keys.create_key(tenant_slug=slug, name=name, scopes=set(scopes), now=utcnow(),
                                          expires_at=expires_at, rate_limit_per_minute=rate_limit_per_minute)
            db.session.commit()
    return token


class ApiClient:
    """The Flask test client with the key in `Authorization`, on a host (any: the key decides the tenant)."""

    def __init__(self, client, token: str | None, host: str = "api.localhost"):
        self.client = client
        self.token = token
        self.base_url = f"http://{host}"

    def _headers(self, headers: dict | None) -> dict:
        result = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        result.update(headers or {})
        return result

    def get(self, path: str, headers: dict | None = None, **kwargs):
        return self.client.get(path, base_url=self.base_url, headers=self._headers(headers), **kwargs)

    def post(self, path: str, json=None, headers: dict | None = None, **kwargs):
        if json is not None:
            kwargs["json"] = json
        return self.client.post(path, base_url=self.base_url, headers=self._headers(headers), **kwargs)

    def request(self, method: str, path: str, headers: dict | None = None, **kwargs):
        return self.client.open(path, method=method, base_url=self.base_url, headers=self._headers(headers),
                                **kwargs)


def api_client(client, token: str | None, host: str = "api.localhost") -> ApiClient:
    return ApiClient(client, token, host)


NEW_KEY_FORM = "/backoffice/admin/api-keys/new"
_ONCE = re.compile(r'name="once" type="hidden" value="([^"]+)"|type="hidden" name="once" value="([^"]+)"'
                   r'|name="once" value="([^"]+)"')


def new_key_form_data(office, data: dict) -> dict:
    """`data` with the new-key form's single-use reference, as a browser sends the form it was shown."""
    page = office.get(NEW_KEY_FORM).get_data(as_text=True)
    match = _ONCE.search(page)
    assert match, "no single-use reference on the new-key form"
    return {**data, "once": next(group for group in match.groups() if group)}
