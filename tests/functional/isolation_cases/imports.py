"""Isolation cases of the customer base import: tenant B's imports are missing on tenant A's host, and the
templates and example files of A are made from A's offers only."""
from __future__ import annotations

from sqlalchemy import select

from domain.db import db, utcnow
from domain.imports.models import CustomerImport
from domain.offers.models import Offer
from tenants.context import tenant_scope
from tests.isolation import MISSING, _same_as_missing


def _import_of(app, tenant_id: int, status: str = "failed") -> str:
    with app.app_context(), tenant_scope(tenant_id):
        imported = CustomerImport(files={"customers": {"name": "bravo-customers.csv", "key": "-", "format": "csv"}},
                                  created_by="admin@bravo.test", created_at=utcnow(), status=status,
                                  failure="stopped",
                                  errors=[{"kind": "customers", "row": 2, "column": "email", "code": "bad_email",
                                           "params": {}}])
        db.session.add(imported)
        db.session.commit()
        return imported.public_id


def _admin(browser, a):
    office = browser(a.slug)
    office.login(a.staff_emails["tenant_admin"], area="/backoffice")
    return office


def _offer_code(app, tenant_id: int) -> str:
    with app.app_context(), tenant_scope(tenant_id):
        return db.session.scalar(select(Offer.code))


def case_admin_imports(app, browser, a, b):
    b_import = _import_of(app, b.tenant_id)
    page = _admin(browser, a).get("/backoffice/admin/imports")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert b_import not in text and "admin@bravo.test" not in text


def case_admin_import_templates(app, browser, a, b):
    page = _admin(browser, a).get("/backoffice/admin/imports/templates")
    assert page.status_code == 200 and _offer_code(app, b.tenant_id) not in page.get_data(as_text=True)


def case_admin_import_template(app, browser, a, b):
    response = _admin(browser, a).get("/backoffice/admin/imports/templates/contracts.csv")
    assert response.status_code == 200 and _offer_code(app, b.tenant_id).encode() not in response.data


def case_admin_import_example(app, browser, a, b):
    a_code, b_code = _offer_code(app, a.tenant_id), _offer_code(app, b.tenant_id)
    response = _admin(browser, a).get("/backoffice/admin/imports/examples/contracts.csv")
    text = response.data.decode("utf-8-sig")
    assert response.status_code == 200 and a_code in text and b_code not in text


def case_admin_import_detail(app, browser, a, b):
    b_import = _import_of(app, b.tenant_id)
    _same_as_missing(_admin(browser, a), f"/backoffice/admin/imports/{b_import}",
                     f"/backoffice/admin/imports/{MISSING}", b_import)


def case_admin_import_progress(app, browser, a, b):
    b_import = _import_of(app, b.tenant_id)
    office = _admin(browser, a)
    assert office.get(f"/backoffice/admin/imports/{b_import}/progress.json").status_code == 404
    assert office.get(f"/backoffice/admin/imports/{MISSING}/progress.json").status_code == 404


def case_admin_import_errors(app, browser, a, b):
    b_import = _import_of(app, b.tenant_id, status="invalid")
    _same_as_missing(_admin(browser, a), f"/backoffice/admin/imports/{b_import}/errors.csv",
                     f"/backoffice/admin/imports/{MISSING}/errors.csv", b_import)


def case_admin_import_resume(app, browser, a, b):
    b_import = _import_of(app, b.tenant_id)
    office = _admin(browser, a)
    response = office.submit("/backoffice/admin/imports", {}, action=f"/backoffice/admin/imports/{b_import}/resume")
    assert response.status_code == 404
    with app.app_context(), tenant_scope(b.tenant_id):
        assert db.session.scalar(select(CustomerImport.status).where(CustomerImport.public_id == b_import)) == "failed"
