"""Billing runs end to end on the database: simulate, issue, cancel, resume, exceptions, idempotence."""
from __future__ import annotations

from datetime import UTC, date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from domain.accounting.models import LedgerEntry
from domain.billing import runs
from domain.billing.jobs import bill_chunk
from domain.billing.models import Bill, BillLine
from domain.billing.run_models import BillingException, BillingRun, BillingRunChunk
from domain.contracts.models import Contract
from domain.db import db, utcnow
from domain.offers.models import TariffVersion
from domain.tasks.models import Task
from tenants.context import tenant_scope

BILLING_DATE = date(2024, 3, 1)  # the factories' contracts start on 2024-01-01, monthly


@pytest.fixture(autouse=True)
def _jobs_in_process(app, monkeypatch):
    """These tests follow a run job by job in this process; test_jobs.py runs a real RQ worker."""
    monkeypatch.setitem(app.config, "REDIS_URL", None)


def _start(app, tenant_id: int, mode: str = "simulate", billing_date: date = BILLING_DATE) -> int:
    with app.app_context(), tenant_scope(tenant_id):
        run = runs.create_run(billing_date=billing_date, mode=mode, scope_activity=None, scope_cycle=None,
                              created_by="test", now=utcnow())
        db.session.commit()
        runs.start(run)  # no Redis in this test: the jobs run in-process, right here
        return run.id


def _count(app, tenant_id: int, model, *where) -> int:
    with app.app_context(), tenant_scope(tenant_id):
        return db.session.scalar(select(func.count(model.id)).where(*where))


def _run(app, tenant_id: int, run_id: int) -> BillingRun:
    with app.app_context(), tenant_scope(tenant_id):
        return db.session.get(BillingRun, run_id)


def test_simulation_writes_draft_bills_and_issues_nothing(app, two_tenants):
    a, b = two_tenants

    run_id = _start(app, a.tenant_id)

    run = _run(app, a.tenant_id, run_id)
    assert run.status == "simulated" and run.total_contracts == 1
    with app.app_context(), tenant_scope(a.tenant_id):
        bill = db.session.scalar(select(Bill).where(Bill.billing_run_id == run_id))
        lines = db.session.scalars(select(BillLine).where(BillLine.bill_id == bill.id)).all()
        assert bill.status == "draft" and bill.number is None
        assert (bill.period_start, bill.period_end) == (date(2024, 1, 1), date(2024, 2, 1))
        assert bill.estimated  # no reading at the period's ends: estimated from the annual consumption
        assert sum(line.amount for line in lines) == bill.total_excl_tax
        assert bill.total_excl_tax + bill.total_tax == bill.total_incl_tax
        standing = next(line for line in lines if line.component == "standing_charge")
        assert standing.quantity == Decimal("31.000") and standing.amount == Decimal("13.95")  # 31 x 0.45
    assert _count(app, a.tenant_id, LedgerEntry, LedgerEntry.bill_id.isnot(None)) == 1  # only the factory's bill
    assert _count(app, b.tenant_id, Bill) == 1  # the other tenant is untouched


def test_issuing_a_simulated_run_numbers_bills_and_posts_the_ledger(app, two_tenants):
    a, _ = two_tenants
    run_id = _start(app, a.tenant_id)

    with app.app_context(), tenant_scope(a.tenant_id):
        run = db.session.get(BillingRun, run_id)
        runs.request_issue(run)
        db.session.commit()
        runs.dispatch_issue(run)

    with app.app_context(), tenant_scope(a.tenant_id):
        run = db.session.get(BillingRun, run_id)
        bill = db.session.scalar(select(Bill).where(Bill.billing_run_id == run_id))
        entry = db.session.scalar(select(LedgerEntry).where(LedgerEntry.bill_id == bill.id))
        contract = db.session.get(Contract, bill.contract_id)
        assert run.status == "completed"
        assert bill.status == "issued" and bill.number == "2024-0000001"
        # 14 days of payment terms from the day it is really issued, the run being dated 1 March 2024
        assert bill.due_date == bill.issued_at.date() + timedelta(days=14)
        assert entry.direction == "debit" and entry.amount == bill.total_incl_tax
        assert contract.billed_until == date(2024, 2, 1)


def test_issue_mode_bills_each_due_period_once(app, two_tenants):
    a, _ = two_tenants

    first = _start(app, a.tenant_id, mode="issue")
    second = _start(app, a.tenant_id, mode="issue")

    assert _run(app, a.tenant_id, first).status == "completed"
    assert _run(app, a.tenant_id, second).status == "completed"
    with app.app_context(), tenant_scope(a.tenant_id):
        periods = db.session.execute(select(Bill.period_start, Bill.number).where(
            Bill.billing_run_id.in_((first, second))).order_by(Bill.period_start)).all()
    # The second run bills the next month: the first month is billed already.
    assert periods == [(date(2024, 1, 1), "2024-0000001"), (date(2024, 2, 1), "2024-0000002")]


