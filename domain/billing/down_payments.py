"""Down-payment plans (budget billing): propose, create and cancel a plan; bill its instalments; true it up.

A plan covers the consumption of its contract over `[start_on, true_up_on)`: from the end of the latest
bill to twelve months after the first instalment. Instalments spread the estimated amount of that period, at the
frequencies and counts the utility offers (tenants/operation_settings.py: by default 10 to 12 monthly; also
every 2, 3 or 6 months, always within the plan's year), priced by the engine at the tariff in force; at
`true_up_on` a true-up bill charges the actual consumption of the period (the engine's periodic computation)
minus the instalments billed, and a new plan follows for the next year.

While a plan is active the contract's `billed_until` is its `true_up_on`: the period belongs to the plan,
so the periodic billing run, which bills from `billed_until`, leaves the contract alone until the true-up.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from domain.billing.chunk import prior_charges_since
from domain.billing.chunk_inputs import (
    FREQUENCY_MONTHS,
    calorific_values,
    contract_for_period,
    contract_input,
    estimated_bills_by_contract,
    meters_by_delivery_point,
    readings_of_contract,
    tariffs_by_offer,
)
from domain.billing.drafts import draft_row
from domain.billing.engine import BillLine as EngineLine
from domain.billing.engine import (
    Instalment,
    compute_bill,
    instalment_schedule,
    regularisation_start,
    true_up,
    true_up_bill,
)
from domain.billing.engine.model import ReadingIn
from domain.billing.engine.periods import add_months
from domain.billing.issuing import issue_new
from domain.billing.models import Bill
from domain.billing.plan_models import DownPaymentInstalment, DownPaymentPlan
from domain.contracts.models import Contract
from domain.db import db
from domain.readings.models import MeterReading
from tenants.models import Tenant
from tenants.operation_settings import PLAN_FREQUENCY_MONTHS, plan_offered, plan_options

log = logging.getLogger("billing.down_payments")

INSTALMENT_COUNTS = (10, 11, 12)  # the default offer: monthly
ZERO = Decimal("0.00")
ONE = Decimal("1.000")


class PlanRefused(ValueError):
    """No plan can be proposed, created or cancelled; `code` says why (nothing was stored)."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class PlanProposal:
    """A schedule the customer can accept: the period, the estimate it spreads and the instalments."""

    contract_id: int
    account_id: int
    start_on: date
    true_up_on: date
    estimated_consumption: Decimal  # over the plan's period, in `unit`
    unit: str
    estimated_amount: Decimal  # incl. tax, over the plan's period
    currency: str
    instalments: tuple[Instalment, ...]
    frequency: str = "monthly"

    @property
    def months(self) -> int:
        return PLAN_FREQUENCY_MONTHS[self.frequency]

    @property
    def count(self) -> int:
        return len(self.instalments)

    @property
    def instalment_amount(self) -> Decimal:
        return self.instalments[0].amount


# --- the plans offered ----------------------------------------------------------------------------------------------

def plan_option_code(frequency: str, count: int) -> str:
    """How a form names a plan: "12" for 12 monthly instalments (as before plans had other frequencies),
    "quarterly-4" otherwise."""
    return str(count) if frequency == "monthly" else f"{frequency}-{count}"


def parse_plan_option(code: str | None) -> tuple[str, int] | None:
    """(frequency, count) of a form's plan code, or None for anything else."""
    frequency, _, count = (code or "").rpartition("-")
    frequency = frequency or "monthly"
    if frequency not in PLAN_FREQUENCY_MONTHS or not count.isdigit() or len(count) > 2:
        return None
    return frequency, int(count)


def offered_plan_options(tenant: Tenant) -> list[tuple[str, str, int]]:
    """(code, frequency, count) of every plan the utility offers, monthly first, most instalments first."""
    return [(plan_option_code(frequency, count), frequency, count)
            for frequency, counts in plan_options(tenant).items() for count in counts]


# --- reading plans --------------------------------------------------------------------------------------------------

def active_plan(*, contract_id: int) -> DownPaymentPlan | None:
    return db.session.scalar(select(DownPaymentPlan).where(
        DownPaymentPlan.contract_id == contract_id, DownPaymentPlan.status == "active"))


