"""The bill document job: rendered once, filed under the tenant's prefix, never across tenants."""
import io
import re
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from domain.billing import document_jobs
from domain.billing.document_data import BillNotFound, BillNotIssued, build_bill_document
from domain.billing.document_jobs import render_bill_document
from domain.billing.models import Bill
from domain.contracts.models import CustomerAccount
from domain.db import db
from domain.i18n import translator
from domain.sites.models import DeliveryPoint
from tenants.context import tenant_scope
from tests.factories import ContactPointFactory, MeterReadingFactory


def _text(pdf: bytes) -> str:
    reader = PdfReader(io.BytesIO(pdf))
    return re.sub(r"\s+", " ", " ".join(page.extract_text() for page in reader.pages))


def _bill(data) -> Bill:
    return db.session.scalar(select(Bill).where(Bill.number == data.bill_number))


def _account(data) -> CustomerAccount:
    return db.session.scalar(select(CustomerAccount).where(CustomerAccount.account_number == data.account_number))


def test_renders_the_bill_and_files_it_under_the_tenants_prefix(app, two_tenants):
    a, _b = two_tenants
    with app.app_context(), tenant_scope(a.tenant_id):
        bill_id = _bill(a).id
        customer_name = _account(a).holder.display_name

        key = render_bill_document(bill_id=bill_id)
        db.session.commit()

        assert key.startswith(f"tenants/{a.tenant_id}/bills/") and key.endswith(f"{a.bill_number}.pdf")
        assert db.session.get(Bill, bill_id).document_path == key
    path = Path(app.config["FILES_DIR"]) / key
    assert path.is_file()
    text = _text(path.read_bytes())
    assert a.bill_number in text
    assert customer_name in text
    assert a.delivery_point_identifier in text
    assert "€60.00" in text and "15 November 2026" in text


def test_a_second_run_keeps_the_stored_document_without_rendering_again(app, two_tenants, monkeypatch):
    a, _b = two_tenants
    with app.app_context(), tenant_scope(a.tenant_id):
        bill_id = _bill(a).id
        first = render_bill_document(bill_id=bill_id)
        db.session.commit()
        stored = (Path(app.config["FILES_DIR"]) / first).read_bytes()

        def must_not_render(*args, **kwargs):
            raise AssertionError("the document was rendered again")

        monkeypatch.setattr(document_jobs, "render_bill_pdf", must_not_render)
        second = render_bill_document(bill_id=bill_id)
        db.session.commit()

    assert second == first
    assert (Path(app.config["FILES_DIR"]) / first).read_bytes() == stored
    folder = Path(app.config["FILES_DIR"]) / f"tenants/{a.tenant_id}/bills"
    assert len(list(folder.glob(f"*{a.bill_number}.pdf"))) == 1


def test_renders_again_when_the_stored_file_is_gone(app, two_tenants):
    a, _b = two_tenants
    with app.app_context(), tenant_scope(a.tenant_id):
        bill = _bill(a)
        bill.document_path = f"tenants/{a.tenant_id}/bills/lost-{a.bill_number}.pdf"
        db.session.commit()

        key = render_bill_document(bill_id=bill.id)
        db.session.commit()

    assert key != f"tenants/{a.tenant_id}/bills/lost-{a.bill_number}.pdf"
    assert (Path(app.config["FILES_DIR"]) / key).is_file()


def test_a_bill_of_another_tenant_is_not_found(app, two_tenants):
    a, b = two_tenants
    with app.app_context(), tenant_scope(a.tenant_id):
        bill_id = _bill(a).id

    with app.app_context(), tenant_scope(b.tenant_id):
        with pytest.raises(BillNotFound):
            render_bill_document(bill_id=bill_id)
        with pytest.raises(BillNotFound):
            build_bill_document(bill_id=bill_id)
        db.session.rollback()

    with app.app_context(), tenant_scope(a.tenant_id):
        assert db.session.get(Bill, bill_id).document_path is None


def test_a_draft_bill_has_no_document(app, two_tenants):
    a, _b = two_tenants
    with app.app_context(), tenant_scope(a.tenant_id):
        bill = _bill(a)
        draft = Bill(account_id=bill.account_id, kind="periodic", status="draft", period_start=date(2026, 10, 1),
                     period_end=date(2026, 11, 1), currency="EUR")
        db.session.add(draft)
        db.session.flush()

        with pytest.raises(BillNotIssued):
            build_bill_document(bill_id=draft.id)
        db.session.rollback()