def test_a_chunk_run_twice_bills_nothing_twice(app, two_tenants):
    a, _ = two_tenants
    run_id = _start(app, a.tenant_id)

    with app.app_context(), tenant_scope(a.tenant_id):
        again = bill_chunk(run_id=run_id, chunk_number=1)
        db.session.commit()

    assert again == {"skipped": True}
    assert _count(app, a.tenant_id, Bill, Bill.billing_run_id == run_id) == 1


def test_cancel_deletes_the_drafts(app, two_tenants):
    a, _ = two_tenants
    run_id = _start(app, a.tenant_id)

    with app.app_context(), tenant_scope(a.tenant_id):
        runs.cancel(db.session.get(BillingRun, run_id), now=utcnow())
        db.session.commit()

    assert _run(app, a.tenant_id, run_id).status == "cancelled"
    assert _count(app, a.tenant_id, Bill, Bill.billing_run_id == run_id) == 0


def test_a_contract_without_tariff_becomes_an_exception_with_a_task(app, two_tenants):
    a, _ = two_tenants
    with app.app_context(), tenant_scope(a.tenant_id):
        version = db.session.scalar(select(TariffVersion))
        version.effective_from = date(2024, 1, 15)  # nothing in force from Jan 1 to Jan 15
        db.session.commit()

    run_id = _start(app, a.tenant_id)

    run = _run(app, a.tenant_id, run_id)
    assert run.status == "simulated"
    with app.app_context(), tenant_scope(a.tenant_id):
        exception = db.session.scalar(select(BillingException).where(BillingException.run_id == run_id))
        task = db.session.get(Task, exception.task_id)
        progress = runs.progress(run, now=utcnow())
    assert exception.code == "no_tariff"
    assert task.kind == "billing_exception" and "no_tariff" in task.title
    assert progress.exceptions == 1 and progress.billed == 0 and progress.processed == 1


def test_only_one_active_run_at_a_time(app, two_tenants):
    a, _ = two_tenants
    with app.app_context(), tenant_scope(a.tenant_id):
        runs.create_run(billing_date=BILLING_DATE, mode="simulate", scope_activity=None, scope_cycle=None,
                        created_by="test", now=utcnow())
        with pytest.raises(runs.RunError) as refused:
            runs.create_run(billing_date=BILLING_DATE, mode="simulate", scope_activity=None, scope_cycle=None,
                            created_by="test", now=utcnow())
        db.session.rollback()
    assert refused.value.code == "busy"


