"""The import page as a tenant administrator uses it: templates, example files, errors, progress, resume."""
from __future__ import annotations

import csv
import io

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from domain.contracts.models import CustomerAccount
from domain.db import db
from domain.identity.models import StaffUser
from domain.imports.models import CustomerImport
from domain.imports.spec import KINDS
from tenants.context import tenant_scope


@pytest.fixture(autouse=True)
def _jobs_in_process(app, monkeypatch):
    """The import runs in this process, as on the embedded default (tests/integration/test_jobs.py runs workers)."""
    monkeypatch.setitem(app.config, "REDIS_URL", None)


def _office(browser, data):
    office = browser(data.slug)
    office.login(data.staff_emails["tenant_admin"], area="/backoffice")
    return office


def _send(office, files: dict[str, tuple[str, bytes]]):
    token = office.csrf("/backoffice/admin/imports")
    data = {"csrf_token": token}
    for kind, (name, body) in files.items():
        data[kind] = (io.BytesIO(body), name)
    return office.post("/backoffice/admin/imports", data=data, content_type="multipart/form-data")


def _examples(office, fmt: str) -> dict[str, tuple[str, bytes]]:
    files = {}
    for kind in KINDS:
        response = office.get(f"/backoffice/admin/imports/examples/{kind}.{fmt}")
        assert response.status_code == 200
        files[kind] = (f"{kind}.{fmt}", response.data)
    return files


def _accounts(app, tenant_id: int) -> int:
    with app.app_context(), tenant_scope(tenant_id):
        return db.session.scalar(select(func.count(CustomerAccount.id)))


def test_the_administration_home_lists_the_import(app, browser, two_tenants):
    a, _b = two_tenants

    page = _office(browser, a).get("/backoffice/admin/").get_data(as_text=True)

    assert 'href="/backoffice/admin/imports"' in page


def test_templates_document_every_column_and_download_as_csv_and_xlsx(app, browser, two_tenants):
    a, _b = two_tenants
    office = _office(browser, a)

    page = office.get("/backoffice/admin/imports/templates").get_data(as_text=True)
    template = office.get("/backoffice/admin/imports/templates/contracts.csv")
    workbook = office.get("/backoffice/admin/imports/templates/readings.xlsx")

    assert "<code>offer_code</code>" in page and "Date, YYYY-MM-DD" in page
    assert "Code of one of this utility&#39;s offers" in page
    assert template.headers["Content-Disposition"] == 'attachment; filename="contracts-template.csv"'
    assert template.data.decode("utf-8-sig").splitlines()[0].startswith("contract_ref,customer_ref,pod_ref,offer_code")
    sheet = load_workbook(io.BytesIO(workbook.data), read_only=True).worksheets[0]
    assert next(sheet.iter_rows(values_only=True))[:4] == ("meter_ref", "register", "read_on", "value")


def test_example_files_import_with_a_progress_page_and_again_change_nothing(app, browser, two_tenants):
    a, _b = two_tenants
    office = _office(browser, a)
    before = _accounts(app, a.tenant_id)
    files = _examples(office, "xlsx")

    sent = _send(office, files)
    page = office.get(sent.headers["Location"])
    again = _send(office, files)

    assert sent.status_code == 302
    text = page.get_data(as_text=True)
    assert "Completed" in text and 'value="100"' in text and "What was imported" in text
    assert _accounts(app, a.tenant_id) == before + 1
    assert again.status_code == 302 and _accounts(app, a.tenant_id) == before + 1
    public_id = sent.headers["Location"].rsplit("/", 1)[1]
    progress = office.get(f"/backoffice/admin/imports/{public_id}/progress.json").get_json()
    assert progress == {"status": "completed", "total": 8, "processed": 8, "percent": 100, "active": False}


def test_errors_are_listed_by_row_and_column_in_the_administrators_language(app, browser, two_tenants):
    a, _b = two_tenants
    office = _office(browser, a)
    files = _examples(office, "csv")
    contracts = files["contracts"][1].decode("utf-8-sig").replace(",2", ",31/12/2024", 1)
    files["contracts"] = ("contracts.csv", contracts.encode())
    readings = list(csv.reader(io.StringIO(files["readings"][1].decode("utf-8-sig"))))
    readings[2][0] = "MTR-9999"
    buffer = io.StringIO()
    csv.writer(buffer).writerows(readings)
    files["readings"] = ("readings.csv", buffer.getvalue().encode())
    before = _accounts(app, a.tenant_id)

    sent = _send(office, files)
    page = office.get(sent.headers["Location"]).get_data(as_text=True)
    with app.app_context(), tenant_scope(a.tenant_id):
        db.session.scalar(select(StaffUser).where(StaffUser.email == a.staff_emails["tenant_admin"])).locale = "fr"
        db.session.commit()
    listed = office.get(sent.headers["Location"] + "/errors.csv").data.decode("utf-8-sig")

    assert _accounts(app, a.tenant_id) == before
    assert "2 errors found: nothing was imported" in page
    assert "Enter a date as YYYY-MM-DD." in page
    assert "No meter has this reference, in the files or already imported." in page
    rows = list(csv.reader(io.StringIO(listed)))
    assert rows[0][3] == "Erreur"  # in the administrator's language, as they read it now
    assert [row[1:3] for row in rows[1:]] == [["2", "start_date"], ["3", "meter_ref"]]


def test_a_bad_file_type_is_refused_with_a_message_and_nothing_recorded(app, browser, two_tenants):
    a, _b = two_tenants
    office = _office(browser, a)

    response = _send(office, {"customers": ("customers.pdf", b"%PDF-1.4")})
    empty = _send(office, {})

    assert response.status_code == 422 and "Send a CSV or XLSX file." in response.get_data(as_text=True)
    assert empty.status_code == 422 and "Choose at least one file to import." in empty.get_data(as_text=True)
    with app.app_context(), tenant_scope(a.tenant_id):
        assert db.session.scalar(select(func.count(CustomerImport.id))) == 0


def test_other_staff_cannot_open_the_import(app, browser, two_tenants):
    a, _b = two_tenants
    office = browser(a.slug)
    office.login(a.staff_emails["billing"], area="/backoffice")

    assert office.get("/backoffice/admin/imports").status_code == 403
    assert office.get("/backoffice/admin/imports/examples/customers.csv").status_code == 403
