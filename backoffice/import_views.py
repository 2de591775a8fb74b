"""Import of a customer base, in the administration area: send files, follow the check and the writing live,
read the errors, download templates and example files (rules in domain/imports)."""
from __future__ import annotations

from flask import Response, abort, flash, g, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField

from app.auth import staff_permission
from app.csv_export import wants_csv
from backoffice import exports
from app.i18n import tenant_today
from backoffice.admin_views import bp
from backoffice.import_texts import (
    KIND_ABOUT,
    KIND_TITLES,
    STATUS_NAMES,
    column_meaning,
    error_message,
    format_name,
)
from domain.billing.settings import default_billing_frequency
from domain.db import db, utcnow
from domain.imports import examples, services
from domain.imports.spec import COLUMNS, KINDS

FORMATS = ("csv", "xlsx")
ERRORS_SHOWN = 500
REFUSALS = {
    "no_file": lambda kind: _("Choose at least one file to import."),
    "format": lambda kind: _("Send a CSV or XLSX file."),
    "too_big": lambda kind: _("This file is too big (200 MB at most)."),
    "busy": lambda kind: _("Another import is in progress. Wait for it to finish."),
    "kind": lambda kind: _("Choose at least one file to import."),
    "state": lambda kind: _("This import cannot do that in its current state."),
}


class ImportForm(FlaskForm):
    """One optional file per kind; at least one is needed (checked by the service)."""


for _kind in KINDS:
    setattr(ImportForm, _kind, FileField(KIND_TITLES[_kind], render_kw={"accept": ".csv,.xlsx"},
                                         validators=[FileAllowed(FORMATS, _l("Send a CSV or XLSX file."))]))


class ImportActionForm(FlaskForm):
    """CSRF-only form of the resume button."""


def _import_or_404(public_id: str):
    imported = services.import_by_public_id(public_id)
    if imported is None:
        abort(404)
    return imported


@bp.route("/imports", methods=["GET", "POST"])
@staff_permission("admin.configure")
def imports():
    # Up to six files of a whole customer base: more than the app's limit for ordinary forms.
    request.max_content_length = len(KINDS) * services.MAX_FILE_BYTES + 1024 * 1024
    if request.method == "GET" and wants_csv():
        return exports.imports(services.latest_imports(), status_names=STATUS_NAMES)
    form = ImportForm()
    refusal = None
    if form.validate_on_submit():
        files = {kind: (form[kind].data.filename, form[kind].data.read()) for kind in KINDS if form[kind].data}
        try:
            imported = services.create_import(files=files, created_by=current_user.user.email, now=utcnow())
        except services.ImportRefused as exc:
            refusal = REFUSALS[exc.code](exc.kind)
        else:
            db.session.commit()
            services.start(imported)
            return redirect(url_for("admin.import_detail", public_id=imported.public_id))
    return render_template("backoffice/admin/imports.html", form=form, refusal=refusal,
                           imports=services.latest_imports(), kinds=KINDS, kind_titles=KIND_TITLES,
                           status_names=STATUS_NAMES), 422 if refusal or form.errors else 200


@bp.get("/imports/templates")
@staff_permission("admin.configure")
def import_templates():
    documented = [(kind, [(column, column_meaning(kind, column.name), format_name(column))
                          for column in COLUMNS[kind]]) for kind in KINDS]
    return render_template("backoffice/admin/import_templates.html", documented=documented, kind_titles=KIND_TITLES,
                           kind_about=KIND_ABOUT, formats=FORMATS)


def _download(table: list[list[str]], name: str, fmt: str) -> Response:
    if fmt == "csv":
        body, mimetype = examples.to_csv(table), "text/csv; charset=utf-8"
    else:
        body, mimetype = examples.to_xlsx(table), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return Response(body, mimetype=mimetype, headers={"Content-Disposition": f'attachment; filename="{name}.{fmt}"'})


def _kind_and_format(kind: str, fmt: str) -> None:
    if kind not in KINDS or fmt not in FORMATS:
        abort(404)


@bp.get("/imports/templates/<kind>.<fmt>")
@staff_permission("admin.configure")
def import_template(kind: str, fmt: str):
    _kind_and_format(kind, fmt)
    return _download(examples.as_table(kind, []), f"{kind}-template", fmt)


@bp.get("/imports/examples/<kind>.<fmt>")
@staff_permission("admin.configure")
def import_example(kind: str, fmt: str):
    _kind_and_format(kind, fmt)
    rows = examples.example_rows(offers=services.example_offers(), today=tenant_today(),
                                 frequency=default_billing_frequency(g.tenant))
    return _download(examples.as_table(kind, rows[kind]), f"{kind}-example", fmt)


@bp.get("/imports/<public_id>")
@staff_permission("admin.configure")
def import_detail(public_id: str):
    imported = _import_or_404(public_id)
    shown = (imported.errors or [])[:ERRORS_SHOWN]
    errors = [(error, error_message(error["code"], error["params"])) for error in shown]
    return render_template("backoffice/admin/import.html", imported=imported, progress=services.progress(imported),
                           summary=services.summary_counts(imported.id), errors=errors, errors_shown=ERRORS_SHOWN,
                           kind_titles=KIND_TITLES, status_names=STATUS_NAMES, form=ImportActionForm())


@bp.get("/imports/<public_id>/progress.json")
@staff_permission("admin.configure")
def import_progress(public_id: str):
    imported = _import_or_404(public_id)
    p = services.progress(imported)
    return jsonify(status=imported.status, total=p.total, processed=p.processed, percent=p.percent,
                   active=imported.is_active)


@bp.get("/imports/<public_id>/errors.<fmt>")
@staff_permission("admin.configure")
def import_errors(public_id: str, fmt: str):
    imported = _import_or_404(public_id)
    if fmt not in FORMATS:
        abort(404)
    table = [[_("File"), _("Row"), _("Column"), _("Error")]]
    table += [[str(KIND_TITLES.get(e["kind"], e["kind"])), str(e["row"]), e["column"],
               error_message(e["code"], e["params"])] for e in imported.errors or []]
    return _download(table, "import-errors", fmt)


@bp.post("/imports/<public_id>/resume")
@staff_permission("admin.configure")
def import_resume(public_id: str):
    imported = _import_or_404(public_id)
    if not ImportActionForm().validate_on_submit():
        abort(400)
    try:
        services.resume(imported)
    except services.ImportRefused as exc:
        flash(REFUSALS[exc.code](None), "error")
    else:
        db.session.commit()
        services.dispatch_resume(imported)
        flash(_("The import goes on where it stopped."), "success")
    return redirect(url_for("admin.import_detail", public_id=public_id))
