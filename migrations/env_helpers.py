"""Helpers shared by the Alembic environment and its tests."""
from __future__ import annotations

from domain.db import UTCDateTime


def render_item(type_, obj, autogen_context):
    """Render our column types as plain SQLAlchemy types so migrations do not import app code."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False