def plans_of_account(*, account_id: int) -> list[DownPaymentPlan]:
    """The account's plans, active first, then newest first."""
    plans = db.session.scalars(select(DownPaymentPlan).where(DownPaymentPlan.account_id == account_id)
                               .order_by(DownPaymentPlan.start_on.desc(), DownPaymentPlan.id.desc()))
    return sorted(plans, key=lambda plan: plan.status != "active")


def plan_by_public_id(*, public_id: str) -> DownPaymentPlan | None:
    return db.session.scalar(select(DownPaymentPlan).where(DownPaymentPlan.public_id == public_id))


def consumption_unit(activity: str) -> str:
    """The unit a plan's estimated consumption is in: what bills charge (gas in kWh, water in m3)."""
    return "m3" if activity == "water" else "kWh"


def bills_of_plan(plan: DownPaymentPlan) -> dict[int, Bill]:
    """bill id -> bill, for the plan's billed instalments and its true-up bill."""
    ids = [i.bill_id for i in plan.instalments if i.bill_id is not None]
    if plan.true_up_bill_id is not None:
        ids.append(plan.true_up_bill_id)
    if not ids:
        return {}
    return {bill.id: bill for bill in db.session.scalars(select(Bill).where(Bill.id.in_(ids)))}


def plans_with_bills(*, account_id: int) -> list[tuple[DownPaymentPlan, dict[int, Bill]]]:
    """The account's plans, each with its bills (bill id -> bill), for the customer file."""
    return [(plan, bills_of_plan(plan)) for plan in plans_of_account(account_id=account_id)]


# --- the engine's view of a contract ---------------------------------------------------------------------------------

def _engine_contract(tenant: Tenant, contract: Contract, *, period_start: date, period_end: date, kind: str,
                     tariff_on: date | None = None):
    """(due item, engine ContractIn, {(serial, code): register id}) for the contract over a period.

    With `tariff_on`, the tariff version in force that day prices the whole period (an estimate of the future).
    """
    item = contract_for_period(tenant_id=tenant.id, contract_id=contract.id, kind=kind, period_start=period_start,
                               period_end=period_end)
    meters = meters_by_delivery_point(tenant.id, [item.delivery_point_id]).get(item.delivery_point_id, [])
    readings = readings_of_contract(tenant.id, meters, period_start=period_start, period_end=period_end)
    versions = tariffs_by_offer(tenant.id, [item.offer_id]).get(item.offer_id, ())
    if tariff_on is not None:
        in_force = [v for v in versions if v.effective_from <= tariff_on
                    and (v.effective_to is None or tariff_on < v.effective_to)]
        if not in_force:
            raise PlanRefused("no_tariff", f"no tariff in force on {tariff_on}")
        versions = (replace(in_force[-1], effective_from=min(period_start, in_force[-1].effective_from),
                            effective_to=None),)
    engine_contract = contract_input(item, meters=meters, readings=readings, tariffs=tuple(versions),
                                     gas_calorific_value=tenant.gas_calorific_value,
                                     gas_calorific_values=calorific_values(tenant.id, item.calorific_zone)
                                     if item.activity == "gas" else ())
    registers = {(meter.serial, code): rid for meter, regs in meters for code, rid in regs.items()}
    return item, engine_contract, registers


def _with_zero_start(engine_contract, start_on: date):
    """A contract without any reading yet (its estimate only): index 0 on the plan's first day, so the engine
    can extend it with the annual estimate."""
    if engine_contract.readings:
        return engine_contract
    start = tuple(ReadingIn(code, start_on, Decimal("0.000"), True, meter.serial)
                  for meter in engine_contract.meters
                  if meter.installed_on <= start_on and (meter.removed_on is None or start_on < meter.removed_on)
                  for code in meter.registers)
    return replace(engine_contract, readings=start)


def _problems(result) -> str:
    return "; ".join(problem.message for problem in result.problems)


# --- proposing and creating -----------------------------------------------------------------------------------------

