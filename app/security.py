"""Security headers on every response, no caching of signed-in pages, and input no view should see refused."""
from __future__ import annotations

from flask import abort, g, request
from flask_login import current_user

CSP = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self'",
    "connect-src 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
    "base-uri 'self'",
    "object-src 'none'",
])


def init_security(app) -> None:
    @app.after_request
    def _headers(response):
        headers = response.headers
        headers.setdefault("Content-Security-Policy", CSP)
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
        headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
        headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        if app.config["HTTPS"] or request.is_secure:
            headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
        try:
            signed_in = g.get("signed_in") or (current_user and current_user.is_authenticated)
        except Exception:  # the user could not be loaded (the error being answered, say): assume signed in
            signed_in = True
        if signed_in:
            headers["Cache-Control"] = "no-store"
            headers["Pragma"] = "no-cache"
        return response


FORM_TYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})


def _has_nul(*texts) -> bool:
    return any(isinstance(text, str) and "\x00" in text for text in texts)


def init_input_guard(app) -> None:
    """A NUL byte is never meaningful in a path, a query or a form: refuse it at the edge with a 400.

    PostgreSQL refuses NUL in text (the statement fails, the request was a 500), SQLite stores it, and a file
    name with one raises in the OS: one rule here instead of a check in every view.
    """
    @app.before_request
    def _refuse_nul_bytes():
        if _has_nul(request.path, *(request.view_args or {}).values()):
            abort(400)
        for key, value in request.args.items(multi=True):
            if _has_nul(key, value):
                abort(400)
        if request.method in {"POST", "PUT", "PATCH", "DELETE"} and request.mimetype in FORM_TYPES:
            for key, value in request.form.items(multi=True):
                if _has_nul(key, value):
                    abort(400)
            for key, upload in request.files.items(multi=True):
                if _has_nul(key, upload.filename):
                    abort(400)
        return None
