"""Bills one chunk of a billing run: load inputs in a few queries, compute in memory, write in bulk.

The engine is the same one that computes a single corrective bill; this module only
feeds it and stores its results (draft bills and lines, exceptions with their tasks,
estimated readings). Work that does not depend on the contract, such as preparing a
tariff version, is done once per chunk.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import select

from domain.bulk import among, insert_rows
from domain.billing.chunk_inputs import (
    billing_readings,
    calorific_values_by_zone,
    contract_input,
    due_contracts,
    estimated_bills_by_contract,
    meters_by_delivery_point,
    register_period_starts,
    tariffs_by_offer,
)
from domain.billing.engine import PriorCharge, compute_bill, prepare_tariff, regularisation_start
from domain.billing.drafts import draft_row, insert_drafts, public_ids
from domain.billing.issuing import issue_new
from domain.billing.models import BillLine
from domain.billing.run_models import BillingException
from domain.db import db
from domain.readings.models import MeterReading
from domain.tasks.models import WorkGroup
from domain.tasks.levels import task_level
from domain.tasks.services import create_task

_lines = BillLine.__table__
CONSUMPTION_COMPONENTS = {"energy", "water", "sewerage", "levy", "network"}


@dataclass
class ChunkOutcome:
    processed: int = 0
    bill_ids: list[int] = field(default_factory=list)
    exceptions: int = 0
    total_excl_tax: Decimal = Decimal("0")
    total_tax: Decimal = Decimal("0")
    total_incl_tax: Decimal = Decimal("0")
    issued: bool = False


def prior_charges_since(tenant_id: int, estimated_bills: list, since) -> tuple[PriorCharge, ...]:
    """The consumption lines of estimated bills a regularisation from `since` must credit."""
    return prior_charges_by_contract(tenant_id, {None: (estimated_bills, since)}).get(None, ())


def prior_charges_by_contract(tenant_id: int, wanted: dict) -> dict:
    """key -> the consumption lines of the estimated bills its regularisation must credit, for
    `wanted` = {key: (estimated bills, regularisation start)}: one statement for a whole chunk."""
    # Bills overlapping the regularised window; the engine credits the overlapping days only.
    owner = {b.id: key for key, (bills, since) in wanted.items() for b in bills if b.period_end > since}
    if not owner:
        return {}
    rows = db.session.execute(
        select(_lines).where(_lines.c.tenant_id == tenant_id, among(_lines.c.bill_id, sorted(owner), db.session),
                             _lines.c.component.in_(CONSUMPTION_COMPONENTS))
        .order_by(_lines.c.bill_id, _lines.c.position)
        .execution_options(tenant_filtered=True)
    ).all()
    out: dict = {}
    for r in rows:
        out.setdefault(owner[r.bill_id], []).append(PriorCharge(
            component=r.component, description=r.description, period_start=r.period_start,
            period_end=r.period_end, quantity=r.quantity, unit=r.unit, unit_price=r.unit_price, amount=r.amount,
            tax_rate=r.tax_rate, unit_price_includes_tax=r.unit_price_includes_tax,
            amount_incl_tax=r.amount_incl_tax, register_code=r.register_code))
    return {key: tuple(charges) for key, charges in out.items()}


def bill_contract_range(*, run, tenant, first_contract_id: int, last_contract_id: int, now: datetime) -> ChunkOutcome:
    """Draft bills for the due contracts of `[first_contract_id, last_contract_id]`; returns what was done."""
    tenant_id = run.tenant_id
    looked_at, due = due_contracts(run=run, first_contract_id=first_contract_id, last_contract_id=last_contract_id)
    outcome = ChunkOutcome(processed=looked_at)
    if not due:
        return outcome

    meters = meters_by_delivery_point(tenant_id, sorted({d.delivery_point_id for d in due}))
    registers = {rid: (code, meter.serial)
                 for entries in meters.values() for meter, regs in entries for code, rid in regs.items()}
    readings = billing_readings(tenant_id, period_starts=register_period_starts(meters, due),
                                until=max(d.period_end for d in due), registers=registers,
                                read_together=[tuple(regs.values()) for entries in meters.values()
                                               for _meter, regs in entries if len(regs) > 1])
    tariffs = {offer: tuple(prepare_tariff(t) for t in versions)
               for offer, versions in tariffs_by_offer(tenant_id, sorted({d.offer_id for d in due})).items()}
    estimated = estimated_bills_by_contract(tenant_id, [d.contract_id for d in due])
    gas = any(d.activity == "gas" for d in due)
    calorific_value = tenant.gas_calorific_value
    dated_values = calorific_values_by_zone(tenant_id) if gas else {}

    # Plain locals for the loop: attributes of ORM objects cost a descriptor call each time.
    billing_date, run_id, issuing = run.billing_date, run.id, run.mode == "issue"
    back_billing_months, currency = tenant.back_billing_months, tenant.currency
    inputs = []
    regularising = {}
    for item in due:
        contract = contract_input(item, meters=meters.get(item.delivery_point_id, []), readings=readings,
                                  tariffs=tariffs.get(item.offer_id, ()), gas_calorific_value=calorific_value,
                                  gas_calorific_values=dated_values.get(item.calorific_zone or "", ()))
        inputs.append(contract)
        if estimated.get(item.contract_id):
            start = regularisation_start(contract=contract, period_start=item.period_start,
                                         period_end=item.period_end)
            if start is not None:
                regularising[item.contract_id] = (estimated[item.contract_id], start)
    prior_charges = prior_charges_by_contract(tenant_id, regularising) if regularising else {}

    drafts, problems, estimated_readings = [], [], []
    new_ids = iter(public_ids(len(due)))
    for item, contract in zip(due, inputs, strict=True):
        result = compute_bill(contract=contract, period_start=item.period_start, period_end=item.period_end,
                              kind=item.kind, prior_charges=prior_charges.get(item.contract_id, ()),
                              bill_date=billing_date, back_billing_limit_months=back_billing_months,
                              back_billing_exempt_from=item.readings_prevented_from)
        if not result.ok:
            problems.extend((item, p) for p in result.problems)
            continue
        drafts.append((draft_row(tenant_id=tenant_id, account_id=item.account_id, contract_id=item.contract_id,
                                 kind=item.kind, period_start=item.period_start, period_end=item.period_end,
                                 currency=currency, result=result, billing_run_id=run_id,
                                 public_id=next(new_ids)), result.lines))
        outcome.total_excl_tax += result.total_excl_tax
        outcome.total_tax += result.total_tax
        outcome.total_incl_tax += result.total_incl_tax
        if issuing and result.estimated_readings:
            estimated_readings.append((item, contract, result.estimated_readings))

    if issuing:
        outcome.bill_ids = issue_new(tenant_id=tenant_id, drafts=drafts, issued_at=now, issue_date=run.billing_date,
                                     payment_terms_days=tenant.payment_terms_days)
        outcome.issued = True
    else:
        outcome.bill_ids = insert_drafts(db.session, tenant_id=tenant_id, drafts=drafts)
    if estimated_readings:
        _store_estimated_readings(tenant_id, meters, estimated_readings, now)
    if problems:
        outcome.exceptions = _record_problems(run, problems, now)
    return outcome


def _store_estimated_readings(tenant_id: int, meters: dict, items: list, now: datetime) -> None:
    rows = []
    for due, _contract, readings in items:
        registers = {}
        for meter, regs in meters.get(due.delivery_point_id, []):
            for code, register_id in regs.items():
                registers[(meter.serial, code)] = register_id
                registers.setdefault((None, code), register_id)
        for reading in readings:
            register_id = registers.get((reading.meter_serial, reading.register_code))
            if register_id is None:
                continue
            rows.append({"tenant_id": tenant_id, "register_id": register_id, "read_on": reading.read_on,
                         "value": reading.value, "source": "estimated", "status": "valid", "received_at": now})
    insert_rows(db.session, MeterReading.__table__, rows)


def json_params(params: dict) -> dict | None:
    """A problem's values as a JSON column holds them: dates in ISO form, decimals as text (exact)."""
    if not params:
        return None
    return {key: value.isoformat() if isinstance(value, date) else str(value) if isinstance(value, Decimal)
            else value for key, value in params.items()}


def _record_problems(run, problems: list, now: datetime) -> int:
    """One exception per contract and problem, each with a task in the billing work queue."""
    group_id = db.session.scalar(select(WorkGroup.id).where(WorkGroup.code == "billing"))
    unique = list({(due.contract_id, problem.code): (due, problem) for due, problem in problems}.values())
    level = task_level("billing_exception") if unique else None  # once for the chunk, not per task
    tasks = [
        create_task(group_id=group_id, kind="billing_exception", subject_type="Contract", subject_id=due.contract_id,
                    now=now, details=problem.message, level=level,
                    title=f"Billing run {run.billing_date}: {problem.code} on contract {due.contract_number}",
                    params={"run_date": run.billing_date.isoformat(), "code": problem.code,
                            "contract": due.contract_number})
        for due, problem in unique
    ] if group_id is not None else [None] * len(unique)
    db.session.flush()  # one flush for every task: their ids go on the exceptions
    db.session.add_all(
        BillingException(run_id=run.id, contract_id=due.contract_id, code=problem.code, message=problem.message,
                         params=json_params(problem.params),
                         task_id=task.id if task is not None else None, created_at=now)
        for (due, problem), task in zip(unique, tasks, strict=True))
    db.session.flush()
    return len(unique)
