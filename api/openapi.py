"""The OpenAPI 3.1 description, built from the registered operations and their pydantic schemas.

Pydantic's JSON Schema is the 2020-12 dialect OpenAPI 3.1 uses, so schemas go into `components` unchanged.
"""
from __future__ import annotations

from functools import cache
from http import HTTPStatus
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from api.registry import OPERATIONS, Operation
from api.schemas.common import Error

REF = "#/components/schemas/{model}"

DESCRIPTION = """\
The platform's integration API: a utility's other systems (smart-meter data platforms, field-service tools,
accounting and CRM tools) send readings and read customers, bills, payments and requests.

**Keys.** A tenant administrator creates API keys in the back office (Administration → API keys); a key is shown
once. Send it on every call as `Authorization: Bearer <key>`. The key decides which utility's data you reach and
which operations you may call (its scopes); a revoked or expired key is refused at once.

**Errors** all have one shape, `{"error": {"code", "message", "details"}}`, with a 4xx status saying whose
problem it is: 400 malformed, 401 no valid key, 403 scope missing, 404 nothing with this identifier (another
utility's identifiers answer the same), 409 conflict, 413 too large, 415 body type, 422 refused with reasons in
`details`, 429 rate limit (wait `Retry-After` seconds).

**Retries.** Operations marked *idempotent* take an `Idempotency-Key` header: sending the same request again with
the same key changes nothing and answers what the first answered (with `Idempotent-Replayed: true`), for 24
hours. The same key with another request is refused (422).

**Lists** are paged with a cursor: follow `next_cursor` until it is `null`. `updated_since` gives what was
created or changed since a time, to keep another system in step.

Amounts are strings with two decimals, quantities strings with three, dates `YYYY-MM-DD` (the utility's calendar),
times RFC 3339 in UTC.
"""

_STANDARD_ERRORS = (400, 401, 403, 422, 429)
NO_NUL = "^[^\\x00]*$"


def _models() -> list[tuple[type[BaseModel], str]]:
    from api.schemas.events import EVENT_BODIES, EventOut

    wanted: dict[tuple[type[BaseModel], str], None] = {(Error, "serialization"): None,
                                                       (EventOut, "serialization"): None}
    wanted.update({(body, "serialization"): None for body in EVENT_BODIES.values()})
    for op in OPERATIONS:
        if op.query is not None:
            wanted[(op.query, "validation")] = None
        if op.body is not None:
            wanted[(op.body, "validation")] = None
        if op.response is not None:
            wanted[(op.response, "serialization")] = None
    return list(wanted)


@cache
def openapi_document(server_url: str = "/api/v1") -> dict[str, Any]:
    refs, definitions = models_json_schema(_models(), ref_template=REF)
    schemas = {name: _no_nul_text(schema) for name, schema in definitions.get("$defs", {}).items()}
    paths: dict[str, dict[str, Any]] = {}
    for op in OPERATIONS:
        paths.setdefault(op.openapi_path, {})[op.method.lower()] = _operation(op, refs, schemas)
    return {
        "openapi": "3.1.0",
        "info": {"title": "Utility platform API", "version": "1.0.0", "description": DESCRIPTION},
        "servers": [{"url": server_url}],
        "security": [{"apiKey": []}],
        "tags": [{"name": tag} for tag in sorted({tag for op in OPERATIONS for tag in op.tags})],
        "paths": paths,
        "webhooks": _webhooks(refs),
        "components": {
            "schemas": schemas,
            "securitySchemes": {"apiKey": {
                "type": "http", "scheme": "bearer",
                "description": "An API key created in the back office: `Authorization: Bearer uak_…`.",
            }},
            "responses": {str(status): _error_response(status, refs) for status in
                          (*_STANDARD_ERRORS, 404, 409, 413, 415, 503)},
        },
    }


def _webhooks(refs) -> dict[str, Any]:
    """What the platform POSTs to a subscription's URL, one entry per event type (OpenAPI 3.1 `webhooks`)."""
    from api.schemas.events import EVENT_BODIES

    return {event_type: {"post": {
        "summary": f"{event_type}",
        "description": "Sent after the fact is committed; retried after 1 min, 5 min, 30 min, 2 h and 6 h until your "
                       "URL answers 2xx within 5 seconds. Check `Webhook-Signature` before trusting the body.",
        "parameters": [{"name": "Webhook-Signature", "in": "header", "required": True,
                        "description": "`t=<unix seconds>,v1=<hex HMAC-SHA256 of \"<t>.<raw body>\" with your "
                                       "subscription's secret>`.", "schema": {"type": "string"}},
                       {"name": "Webhook-Id", "in": "header", "required": True,
                        "description": "The event's `id`: the same on every retry.", "schema": {"type": "string"}}],
        "requestBody": {"required": True, "content": {"application/json": {
            "schema": refs[(EVENT_BODIES[event_type], "serialization")]}}},
        "responses": {"2XX": {"description": "Received: the delivery is done."}},
    }} for event_type in EVENT_BODIES}


