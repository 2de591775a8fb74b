"""An API key per demo utility, so a new user can call the integration API at once.

A key is shown only once and stored hashed, so the seed writes the tokens it made to a file of the instance
folder (readable by its owner only) and prints them with the logins each time. Demo data only: a real utility's
administrator creates keys in the back office."""
from __future__ import annotations

import os
from pathlib import Path

from flask import current_app

from domain.apikeys.scopes import ALL_SCOPES
from domain.apikeys.services import create_key
from domain.db import db, utcnow

FILE_NAME = "demo-api-keys.txt"


def _file() -> Path:
    return Path(current_app.instance_path) / FILE_NAME


def create_demo_key(*, slug: str) -> str:
    """In the current tenant: a key with every scope, kept in the instance folder."""
    _key, token = create_key(tenant_slug=slug, name="Demo integration", scopes=ALL_SCOPES, now=utcnow())
    db.session.flush()
    path = _file()
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    with os.fdopen(descriptor, "a") as out:
        out.write(f"{slug} {token}\n")
    return token


def demo_tokens() -> dict[str, str]:
    """slug -> token of the keys the seed made (none when the file is gone)."""
    path = _file()
    if not path.exists():
        return {}
    tokens = {}
    for line in path.read_text().splitlines():
        slug, _sep, token = line.partition(" ")
        if token:
            tokens[slug] = token
    return tokens
