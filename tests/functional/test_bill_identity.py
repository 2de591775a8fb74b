"""Bills print the utility's legal identity (legal name, registration and VAT numbers, registered office, customer
service and its hours, the emergency number of the bill's activity, the ombudsman) as it stood when each bill was
issued: a later change applies to the bills issued after it and never rewrites an issued one, even one whose
document is first rendered after the change."""
from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from domain.billing import runs
from domain.billing.document_jobs import documents_on_demand
from domain.billing.models import Bill
from domain.brand import identity
from domain.db import db, utcnow
from tenants.context import tenant_scope
from tests.functional.test_bill_documents_fixed import _customer_pdf, _stored, _text

IDENTITY = {
    "legal": {"legal_name": "Alpha Énergie SA", "company_registration": "RCS Lyon 552 081 317",
              "vat_number": "FR40303265045", "registered_office": "10 place Bellecour\n69002 Lyon", "website": None},
    "service": {"support_phone": "04 72 00 00 00", "support_hours": "Mon-Fri 8:00-18:00",
                "support_email": "service@alpha.example", "postal_address": "BP 12\n69001 Lyon",
                "emergency_phones": {"electricity": "09 72 67 50 69", "gas": "0800 47 33 33"}},
    "ombudsman": {"dispute_contact": "reclamations@alpha.example", "ombudsman": "Médiateur national de l'énergie",
                  "ombudsman_contact": "www.energie-mediateur.fr"},
}


@pytest.fixture(autouse=True)
def _jobs_in_process(app, monkeypatch):
    monkeypatch.setitem(app.config, "REDIS_URL", None)


def _save(app, data, group, values):
    with app.app_context(), tenant_scope(data.tenant_id):
        identity.save_group(group=group, values=values, author="admin@alpha.test", now=utcnow())
        db.session.commit()


def _issue(app, data, billing_date: date, *, on_demand: bool = False) -> Bill:
    with app.app_context(), tenant_scope(data.tenant_id):
        run = runs.create_run(billing_date=billing_date, mode="issue", scope_activity=None, scope_cycle=None,
                              created_by="test", now=utcnow())
        db.session.commit()
        if on_demand:
            with documents_on_demand():
                runs.start(run)
        else:
            runs.start(run)
        bill = db.session.scalar(select(Bill).where(Bill.billing_run_id == run.id))
        db.session.expunge(bill)
        return bill


def test_the_bill_prints_the_legal_identity(app, two_tenants):
    a, _b = two_tenants  # its customer has an electricity contract
    for group, values in IDENTITY.items():
        _save(app, a, group, values)

    text = _text(_stored(app, _issue(app, a, date(2024, 2, 1))))

    for fact in ("Alpha Énergie SA", "Registered office: 10 place Bellecour, 69002 Lyon",
                 "Company registration: RCS Lyon 552 081 317", "VAT number: FR40303265045",
                 "Customer service: 04 72 00 00 00 (Mon-Fri 8:00-18:00)",
                 "Emergencies (electricity), day and night: 09 72 67 50 69",
                 "reclamations@alpha.example", "Médiateur national de l'énergie (www.energie-mediateur.fr)"):
        assert fact in text, fact
    assert "0800 47 33 33" not in text  # the gas emergency number: not this bill's activity


def test_a_changed_identity_applies_to_later_bills_and_never_rewrites_an_issued_one(app, two_tenants, clock):
    a, _b = two_tenants
    for group, values in IDENTITY.items():
        _save(app, a, group, values)
    rendered_at_issue = _issue(app, a, date(2024, 2, 1))
    first_opened_later = _issue(app, a, date(2024, 3, 1), on_demand=True)  # rendered when first opened
    before = _stored(app, rendered_at_issue)
    clock.move_to(utcnow() + timedelta(days=2))

    _save(app, a, "legal", {**IDENTITY["legal"], "legal_name": "Alpha Renamed SAS", "vat_number": "DE123456789"})
    _save(app, a, "service", {**IDENTITY["service"], "support_phone": "01 23 45 67 89"})
    later = _issue(app, a, date(2024, 4, 1))

    assert _customer_pdf(app, a, rendered_at_issue.number).data == before
    opened = _text(_customer_pdf(app, a, first_opened_later.number).data)
    assert first_opened_later.document_path is None
    assert "Alpha Énergie SA" in opened and "FR40303265045" in opened and "04 72 00 00 00" in opened
    assert "Alpha Renamed SAS" not in opened and "01 23 45 67 89" not in opened
    new = _text(_stored(app, later))
    assert "Alpha Renamed SAS" in new and "VAT number: DE123456789" in new and "01 23 45 67 89" in new
    assert "Alpha Énergie SA" not in new