def _error_response(status: int, refs) -> dict[str, Any]:
    response = {"description": HTTPStatus(status).phrase,
                "content": {"application/json": {"schema": refs[(Error, "serialization")]}}}
    if status in (429, 503):
        response["headers"] = {"Retry-After": {"description": "Seconds to wait before calling again.",
                                               "schema": {"type": "integer"}}}
    if status == 401:
        response["headers"] = {"WWW-Authenticate": {"schema": {"type": "string"}}}
    return response


def _operation(op: Operation, refs, schemas) -> dict[str, Any]:
    description = op.description or ""
    if op.scope:
        description = (description + "\n\n" if description else "") + f"Scope: `{op.scope}`."
    if op.idempotent:
        description += " Idempotent with an `Idempotency-Key` header."
    result: dict[str, Any] = {
        "operationId": op.endpoint,
        "summary": op.summary,
        "description": description.strip(),
        "tags": list(op.tags),
        "parameters": _parameters(op, refs, schemas),
        "responses": _responses(op, refs),
    }
    result["security"] = [{"apiKey": [op.scope] if op.scope else []}]
    body = _request_body(op, refs)
    if body:
        result["requestBody"] = body
    return result


def _parameters(op: Operation, refs, schemas) -> list[dict[str, Any]]:
    parameters = [{"name": name, "in": "path", "required": True,
                   "schema": {"type": "string", "minLength": 1, "pattern": NO_NUL}} for name in op.path_params]
    if op.query is not None:
        schema = schemas[refs[(op.query, "validation")]["$ref"].rsplit("/", 1)[-1]]
        required = set(schema.get("required", ()))
        for name, prop in schema.get("properties", {}).items():
            prop = _without_nul(prop)
            description = prop.pop("description", None)
            prop.pop("title", None)
            parameter = {"name": name, "in": "query", "required": name in required, "schema": prop}
            if description:
                parameter["description"] = description
            if prop.get("type") == "array" or any(alt.get("type") == "array" for alt in prop.get("anyOf", ())):
                parameter.update(style="form", explode=True)
            parameters.append(parameter)
    if op.idempotent:
        parameters.append({"name": "Idempotency-Key", "in": "header", "required": False,
                           "description": "Any unique text you choose (a UUID): a retry with the same key changes "
                                          "nothing and gets the first answer.",
                           "schema": {"type": "string", "minLength": 1, "maxLength": 255,
                                      "pattern": "^[\\x21-\\x7e]+$"}})
    return parameters


def _no_nul_text(node: Any) -> Any:
    """Every free text of a schema says it holds no NUL character, as the API enforces (api/registry.py)."""
    if isinstance(node, list):
        return [_no_nul_text(item) for item in node]
    if not isinstance(node, dict):
        return node
    result = {key: (_no_nul_text(value) if key not in ("examples", "default", "const", "enum") else value)
              for key, value in node.items()}
    if result.get("type") == "string" and not {"pattern", "format", "enum", "const"} & set(result):
        result["pattern"] = NO_NUL
    return result


def _without_nul(schema: dict[str, Any]) -> dict[str, Any]:
    """A copy of a parameter's schema saying what the app enforces on every path and query (app/security.py):
    text never holds a NUL character."""
    schema = dict(schema)
    if schema.get("type") == "string" and "pattern" not in schema and "format" not in schema:
        schema["pattern"] = NO_NUL
    if "anyOf" in schema:
        schema["anyOf"] = [_without_nul(alternative) for alternative in schema["anyOf"]]
    return schema


def _request_body(op: Operation, refs) -> dict[str, Any] | None:
    content: dict[str, Any] = {}
    if op.body is not None:
        content["application/json"] = {"schema": refs[(op.body, "validation")]}
    content.update(op.extra_content)
    return {"required": True, "content": content} if content else None


def _responses(op: Operation, refs) -> dict[str, Any]:
    success: dict[str, Any] = {"description": HTTPStatus(op.status).phrase}
    content: dict[str, Any] = {}
    if op.response is not None:
        content["application/json"] = {"schema": refs[(op.response, "serialization")]}
    content.update(op.response_content)
    if content:
        success["content"] = content
    responses: dict[str, Any] = {str(op.status): success}
    statuses = set(_STANDARD_ERRORS) | set(op.errors)
    if op.path_params:
        statuses.add(404)
    if op.body is not None or op.extra_content:
        statuses |= {413, 415}
    if op.idempotent:
        statuses.add(409)
    for status in sorted(statuses):
        responses[str(status)] = {"$ref": f"#/components/responses/{status}"}
    return responses