def test_builds_the_document_data_from_the_database(app, two_tenants):
    a, _b = two_tenants
    with app.app_context(), tenant_scope(a.tenant_id):
        account = _account(a)
        account.locale = "fr"
        ContactPointFactory(party=account.holder, kind="postal", value=None, address_line1="8 avenue Foch",
                            postcode="75016", city="Paris", country="FR")
        db.session.commit()

        doc = build_bill_document(bill_id=_bill(a).id)

    assert doc.bill_number == a.bill_number and doc.account_number == a.account_number
    assert doc.locale == "fr_FR" and doc.kind == "periodic" and doc.currency == "EUR"
    assert doc.customer_address[1:] == ("8 avenue Foch", "75016 Paris")
    assert doc.issue_date == date(2026, 11, 1) and doc.due_date == date(2026, 11, 15)
    assert doc.period_last_day == date(2026, 9, 30)
    assert doc.tenant.name == "Alpha Utility" and doc.tenant.iban is None
    assert [(line.description, line.quantity, line.unit) for line in doc.lines] == [
        ("Energy", Decimal("200.000"), "kWh")]
    assert [(t.rate, t.base, t.tax) for t in doc.tax_totals] == [(Decimal("0.2"), Decimal("50.00"), Decimal("10.00"))]
    assert doc.total_incl_tax == Decimal("60.00")
    assert doc.delivery_points == (a.delivery_point_identifier,)
    assert doc.tariff_name.startswith("Base offer") and doc.contract_end_date is None
    pod = doc.consumption[0]
    # What the meter measured between the readings shown (1000 -> 1234), not the bill lines' quantities.
    assert pod.identifier == a.delivery_point_identifier and pod.quantity == Decimal("234.000")
    assert pod.readings[0].end_value == Decimal("1234.000") and pod.readings[0].start_value == Decimal("1000.000")
    assert not pod.estimated
    assert doc.comparisons[0].this_year == Decimal("234.000") and doc.comparisons[0].last_year is None
    assert doc.dispute_text.startswith(translator("fr")("To dispute this bill, contact our customer service first."))


def test_compares_with_the_same_period_last_year_from_the_readings(app, two_tenants):
    a, _b = two_tenants
    with app.app_context(), tenant_scope(a.tenant_id):
        dp = db.session.scalar(select(DeliveryPoint).where(DeliveryPoint.identifier == a.delivery_point_identifier))
        register = dp.current_meter.registers[0]
        for read_on, value in ((date(2025, 9, 1), "500"), (date(2025, 10, 1), "680"), (date(2026, 9, 1), "1034")):
            MeterReadingFactory(register=register, read_on=read_on, value=Decimal(value), source="agent")
        db.session.commit()

        doc = build_bill_document(bill_id=_bill(a).id)

    readings = doc.consumption[0].readings[0]
    assert (readings.start_date, readings.start_value, readings.start_estimated) == (
        date(2026, 9, 1), Decimal("1034.000"), False)
    assert readings.quantity == Decimal("200.000")
    assert doc.comparisons[0].last_year == Decimal("180.000")


def test_no_comparison_when_the_bill_rests_on_an_estimated_reading(app, two_tenants):
    a, _b = two_tenants
    with app.app_context(), tenant_scope(a.tenant_id):
        dp = db.session.scalar(select(DeliveryPoint).where(DeliveryPoint.identifier == a.delivery_point_identifier))
        register = dp.current_meter.registers[0]
        MeterReadingFactory(register=register, read_on=date(2026, 10, 1), value=Decimal("1240"), source="estimated",
                            received_at=datetime(2026, 11, 2, tzinfo=UTC))
        db.session.commit()

        doc = build_bill_document(bill_id=_bill(a).id)

    assert doc.consumption[0].estimated
    assert doc.comparisons == ()


def _issued_run_with_bills(data, count: int) -> tuple[int, list[int], int]:
    """A completed run holding `count` bills of the account, and one bill outside the run."""
    from domain.billing.run_models import BillingRun
    from domain.db import utcnow
    from tests.factories import BillFactory, BillLineFactory

    account = _account(data)
    run = BillingRun(billing_date=date(2026, 11, 1), mode="issue", status="completed", created_at=utcnow(),
                     created_by="test")
    db.session.add(run)
    db.session.flush()
    in_run = []
    for month in range(count):
        bill = BillFactory(account=account, billing_run_id=run.id, period_start=date(2025, month + 1, 1),
                           period_end=date(2025, month + 2, 1))
        BillLineFactory(bill=bill)
        in_run.append(bill.id)
    outside = _bill(data).id
    db.session.commit()
    return run.id, in_run, outside


def test_a_completed_run_has_its_documents_rendered_in_batches(app, two_tenants, monkeypatch):
    from app.jobs import run_job

    monkeypatch.setitem(app.config, "REDIS_URL", None)  # batches chain in-process, as on the workers
    a, _b = two_tenants
    with app.app_context(), tenant_scope(a.tenant_id):
        run_id, in_run, outside = _issued_run_with_bills(a, 5)

    with app.app_context():
        first = run_job("billing.render_run_documents", a.tenant_id, kwargs={"run_id": run_id, "batch_size": 2})

    assert first["rendered"] == 2  # the other batches followed as jobs of their own
    with app.app_context(), tenant_scope(a.tenant_id):
        paths = {bill.id: bill.document_path for bill in db.session.scalars(select(Bill))}
    assert all(paths[bill_id] for bill_id in in_run)
    assert all((Path(app.config["FILES_DIR"]) / paths[bill_id]).is_file() for bill_id in in_run)
    assert paths[outside] is None  # not in the run: rendered when someone asks for it


def test_without_workers_a_runs_documents_wait_for_their_first_download(app, two_tenants, monkeypatch):
    from domain.jobs import dispatch

    monkeypatch.setitem(app.config, "REDIS_URL", None)
    a, _b = two_tenants
    with app.app_context(), tenant_scope(a.tenant_id):
        run_id, in_run, _outside = _issued_run_with_bills(a, 2)

        dispatch("billing.render_run_documents", tenant_id=a.tenant_id, background_only=True, run_id=run_id)

        db.session.expire_all()
        assert [db.session.get(Bill, bill_id).document_path for bill_id in in_run] == [None, None]