def plan_dates(*, contract: Contract, as_of: date) -> tuple[date, date, date]:
    """(start_on, first_due, true_up_on) of a plan asked for on `as_of`: from the end of the latest bill, the
    first instalment on the first of next month, the true-up twelve months after it."""
    start_on = contract.billed_until or contract.start_date
    first_due = add_months(as_of.replace(day=1), 1)
    return start_on, first_due, add_months(first_due, 12)


def _estimate(tenant: Tenant, contract: Contract, *, start_on: date, true_up_on: date, tariff_on: date):
    """The engine's bill of the plan's period from estimated indexes, at the tariff in force on `tariff_on`."""
    _item, engine_contract, _registers = _engine_contract(tenant, contract, period_start=start_on,
                                                          period_end=true_up_on, kind="periodic",
                                                          tariff_on=tariff_on)
    result = compute_bill(contract=_with_zero_start(engine_contract, start_on), period_start=start_on,
                          period_end=true_up_on, kind="periodic", plausibility_factor=None, regularise=False)
    if not result.ok:
        raise PlanRefused("estimate", f"the consumption cannot be estimated: {_problems(result)}")
    return result


def plan_frequency(months: int) -> str:
    """The frequency name of a plan's `instalment_months`."""
    return next(name for name, value in PLAN_FREQUENCY_MONTHS.items() if value == months)


def _proposal(tenant: Tenant, contract: Contract, *, count: int, start_on: date, first_due: date,
              true_up_on: date, tariff_on: date, frequency: str = "monthly",
              offered_only: bool = True) -> PlanProposal:
    if frequency not in PLAN_FREQUENCY_MONTHS:
        raise PlanRefused("count", f"no plan with instalments {frequency!r}")
    if offered_only and not plan_offered(tenant, frequency=frequency, count=count):
        raise PlanRefused("count", f"the utility does not offer {count} instalments {frequency}")
    if contract.end_date is not None and contract.end_date < true_up_on:
        raise PlanRefused("contract_ending", "the contract ends before the plan's year is over")
    result = _estimate(tenant, contract, start_on=start_on, true_up_on=true_up_on, tariff_on=tariff_on)
    try:
        schedule = instalment_schedule(estimated_annual_amount=result.total_incl_tax, count=count,
                                       first_due=first_due, months=PLAN_FREQUENCY_MONTHS[frequency])
    except ValueError as exc:
        raise PlanRefused("count", str(exc)) from exc
    if schedule[0].amount <= 0:
        raise PlanRefused("nothing_to_spread", "the estimated amount is too small for monthly instalments")
    consumption = sum((c.billed_quantity for c in result.consumption), Decimal("0.000"))
    unit = result.consumption[0].billed_unit if result.consumption else ""
    return PlanProposal(contract.id, contract.account_id, start_on, true_up_on, consumption, unit,
                        result.total_incl_tax, tenant.currency, schedule, frequency)


def propose_plan(*, contract: Contract, count: int, as_of: date, frequency: str = "monthly") -> PlanProposal:
    """The schedule a plan asked for on `as_of` would have (nothing is stored); `count` instalments at
    `frequency`, one of the plans the utility offers (else PlanRefused "count")."""
    if contract.status != "active" or not contract.is_live_on(as_of):
        raise PlanRefused("contract_not_live", "the contract is not supplied today")
    if active_plan(contract_id=contract.id) is not None:
        raise PlanRefused("already_active", "the contract is already on budget billing")
    start_on, first_due, true_up_on = plan_dates(contract=contract, as_of=as_of)
    if start_on > as_of:
        raise PlanRefused("billed_ahead", "the contract is already billed beyond today")
    if start_on < add_months(as_of, -FREQUENCY_MONTHS.get(contract.billing_frequency, 1)):
        raise PlanRefused("not_billed_yet", f"the contract is billed only until {start_on}: a period is due")
    tenant = db.session.get(Tenant, contract.tenant_id)
    return _proposal(tenant, contract, count=count, start_on=start_on, first_due=first_due, true_up_on=true_up_on,
                     tariff_on=as_of, frequency=frequency)