def test_failed_chunk_fails_the_run_and_resume_finishes_it(app, two_tenants, monkeypatch):
    import domain.billing.jobs as jobs

    a, _ = two_tenants
    real = jobs.bill_contract_range

    def broken(**kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(jobs, "bill_contract_range", broken)
    run_id = _start(app, a.tenant_id)
    failed = _run(app, a.tenant_id, run_id)
    monkeypatch.setattr(jobs, "bill_contract_range", real)
    with app.app_context(), tenant_scope(a.tenant_id):
        run = db.session.get(BillingRun, run_id)
        job = runs.prepare_resume(run)
        db.session.commit()
        runs.dispatch_resume(run, job)

    assert failed.status == "failed" and "database went away" in failed.error
    assert _run(app, a.tenant_id, run_id).status == "simulated"
    assert _count(app, a.tenant_id, BillingRunChunk, BillingRunChunk.status == "done") == 1


def test_cli_runs_and_prints_the_outcome(app, two_tenants):
    a, _ = two_tenants

    result = app.test_cli_runner().invoke(args=["billing", "run", "--tenant", a.slug, "--date", "2024-03-01"])

    assert result.exit_code == 0, result.output
    assert "100%" in result.output and "status completed: 1 bills, 0 exceptions" in result.output


def test_cancel_and_rebill_credits_the_original_and_bills_again_at_the_same_prices(app, two_tenants):
    from datetime import datetime

    from domain.billing.corrections import cancel_and_rebill

    a, _ = two_tenants
    run_id = _start(app, a.tenant_id, mode="issue")
    with app.app_context(), tenant_scope(a.tenant_id):
        original = db.session.scalar(select(Bill).where(Bill.billing_run_id == run_id))
        number, total = original.number, original.total_incl_tax

        credit, corrective = cancel_and_rebill(number=number, issued_at=datetime(2024, 3, 5, tzinfo=UTC),
                                               issue_date=date(2024, 3, 5))
        db.session.commit()

        original = db.session.scalar(select(Bill).where(Bill.number == number))
        ledger = dict(db.session.execute(select(LedgerEntry.bill_id, LedgerEntry.direction).where(
            LedgerEntry.bill_id.in_((credit.id, corrective.id)))).all())
        credit_lines = db.session.scalars(select(BillLine).where(BillLine.bill_id == credit.id)).all()

    assert original.status == "cancelled" and original.number == number  # keeps its number
    assert credit.kind == "credit_note" and credit.total_incl_tax == -total and credit.number == "2024-0000002"
    assert corrective.kind == "corrective" and corrective.number == "2024-0000003"
    assert corrective.total_incl_tax == total  # unchanged data: re-billing gives the same amount
    assert sum(line.amount for line in credit_lines) == credit.total_excl_tax
    assert ledger == {credit.id: "credit", corrective.id: "debit"}


def test_a_draft_or_credit_note_cannot_be_cancelled_and_rebilled(app, two_tenants):
    import pytest

    from domain.billing.corrections import CorrectionRefused, cancel_and_rebill

    a, _ = two_tenants
    with app.app_context(), tenant_scope(a.tenant_id):
        with pytest.raises(CorrectionRefused) as missing:
            cancel_and_rebill(number="nope", issued_at=utcnow(), issue_date=date(2024, 3, 5))
    assert missing.value.code == "not_found"


def test_bulk_writes_keep_text_numbers_and_nulls_exactly(app, two_tenants):
    from domain.billing.drafts import draft_row, insert_drafts
    from domain.billing.engine import BillLine as EngineLine

    a, _ = two_tenants
    odd = ['say "hi"', "back\\slash", "a,b {c} d", "NULL", "", "été – 5 €", "tab\there"]
    with app.app_context(), tenant_scope(a.tenant_id):
        contract = db.session.scalar(select(Contract))
        lines = tuple(EngineLine(
            component="energy", description=text, period_start=date(2030, 1, 1), period_end=date(2030, 2, 1),
            quantity=Decimal("1.250"), unit="kWh", unit_price=Decimal("0.123456"), amount=Decimal(f"-{n}.05"),
            tax_rate=Decimal("0.2"), register_code=None if n % 2 else "PEAK") for n, text in enumerate(odd))

        class Totals:
            total_excl_tax, total_tax, total_incl_tax, estimated, consumption = (
                Decimal("1.00"), Decimal("0.20"), Decimal("1.20"), False, ())

        row = draft_row(tenant_id=a.tenant_id, account_id=contract.account_id, contract_id=contract.id,
                        kind="periodic", period_start=date(2030, 1, 1), period_end=date(2030, 2, 1),
                        currency="EUR", result=Totals())
        [bill_id] = insert_drafts(db.session, tenant_id=a.tenant_id, drafts=[(row, lines)])
        db.session.commit()

        stored = db.session.execute(select(BillLine.description, BillLine.amount, BillLine.register_code,
                                           BillLine.position).where(BillLine.bill_id == bill_id)
                                    .order_by(BillLine.position)).all()
        bill = db.session.get(Bill, bill_id)

    assert [r.description for r in stored] == odd
    assert [r.amount for r in stored] == [Decimal(f"-{n}.05") for n in range(len(odd))]
    assert [r.register_code for r in stored] == [None if n % 2 else "PEAK" for n in range(len(odd))]
    assert [r.position for r in stored] == list(range(1, len(odd) + 1))
    assert (bill.status, bill.public_id, bill.total_incl_tax) == ("draft", row["public_id"], Decimal("1.20"))


@pytest.mark.parametrize(("field", "value", "billed"), [
    ("scope_activity", "electricity", 1), ("scope_activity", "gas", 0), ("scope_cycle", "no-such-cycle", 0)])
def test_a_run_bills_only_its_scope(app, two_tenants, field, value, billed):
    a, _ = two_tenants
    with app.app_context(), tenant_scope(a.tenant_id):
        scope = {"scope_activity": None, "scope_cycle": None, field: value}
        run = runs.create_run(billing_date=BILLING_DATE, mode="simulate", created_by="test", now=utcnow(), **scope)
        db.session.commit()
        runs.start(run)
        run_id = run.id

    assert _count(app, a.tenant_id, Bill, Bill.billing_run_id == run_id) == billed


def test_a_chunks_exceptions_read_the_service_level_of_their_tasks_once(app, two_tenants):
    from types import SimpleNamespace

    from sqlalchemy import event

    from domain.billing.chunk import _record_problems
    from tests.factories import ContractFactory, WorkGroupFactory

    a, _ = two_tenants
    with app.app_context(), tenant_scope(a.tenant_id):
        from domain.tasks.models import WorkGroup
        if db.session.scalar(select(WorkGroup.id).where(WorkGroup.code == "billing")) is None:
            WorkGroupFactory(code="billing", name="Billing")
        run = runs.create_run(billing_date=BILLING_DATE, mode="simulate", scope_activity=None, scope_cycle=None,
                              created_by="test", now=utcnow())
        contracts = [ContractFactory() for _ in range(4)]
        db.session.flush()
        problems = [(SimpleNamespace(contract_id=c.id, contract_number=c.contract_number),
                     SimpleNamespace(code="no_tariff", message="No tariff", params={})) for c in contracts]
        seen = []

        def count(_conn, _cursor, statement, *_args):
            seen.append(" ".join(statement.split()).lower())

        event.listen(db.engine, "before_cursor_execute", count)
        try:
            recorded = _record_problems(run, problems, utcnow())
        finally:
            event.remove(db.engine, "before_cursor_execute", count)
        db.session.rollback()

    assert recorded == 4
    assert len([s for s in seen if "from service_levels" in s]) == 1
