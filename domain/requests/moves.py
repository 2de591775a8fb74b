"""Move out: check the date and the final readings, record them and end the contract, all or nothing.

Rules (said to the customer on the form):
- the move-out date is after the contract's start, at most MAX_DAYS_AHEAD days ahead and at most
  MAX_DAYS_PAST days in the past, and not inside a period a bill already covers (before `billed_until`);
- a final reading is given for every register of the meter installed at the point of delivery on that date,
  and none is lower than the register's previous actual reading (not estimated, not rejected) on or before
  that date; a meter that rolled over is for staff to handle, so it is refused with that advice.
The contract's end date becomes the move-out date (periods are [start, end), so the move-out day is the
first day not supplied); the next billing run then makes the final bill from the final reading. The
contract's status becomes "ended" at once when the date has been reached, otherwise by
`end_contracts_reached` on that day.

On budget billing (an active down-payment plan) the plan's period is not billed yet: its instalments are
payments on account, so the consumption since the plan's start is what is still to bill, and any date from
there on is accepted. Moving out ends the plan on the move-out date: no instalment falls due from that day
on, and the plan's true-up (`down_payments.true_up_plan`, the same settlement as at the end of a plan's year)
is the final bill: the consumption up to the move-out date, less the instalments billed. It is issued at once
when the date has been reached, otherwise by the daily instalment job on that day. Should the engine not be
able to settle it at once, the plan stays shortened to the move-out date and the daily job tries again (and
gives staff a task if it still cannot).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation

from sqlalchemy import delete, select, update

from domain.billing import down_payments
from domain.billing.models import Bill
from domain.billing.plan_models import DownPaymentInstalment, DownPaymentPlan
from domain.contracts.models import Contract
from domain.db import db
from domain.readings.models import MeterReading
from domain.sites.models import Register

MAX_DAYS_AHEAD = 60
MAX_DAYS_PAST = 30


class MoveOutRefused(ValueError):
    """The move out cannot be recorded; `code` says why. For code "readings", `registers` holds every
    register's problem: register code -> (problem code, details)."""

    def __init__(self, code: str, *, registers: dict[str, tuple[str, dict]] | None = None, **details):
        super().__init__(code if not registers else f"{code}: {sorted(registers)}")
        self.code = code
        self.registers = registers or {}
        self.details = details


@dataclass(frozen=True)
class RegisterToRead:
    """A register the customer gives a final reading for, with its previous actual reading."""

    register: Register
    previous: MeterReading | None


_BILLED_UNTIL = object()


def date_problem(*, move_out_on: date | None, contract: Contract, today: date,
                 billed_until: date | None = _BILLED_UNTIL) -> str | None:
    """Why this move-out date is refused (a code), or None when it is acceptable. Pure.

    `billed_until`: the end of the period bills already cover (`unbilled_from`); the contract's own
    `billed_until` when not given."""
    if billed_until is _BILLED_UNTIL:
        billed_until = contract.billed_until
    if move_out_on is None:
        return "date_missing"
    if move_out_on <= contract.start_date:
        return "date_before_start"
    if move_out_on > today + timedelta(days=MAX_DAYS_AHEAD):
        return "date_too_far"
    if move_out_on < today - timedelta(days=MAX_DAYS_PAST):
        return "date_too_old"
    if billed_until is not None and move_out_on < billed_until:
        return "date_billed"
    if contract.end_date is not None:
        return "already_ending"
    return None


def unbilled_from(*, contract: Contract) -> date | None:
    """Where the consumption not billed yet starts: on budget billing the start of the plan's period (its
    instalments bill no consumption, although the contract's `billed_until` is the plan's end so that periodic
    runs leave it alone), otherwise the end of the latest bill."""
    plan = down_payments.active_plan(contract_id=contract.id)
    return plan.start_on if plan is not None else contract.billed_until


def on_budget_billing(*, contract: Contract) -> bool:
    """Whether the contract has an active down-payment plan (its move out ends it, see the module)."""
    return down_payments.active_plan(contract_id=contract.id) is not None


def move_out_date_problem(*, move_out_on: date | None, contract: Contract, today: date) -> str | None:
    """`date_problem` for the contract as it is stored (budget billing included)."""
    return date_problem(move_out_on=move_out_on, contract=contract, today=today,
                        billed_until=unbilled_from(contract=contract))


def previous_actual_reading(*, register_id: int, on_or_before: date) -> MeterReading | None:
    """The register's latest reading on or before the date that was read, not estimated, and not rejected."""
    return db.session.scalar(
        select(MeterReading)
        .where(MeterReading.register_id == register_id, MeterReading.read_on <= on_or_before,
               MeterReading.source != "estimated", MeterReading.status != "rejected")
        .order_by(MeterReading.read_on.desc(), MeterReading.received_at.desc(), MeterReading.id.desc())
        .limit(1)
    )


def registers_to_read(*, contract: Contract, on: date) -> list[RegisterToRead]:
    """The registers of the meter at the contract's point of delivery on that date, with previous readings."""
    meter = contract.delivery_point.meter_on(on) or contract.delivery_point.current_meter
    if meter is None:
        return []
    return [RegisterToRead(register=r, previous=previous_actual_reading(register_id=r.id, on_or_before=on))
            for r in meter.registers]


def parse_reading(raw) -> Decimal | None:
    """A reading typed by the customer ("1 234,5" or "1234.5"), or None when it is not a number."""
    if raw is None:
        return None
    if isinstance(raw, Decimal):
        return raw
    text = str(raw).strip().replace("\u00a0", "").replace(" ", "").replace(",", ".")
    try:
        value = Decimal(text)
    except InvalidOperation:
        return None
    return value if value.is_finite() else None