def _store(proposal: PlanProposal, *, contract: Contract, now: datetime, created_by: str,
           previous_plan_id: int | None = None) -> DownPaymentPlan:
    plan = DownPaymentPlan(
        contract_id=proposal.contract_id, account_id=proposal.account_id, status="active",
        start_on=proposal.start_on, true_up_on=proposal.true_up_on, instalment_count=proposal.count,
        instalment_months=proposal.months,
        instalment_amount=proposal.instalment_amount, estimated_consumption=proposal.estimated_consumption,
        estimated_amount=proposal.estimated_amount, currency=proposal.currency, created_at=now,
        created_by=created_by, previous_plan_id=previous_plan_id)
    db.session.add(plan)
    db.session.flush()
    db.session.add_all(DownPaymentInstalment(plan_id=plan.id, sequence=i.number, due_on=i.due_date, amount=i.amount)
                       for i in proposal.instalments)
    contract.billed_until = proposal.true_up_on  # the period is the plan's: the periodic run skips it
    db.session.flush()
    db.session.refresh(plan)
    log.info("plan created tenant=%s contract=%s plan=%s amount=%s count=%s", contract.tenant_id, contract.id,
             plan.id, plan.estimated_amount, plan.instalment_count)
    return plan


def create_plan(*, contract: Contract, count: int, as_of: date, now: datetime,
                created_by: str = "customer", frequency: str = "monthly") -> DownPaymentPlan:
    """Put the contract on budget billing from the schedule `propose_plan` gives for the same day."""
    proposal = propose_plan(contract=contract, count=count, as_of=as_of, frequency=frequency)
    try:
        with db.session.begin_nested():  # two confirmations at once: the unique index lets one through
            return _store(proposal, contract=contract, now=now, created_by=created_by)
    except IntegrityError as exc:
        raise PlanRefused("already_active", "the contract is already on budget billing") from exc


# --- instalment bills -----------------------------------------------------------------------------------------------

class _Totals:
    """Totals shaped like an engine result for `draft_row`."""

    def __init__(self, excl: Decimal, tax: Decimal, incl: Decimal, estimated: bool = False, consumption=()):
        self.total_excl_tax, self.total_tax, self.total_incl_tax = excl, tax, incl
        self.estimated = estimated
        self.consumption = consumption


def _instalment_line(instalment: DownPaymentInstalment, months: int) -> EngineLine:
    return EngineLine(component="instalment", description="instalment", period_start=instalment.due_on,
                      period_end=add_months(instalment.due_on, months), quantity=ONE, unit="month",
                      unit_price=instalment.amount, amount=instalment.amount, tax_rate=Decimal("0"))


def issue_due_instalments(*, billing_date: date, now: datetime) -> list[int]:
    """Issue a bill for every instalment of an active plan due by `billing_date` and not billed yet; returns
    the new bill ids. Idempotent: a billed instalment points at its bill, and a unique index allows one live
    instalment bill per contract and due date."""
    stmt = (select(DownPaymentInstalment, DownPaymentPlan)
            .join(DownPaymentPlan, DownPaymentPlan.id == DownPaymentInstalment.plan_id)
            .where(DownPaymentPlan.status == "active", DownPaymentInstalment.bill_id.is_(None),
                   DownPaymentInstalment.due_on <= billing_date)
            .order_by(DownPaymentInstalment.due_on, DownPaymentInstalment.plan_id, DownPaymentInstalment.sequence))
    if db.session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(of=DownPaymentInstalment.__table__)  # a concurrent run waits, then finds them
    due = db.session.execute(stmt).all()
    if not due:
        return []
    tenant = db.session.get(Tenant, due[0][1].tenant_id)
    drafts = []
    for instalment, plan in due:
        row = draft_row(tenant_id=tenant.id, account_id=plan.account_id, contract_id=plan.contract_id,
                        kind="instalment", period_start=instalment.due_on,
                        period_end=add_months(instalment.due_on, plan.instalment_months), currency=plan.currency,
                        result=_Totals(instalment.amount, ZERO, instalment.amount))
        drafts.append((row, (_instalment_line(instalment, plan.instalment_months),)))
    ids = issue_new(tenant_id=tenant.id, drafts=drafts, issued_at=now, issue_date=billing_date,
                    payment_terms_days=tenant.payment_terms_days)
    for (instalment, _plan), bill_id in zip(due, ids, strict=True):
        instalment.bill_id = bill_id
    db.session.flush()
    log.info("instalments billed tenant=%s date=%s bills=%d", tenant.id, billing_date, len(ids))
    return ids


