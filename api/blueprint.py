"""The API's blueprint: served on any host, the tenant comes from the key (api/auth.py)."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api/v1")
