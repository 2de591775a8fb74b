"""The OpenAPI description (`/api/v1/openapi.json`) and its reference page, both public and served by the app."""
from __future__ import annotations

import json

from flask import Response, render_template, request
from markdown_it import MarkdownIt
from markupsafe import Markup

from api.blueprint import bp
from api.openapi import openapi_document

_markdown = MarkdownIt("commonmark", {"html": False})


@bp.get("/openapi.json")
def openapi():
    document = openapi_document(request.script_root + bp.url_prefix)
    return Response(json.dumps(document, indent=1), mimetype="application/json")


def _type_of(schema: dict) -> str:
    """A schema's type in a few words for the reference page (`list of Reading`, `string (date)`, `Bill or null`)."""
    if "$ref" in schema:
        return schema["$ref"].rsplit("/", 1)[-1]
    if "anyOf" in schema:
        return " or ".join(_type_of(alternative) for alternative in schema["anyOf"])
    if "const" in schema:
        return f'"{schema["const"]}"'
    if "enum" in schema:
        return " | ".join(f'"{value}"' for value in schema["enum"])
    kind = schema.get("type", "any")
    if kind == "array":
        return f"list of {_type_of(schema.get('items', {}))}"
    if kind == "object" and "additionalProperties" in schema and isinstance(schema["additionalProperties"], dict):
        return f"map of {_type_of(schema['additionalProperties'])}"
    if "format" in schema:
        return f"{kind} ({schema['format']})"
    return kind


@bp.get("/reference")
def reference():
    document = openapi_document(request.script_root + bp.url_prefix)
    by_tag: dict[str, list[dict]] = {}
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            tag = (operation.get("tags") or ["Other"])[0]
            by_tag.setdefault(tag, []).append({"path": path, "method": method.upper(), **operation})
    return render_template(
        "api/reference.html", document=document, by_tag=dict(sorted(by_tag.items())),
        markdown=lambda text: Markup(_markdown.render(text or "")), type_of=_type_of,
        schemas=document["components"]["schemas"])
