"""Liveness and readiness for load balancers: answers on any host."""
from flask import Blueprint, jsonify
from sqlalchemy import text

from domain.db import db

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    db.session.execute(text("SELECT 1"))
    return jsonify(status="ok")
