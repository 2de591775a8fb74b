"""Administration of the utility by its tenant administrators (`admin.configure`), under /backoffice/admin.

This module holds the blueprint and the administration home; each settings section registers its views on `bp`
in a module of its own (imported in app/__init__.py) and lists itself in backoffice/admin_sections.py.
"""
from __future__ import annotations

from flask import Blueprint, render_template

from app.auth import staff_permission
from backoffice.admin_sections import sections

bp = Blueprint("admin", __name__)


@bp.get("/")
@staff_permission("admin.configure")
def home():
    return render_template("backoffice/admin/home.html", sections=sections())
