"""`@operation`: one decorator registers an endpoint's route and its OpenAPI operation, checks its scope, parses
its query and body with pydantic models, and honours `Idempotency-Key` where asked.

    @operation("GET", "/bills/<number>", scope="bills:read", response=BillOut, summary="One bill", tags=["Bills"])
    def bill(number: str, *, query=None, body=None) -> BillOut: ...
"""
from __future__ import annotations

import gc
import re
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson
from flask import Response, g, request
from flask_babel import gettext as _
from pydantic import BaseModel, ValidationError
from sqlalchemy.exc import IntegrityError

from api.blueprint import bp
from api.errors import JSON, ApiError
from api.field_messages import field_message
from domain.apikeys import services as keys
from domain.apikeys.scopes import ALL_SCOPES
from domain.db import db, utcnow

_PATH_PARAM = re.compile(r"<(?:[a-z_]+:)?([a-zA-Z_][a-zA-Z0-9_]*)>")
_IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")


@dataclass
class Operation:
    method: str
    path: str  # Flask syntax, under /api/v1
    endpoint: str
    scope: str | None
    summary: str
    description: str | None
    tags: tuple[str, ...]
    query: type[BaseModel] | None
    body: type[BaseModel] | None
    response: type[BaseModel] | None
    status: int
    errors: tuple[int, ...]
    idempotent: bool
    extra_content: dict[str, Any] = field(default_factory=dict)
    response_content: dict[str, Any] = field(default_factory=dict)
    bulk: bool = False

    @property
    def openapi_path(self) -> str:
        return _PATH_PARAM.sub(r"{\1}", self.path)

    @property
    def path_params(self) -> list[str]:
        return _PATH_PARAM.findall(self.path)


OPERATIONS: list[Operation] = []


def operation(method: str, path: str, *, scope: str | None, summary: str, response: type[BaseModel] | None = None,
              status: int = 200, tags: tuple[str, ...] | list[str] = (), description: str | None = None,
              query: type[BaseModel] | None = None, body: type[BaseModel] | None = None,
              errors: tuple[int, ...] = (), idempotent: bool = False, extra_content: dict | None = None,
              response_content: dict | None = None, name: str | None = None, bulk: bool = False) -> Callable:
    """Declare an API operation. `bulk`: it reads and answers tens of thousands of short-lived objects, none in a
    cycle (a batch of readings): the cyclic garbage collector is paused while it runs, else it would walk the
    whole heap again and again meanwhile for nothing to free."""
    if scope is not None and scope not in ALL_SCOPES:
        raise ValueError(f"unknown scope {scope!r}")

    def decorate(func: Callable) -> Callable:
        op = Operation(method=method.upper(), path=path, endpoint=name or func.__name__, scope=scope,
                       summary=summary, description=description, tags=tuple(tags), query=query, body=body,
                       response=response, status=status, errors=tuple(errors), idempotent=idempotent,
                       extra_content=dict(extra_content or {}), response_content=dict(response_content or {}),
                       bulk=bulk)

        def view(**path_values):
            if not op.bulk or not gc.isenabled():
                return _run(op, func, path_values)
            gc.disable()
            try:
                return _run(op, func, path_values)
            finally:
                gc.enable()

        view.__name__ = op.endpoint
        view.__doc__ = func.__doc__
        bp.add_url_rule(path, endpoint=op.endpoint, view_func=view, methods=[op.method])
        OPERATIONS.append(op)
        return func

    return decorate


