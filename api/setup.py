"""Plugs the API into the app: its routes (every module of `api/`), key authentication, JSON errors, the call log."""
from __future__ import annotations

import importlib
import pkgutil

from flask import Flask, g, request

import api
from api.blueprint import bp
from api.errors import ApiError, from_api_error, from_http_status

_NOT_ROUTES = {"setup", "blueprint", "registry", "errors", "auth", "pagination", "openapi", "scope_texts",
               "field_messages"}


def is_api_request() -> bool:
    return request.path == "/api" or request.path.startswith("/api/")


def _import_routes() -> None:
    for module in pkgutil.iter_modules(api.__path__):
        if module.name not in _NOT_ROUTES and not module.ispkg:
            importlib.import_module(f"api.{module.name}")


def init_api(app: Flask) -> None:
    """Call before the request transaction is set up: the call log then runs after the request's commit."""
    from api.auth import authenticate, log_call
    from app.extensions import csrf

    _import_routes()
    app.register_blueprint(bp)

    @app.before_request
    def _authenticate():
        # On the app, not the blueprint: a call to no route or with the wrong method is still its key's (logged).
        if is_api_request():
            authenticate()

    csrf.exempt(bp)  # a key in a header, not a cookie: nothing a cross-site form could ride on

    @app.errorhandler(ApiError)
    def _api_error(error: ApiError):
        g.api_error_code = error.code
        return from_api_error(error)

    app.after_request(log_call)


def http_error_answer(status: int):
    """The API's answer to an HTTP error raised on an API path (no route, wrong method, too large, a crash)."""
    response = from_http_status(status)
    g.api_error_code = response.get_json()["error"]["code"]
    return response
