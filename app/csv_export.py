"""Lists exported as CSV: what a list page shows for its current filter, as a file a spreadsheet opens.

`csv_response(name, header, rows)` streams UTF-8 with a byte-order mark (so Excel reads accents), comma separated,
CRLF line ends. Text cells that a spreadsheet would run as a formula (starting with =, +, -, @, tab or carriage
return) are prefixed with an apostrophe; numbers, Decimals and dates are written as values (a negative amount stays
a number). Pages link to it with the `export_link` macro of templates/_macros/export.html, which keeps the page's
query string and adds `format=csv`; a view tells the two apart with `wants_csv()`.
"""
from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal

from flask import Response, request, stream_with_context

from app.i18n import tenant_today
from tenants.context import current_tenant_id, tenant_scope

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
ROWS_PER_CHUNK = 500


def wants_csv() -> bool:
    return request.args.get("format") == "csv"


def cell(value) -> str | int | Decimal:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (int, Decimal, float)):
        return value
    if isinstance(value, datetime):
        return value.isoformat(timespec="seconds")
    if isinstance(value, date):
        return value.isoformat()
    text = str(value)
    if text.startswith(FORMULA_STARTS):
        return "'" + text
    return text


def csv_text(header: Sequence[str], rows: Iterable[Sequence]) -> Iterable[str]:
    """The file in pieces: the header line with its byte-order mark, then rows by chunks."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([cell(str(name)) for name in header])
    yield "\ufeff" + buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    for count, row in enumerate(rows, start=1):
        writer.writerow([cell(value) for value in row])
        if count % ROWS_PER_CHUNK == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def _in_tenant(pieces: Iterable[str], tenant_id: int | None) -> Iterable[str]:
    """The pieces made inside the request's tenant: the body is written after the view returned, when the request
    has left its tenant, and the ORM guard refuses a query with none."""
    if tenant_id is None:
        yield from pieces
        return
    with tenant_scope(tenant_id):
        yield from pieces


def csv_response(name: str, header: Sequence[str], rows: Iterable[Sequence]) -> Response:
    """A download named `<name>-<tenant's today>.csv`; `rows` may be a generator reading the database lazily."""
    filename = f"{name}-{tenant_today().isoformat()}.csv"
    body = _in_tenant(csv_text(header, rows), current_tenant_id())
    response = Response(stream_with_context(body), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "no-store"
    return response