# --- true-up --------------------------------------------------------------------------------------------------------

def _store_estimated_readings(registers: dict, readings, now: datetime) -> None:
    """The indexes the true-up estimated become readings, so the next period starts from the same index."""
    for reading in readings:
        register_id = registers.get((reading.meter_serial, reading.register_code))
        if register_id is not None:
            db.session.add(MeterReading(register_id=register_id, read_on=reading.read_on, value=reading.value,
                                        source="estimated", status="valid", received_at=now))


def _estimated_bills(tenant_id: int, contract_id: int) -> list:
    """The contract's issued bills based on estimates, true-ups included (see chunk_inputs.ESTIMATED_KINDS)."""
    return list(estimated_bills_by_contract(tenant_id, [contract_id]).get(contract_id, ()))


def _billed_instalments(plan: DownPaymentPlan) -> list[Decimal]:
    return [item.amount for item in _billed_instalment_items(plan)]


def _billed_instalment_items(plan: DownPaymentPlan) -> list[Instalment]:
    """The plan's instalments billed and not cancelled, each at its bill's gross amount."""
    bills = bills_of_plan(plan)
    return [Instalment(i.sequence, i.due_on, bills[i.bill_id].total_incl_tax) for i in plan.instalments
            if i.bill_id is not None and bills[i.bill_id].status == "issued"]


def _settle(plan: DownPaymentPlan, contract: Contract, tenant: Tenant, *, period_end: date, issue_date: date,
            now: datetime, next_first_due: date | None, next_estimate: Decimal | None = None):
    """Issue the bill of the actual consumption over `[start_on, period_end)` minus the instalments billed.

    Returns (bill, engine TrueUp). The consumption is computed as the periodic bill computes it (the same
    loaders, regularisation of earlier estimated bills and back-billing limit).
    """
    kind = "final" if contract.end_date is not None and contract.end_date == period_end else "periodic"
    item, engine_contract, registers = _engine_contract(tenant, contract, period_start=plan.start_on,
                                                        period_end=period_end, kind=kind)
    prior = ()
    estimated = _estimated_bills(tenant.id, contract.id)
    if estimated:
        start = regularisation_start(contract=engine_contract, period_start=plan.start_on, period_end=period_end)
        if start is not None:
            prior = prior_charges_since(tenant.id, estimated, start)
    result = compute_bill(contract=engine_contract, period_start=plan.start_on, period_end=period_end, kind=kind,
                          prior_charges=prior, bill_date=issue_date,
                          back_billing_limit_months=tenant.back_billing_months,
                          back_billing_exempt_from=item.readings_prevented_from)
    if not result.ok:
        raise PlanRefused("engine", f"the true-up cannot be computed: {_problems(result)}")
    paid = _billed_instalment_items(plan)
    settled = true_up(annual_total_incl_tax=result.total_incl_tax, instalments_paid=[i.amount for i in paid],
                      next_first_due=next_first_due, next_count=plan.instalment_count,
                      next_estimated_annual_amount=next_estimate, next_months=plan.instalment_months)
    # The consumption with its own net, VAT and gross totals, then the instalments deducted at their gross
    # amount: the bill's total including tax is the balance (what the ledger posts), never a negative net.
    settlement = true_up_bill(consumption=result, instalments=paid, months=plan.instalment_months)
    row = draft_row(tenant_id=tenant.id, account_id=plan.account_id, contract_id=contract.id, kind="true_up",
                    period_start=plan.start_on, period_end=period_end, currency=plan.currency, result=settlement)
    (bill_id,) = issue_new(tenant_id=tenant.id, drafts=[(row, settlement.lines)], issued_at=now,
                           issue_date=issue_date, payment_terms_days=tenant.payment_terms_days)
    _store_estimated_readings(registers, result.estimated_readings, now)
    plan.true_up_bill_id = bill_id
    contract.billed_until = period_end
    db.session.flush()
    return db.session.get(Bill, bill_id), settled


def _locked_plan(plan_id: int) -> DownPaymentPlan | None:
    stmt = select(DownPaymentPlan).where(DownPaymentPlan.id == plan_id)
    if db.session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    return db.session.scalar(stmt)