def _run(op: Operation, func: Callable, path_values: dict) -> Response:
    key = g.api_key
    if op.scope is not None and op.scope not in key.scope_set:
        raise ApiError(403, "insufficient_scope", _("This key lacks the scope %(scope)s.", scope=op.scope),
                       details={"required_scope": op.scope})
    kwargs: dict[str, Any] = dict(path_values)
    if op.query is not None:
        kwargs["query"] = _validated(op.query, _query_values(op.query), "query")
    raw = b""
    if op.body is not None or op.extra_content:
        raw = request.get_data(cache=True)
        kwargs["body"] = _body(op, raw)
    idempotency_key = request.headers.get("Idempotency-Key") if op.idempotent else None
    digest = None
    if idempotency_key is not None:
        if not _IDEMPOTENCY_KEY.match(idempotency_key):
            raise ApiError(422, "invalid_idempotency_key",
                           _("An Idempotency-Key is 1 to 255 visible ASCII characters."))
        digest = keys.request_hash(op.method, request.path, (request.mimetype or "").encode() + b"\0" + raw)
        kept = keys.kept_answer(key_id=key.id, idempotency_key=idempotency_key, now=utcnow())
        if kept is not None:
            if kept.request_hash != digest:
                raise ApiError(422, "idempotency_key_reused",
                               _("This Idempotency-Key was used for another request. Use a new key for a new "
                                 "request."))
            replay = Response(kept.body, status=kept.status, mimetype=JSON)
            replay.headers["Idempotent-Replayed"] = "true"
            return replay
    response = _answer(op, func(**kwargs))
    if digest is not None and 200 <= response.status_code < 300:
        keys.keep_answer(key_id=key.id, idempotency_key=idempotency_key, request_digest=digest,
                         status=response.status_code, body=response.get_data(), now=utcnow())
        try:
            db.session.flush()
        except IntegrityError as exc:  # the same key, sent twice at once: the other one is being answered
            db.session.rollback()
            raise ApiError(409, "idempotency_key_in_use",
                           _("A request with this Idempotency-Key is being processed. Retry in a moment to "
                             "get its answer.")) from exc
    return response


def _query_values(model: type[BaseModel]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        alias = info.alias or name
        if alias not in request.args:
            continue
        many = typing.get_origin(info.annotation) in (list, tuple) or any(
            typing.get_origin(arg) in (list, tuple) for arg in typing.get_args(info.annotation))
        values[alias] = request.args.getlist(alias) if many else request.args.get(alias)
    return values


def _body(op: Operation, raw: bytes):
    mimetype = request.mimetype or ""
    if mimetype in op.extra_content:
        return None
    if op.body is None or mimetype != JSON:
        accepted = ([JSON] if op.body is not None else []) + list(op.extra_content)
        raise ApiError(415, "unsupported_media_type",
                       _("Send the body as %(types)s.", types=" or ".join(accepted)), details={"accepted": accepted})
    try:
        data = orjson.loads(raw or b"null")
    except ValueError as exc:
        raise ApiError(400, "malformed_json", _("The body is not valid JSON.")) from exc
    if b"\\u0000" in raw and _holds_nul(data):  # no text column takes one (PostgreSQL refuses it outright)
        raise ApiError(422, "invalid_request", _("Text may not contain the NUL character (\\u0000)."))
    return _validated(op.body, data, "body")


def _holds_nul(data) -> bool:
    if isinstance(data, str):
        return "\x00" in data
    if isinstance(data, dict):
        return any(_holds_nul(k) or _holds_nul(v) for k, v in data.items())
    if isinstance(data, list):
        return any(_holds_nul(item) for item in data)
    return False


def _validated(model: type[BaseModel], data: Any, where: str) -> BaseModel:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        details = [{"field": ".".join(str(part) for part in (where, *error["loc"])), "problem": error["type"],
                    "message": field_message(error)} for error in exc.errors(include_url=False)]
        raise ApiError(422, "invalid_request", _("Some fields are missing or not valid: see details."),
                       details=details[:100]) from exc


def _answer(op: Operation, result) -> Response:
    if isinstance(result, Response):
        return result
    status = op.status
    if isinstance(result, tuple):
        result, status = result
    if isinstance(result, BaseModel):
        return Response(result.model_dump_json(by_alias=True), status=status, mimetype=JSON)
    if result is None and status == 204:
        return Response(status=204)
    return Response(orjson.dumps(result, option=orjson.OPT_NON_STR_KEYS), status=status, mimetype=JSON)
