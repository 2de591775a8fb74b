"""The API's one error shape, `{"error": {"code", "message", "details"}}`, for every 4xx and 5xx it answers."""
from __future__ import annotations

from typing import Any

import json

from flask import Response

JSON = "application/json"


class ApiError(Exception):
    """Raised anywhere under an API request: becomes the error answer (nothing the request did is committed)."""

    def __init__(self, status: int, code: str, message: str, details: Any = None,
                 headers: dict[str, str] | None = None):
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = str(message)
        self.details = details
        self.headers = headers or {}


def error_response(status: int, code: str, message: str, details: Any = None,
                   headers: dict[str, str] | None = None) -> Response:
    body = json.dumps({"error": {"code": code, "message": str(message), "details": details}})
    response = Response(body, status=status, mimetype=JSON)
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def from_api_error(error: ApiError) -> Response:
    return error_response(error.status, error.code, error.message, error.details, error.headers)


def from_http_status(status: int) -> Response:
    """The answer to what the framework itself refused (no such route, wrong method, too large, a crash)."""
    from flask_babel import gettext as _

    words = {
        400: ("bad_request", _("The request could not be understood.")),
        401: ("missing_key", _("Send your API key as `Authorization: Bearer <key>`.")),
        403: ("forbidden", _("This key may not do this.")),
        404: ("not_found", _("There is nothing at this address.")),
        405: ("method_not_allowed", _("This address does not answer this method.")),
        413: ("too_large", _("The request body is too large.")),
        415: ("unsupported_media_type", _("This body type is not accepted here.")),
        429: ("rate_limited", _("Too many calls with this key. Wait and try again.")),
    }
    code, message = words.get(status, ("server_error", _("An error occurred on our side. Nothing was saved.")))
    return error_response(status, code, message)
