"""The portal blueprint: every portal module adds its routes to it (see `portal.routes`)."""
from flask import Blueprint

bp = Blueprint("portal", __name__)