def move_out(*, contract: Contract, move_out_on: date | None, readings: dict[str, Decimal | None], today: date,
             now: datetime, customer_user_id: int | None) -> MeterReading:
    """Record the final readings and end the contract; returns the first register's final reading.

    Everything is checked before anything is written, so a refusal stores nothing."""
    # Two move outs of one contract at once: the second waits here, then sees the first one's end date.
    db.session.refresh(contract, with_for_update=True)
    billed_until = unbilled_from(contract=contract)
    problem = date_problem(move_out_on=move_out_on, contract=contract, today=today, billed_until=billed_until)
    if problem:
        raise MoveOutRefused(problem, billed_until=billed_until, start=contract.start_date)
    to_read = registers_to_read(contract=contract, on=move_out_on)
    if not to_read:
        raise MoveOutRefused("no_meter")
    values, problems = {}, {}
    for item in to_read:
        code = item.register.code
        value = readings.get(code)
        if value is None:
            problems[code] = ("reading_missing", {})
        elif value < 0 or value != value.quantize(Decimal("0.001")):
            problems[code] = ("reading_invalid", {})
        elif item.previous is not None and value < item.previous.value:
            problems[code] = ("reading_lower", {"previous": item.previous.value, "previous_on": item.previous.read_on,
                                                "unit": item.register.meter.unit})
        else:
            values[code] = value
    if problems:
        raise MoveOutRefused("readings", registers=problems)

    final = [
        MeterReading(register_id=item.register.id, read_on=move_out_on, value=values[item.register.code],
                     source="customer", status="valid", received_at=now, submitted_by_user_id=customer_user_id)
        for item in to_read
    ]
    db.session.add_all(final)
    contract.end_date = move_out_on
    if move_out_on <= today:
        contract.status = "ended"
    db.session.flush()
    plan = down_payments.active_plan(contract_id=contract.id)
    if plan is not None:
        end_budget_billing(plan=plan, contract=contract, move_out_on=move_out_on, today=today, now=now)
    confirm_move_out(contract=contract, move_out_on=move_out_on, final=final, to_read=to_read, now=now)
    return final[0]


def confirm_move_out(*, contract: Contract, move_out_on: date, final: list[MeterReading],
                     to_read: list[RegisterToRead], now: datetime) -> bool:
    """Tell the customer the supply ends, with the final readings recorded (queued, sent once the move-out commits;
    once per contract and date). False: no e-mail address on file."""
    from domain.communications.notifications import recipient_of_account
    from domain.communications.pipeline import notify

    account = contract.account
    to = recipient_of_account(account)
    if not to:
        return False
    point = contract.delivery_point
    readings = [{"code": item.register.code, "label": item.register.label, "value": reading.value,
                 "unit": item.register.meter.unit} for item, reading in zip(to_read, final, strict=True)]
    return notify(
        kind="move_out_confirmed", to=to, locale=account.locale, now=now, account_id=account.id,
        party_id=account.holder_party_id, reference=f"move-out:{contract.id}:{move_out_on.isoformat()}",
        context={"account": account, "activity": point.activity, "move_out_on": move_out_on, "readings": readings,
                 "address": point.premise.one_line if point.premise else ""},
        links={"link": ("portal.home", {})}) is not None


def end_budget_billing(*, plan: DownPaymentPlan, contract: Contract, move_out_on: date, today: date,
                       now: datetime) -> Bill | None:
    """End the contract's plan on its move-out date; returns the final (true-up) bill when issued now.

    Instalments not billed and falling due from the move-out date on are dropped (when the plan is settled
    now, every instalment not billed: none will be). The plan's year becomes [start, move-out date), and so
    does the period the contract counts as the plan's (`billed_until`), so no periodic run bills it meanwhile.
    """
    settle_now = move_out_on <= today
    unbilled = delete(DownPaymentInstalment).where(DownPaymentInstalment.plan_id == plan.id,
                                                   DownPaymentInstalment.bill_id.is_(None))
    db.session.execute(unbilled if settle_now else unbilled.where(DownPaymentInstalment.due_on >= move_out_on))
    db.session.expire(plan, ["instalments"])
    if move_out_on <= plan.start_on:  # the plan's period has not begun: nothing of it to settle
        return down_payments.cancel_plan(plan=plan, on=move_out_on, now=now)
    plan.true_up_on = move_out_on
    contract.billed_until = move_out_on
    db.session.flush()
    if not settle_now:
        return None  # the daily instalment job trues the plan up on the move-out date
    try:
        with db.session.begin_nested():
            bill, _next_plan = down_payments.true_up_plan(plan_id=plan.id, now=now, issue_date=today)
    except down_payments.PlanRefused:
        return None  # left to the daily job, which retries and gives staff a task if it still cannot
    return bill


def end_contracts_reached(*, today: date) -> int:
    """Mark as ended the current tenant's contracts whose end date has been reached. Safe to run twice."""
    result = db.session.execute(
        update(Contract)
        .where(Contract.status == "active", Contract.end_date.is_not(None), Contract.end_date <= today)
        .values(status="ended")
    )
    return result.rowcount


def end_contracts_reached_job(*, today_iso: str) -> dict:
    """Job (worker.JOBS "requests.end_contracts_reached"): run daily per tenant, e.g. by a scheduler."""
    return {"ended": end_contracts_reached(today=date.fromisoformat(today_iso))}