def true_up_plan(*, plan_id: int, now: datetime,
                 issue_date: date | None = None) -> tuple[Bill, DownPaymentPlan | None]:
    """At the plan's true-up date: the true-up bill, the plan completed, and the next year's plan (same number
    of instalments, from the new estimate) unless the contract ends. Returns (bill, new plan or None).
    The bill is dated `issue_date`, by default the true-up date (a move out recorded later dates it that day)."""
    plan = _locked_plan(plan_id)
    if plan is None or plan.status != "active":
        raise PlanRefused("state", "only an active plan can be trued up")
    contract = db.session.get(Contract, plan.contract_id)
    tenant = db.session.get(Tenant, plan.tenant_id)
    period_end = plan.true_up_on
    if contract.end_date is not None and contract.end_date < period_end:
        period_end = contract.end_date
    start_on, first_due = plan.true_up_on, plan.true_up_on
    next_true_up = add_months(first_due, 12)
    continues = period_end == plan.true_up_on and (contract.end_date is None or contract.end_date >= next_true_up)

    plan.status = "completed"  # before the new plan: one active plan per contract
    db.session.flush()
    bill, settled = _settle(plan, contract, tenant, period_end=period_end, issue_date=issue_date or period_end,
                            now=now, next_first_due=None)
    new_plan = None
    if continues:
        # The next year follows the plan the customer chose, even if the utility has stopped offering it since.
        proposal = _proposal(tenant, contract, count=plan.instalment_count, start_on=start_on, first_due=first_due,
                             true_up_on=next_true_up, tariff_on=start_on,
                             frequency=plan_frequency(plan.instalment_months), offered_only=False)
        # The engine's true-up gives the next schedule from the new estimate: the same one the proposal holds.
        schedule = true_up(annual_total_incl_tax=settled.annual_total_incl_tax, instalments_paid=(),
                           next_first_due=first_due, next_count=plan.instalment_count,
                           next_estimated_annual_amount=proposal.estimated_amount,
                           next_months=plan.instalment_months).next_schedule
        proposal = replace(proposal, instalments=schedule)
        new_plan = _store(proposal, contract=contract, now=now, created_by="true_up", previous_plan_id=plan.id)
    log.info("plan trued up tenant=%s plan=%s bill=%s balance=%s next=%s", tenant.id, plan.id, bill.id,
             settled.balance, new_plan.id if new_plan else None)
    return bill, new_plan


def due_true_ups(*, on: date) -> list[int]:
    """Ids of the active plans whose true-up date has come."""
    return list(db.session.scalars(select(DownPaymentPlan.id).where(
        DownPaymentPlan.status == "active", DownPaymentPlan.true_up_on <= on).order_by(DownPaymentPlan.id)))


# --- cancelling -----------------------------------------------------------------------------------------------------

def cancel_plan(*, plan: DownPaymentPlan, on: date, now: datetime) -> Bill | None:
    """End the plan on `on`. Without any instalment billed, the contract simply goes back to periodic bills
    from the plan's start; otherwise the consumption so far is settled at once against the instalments
    billed (a true-up bill, returned) and periodic bills resume from `on`."""
    plan = _locked_plan(plan.id)
    if plan is None or plan.status != "active":
        raise PlanRefused("state", "only an active plan can be cancelled")
    contract = db.session.get(Contract, plan.contract_id)
    plan.status = "cancelled"
    plan.cancelled_at = now
    db.session.flush()
    if not _billed_instalments(plan):
        if contract.billed_until == plan.true_up_on:
            contract.billed_until = plan.start_on
        db.session.flush()
        log.info("plan cancelled tenant=%s plan=%s", plan.tenant_id, plan.id)
        return None
    tenant = db.session.get(Tenant, plan.tenant_id)
    period_end = max(on, plan.start_on + timedelta(days=1))
    bill, settled = _settle(plan, contract, tenant, period_end=period_end, issue_date=on, now=now,
                            next_first_due=None)
    log.info("plan cancelled and settled tenant=%s plan=%s bill=%s balance=%s", plan.tenant_id, plan.id, bill.id,
             settled.balance)
    return bill
