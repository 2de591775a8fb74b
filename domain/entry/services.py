"""Staff data entry: a new customer in one go, a supply added, contact details changed, a contract ended, a meter
exchanged. Each checks everything first and raises FieldErrors (field -> code) with nothing written, then writes
through the services of each area; the audit trail records every row changed with its author (the request's
actor), and the account's history shows it.

This area sits above readings and requests in the layer order: it orchestrates parties, sites, contracts and
readings (a meter's installation and removal readings go through the portal's checks)."""
from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import select

from domain.audit.recorder import record_event
from domain.billing.settings import SettingsRefused, frequency_for_new_contract
from domain.contracts import services as contracts
from domain.contracts.models import Contract, CustomerAccount
from domain.db import db
from domain.field_errors import ErrorCollector, FieldErrors
from domain.parties import services as parties
from domain.readings import services as readings
from domain.readings.models import MeterReading
from domain.readings.validation import DEFAULT_PLAUSIBILITY_FACTOR, ReadingProblem, check_index
from domain.sites import services as sites
from domain.sites.models import DeliveryPoint, Premise

log = logging.getLogger(__name__)

MAX_INSTALLED_DAYS_PAST = 366 * 5


@dataclass(frozen=True)
class SupplyDetails:
    """A point of delivery with its meter and a contract: at a premise of the customer's (`premise_public_id`),
    or at a new address (`address`)."""

    premise_public_id: str | None
    address: parties.Address | None
    activity: str
    identifier: str
    meter: sites.MeterSpec
    installed_on: date | None
    installation_values: dict[str, Decimal | None]
    offer_code: str
    start_date: date | None
    billing_frequency: str
    estimated_annual_consumption: Decimal | None


def _check_installation(supply: SupplyDetails, errors: ErrorCollector, today: date) -> None:
    if supply.installed_on is None:
        errors.add("installed_on", "required")
    elif supply.installed_on > today:
        errors.add("installed_on", "future")
    elif supply.installed_on < today - timedelta(days=MAX_INSTALLED_DAYS_PAST):
        errors.add("installed_on", "too_old")
    check_index_values(supply.meter, supply.installation_values, errors, prefix="index_")


def check_index_values(spec: sites.MeterSpec, values: dict[str, Decimal | None], errors: ErrorCollector,
                       prefix: str) -> None:
    """A first index per register of a new meter, fitting its dial (what a new meter shows needs no history)."""
    if not sites.MIN_DIGITS <= (spec.digits or 0) <= sites.MAX_DIGITS:
        return  # the dial is refused already
    for code in spec.register_codes:
        value = values.get(code)
        if value is None:
            errors.add(prefix + code, "missing")
            continue
        try:
            check_index(value=value, previous=None, digits=spec.digits, multiplier=spec.multiplier or Decimal(1),
                        rollover_confirmed=False)
        except ReadingProblem as problem:
            errors.add(prefix + code, problem.reason, **problem.details)


def _premise_of(account: CustomerAccount | None, public_id: str | None) -> Premise | None:
    if account is None or not public_id:
        return None
    for contract in account.contracts:
        if contract.delivery_point.premise.public_id == public_id:
            return contract.delivery_point.premise
    return None


def clean_supply(supply: SupplyDetails) -> SupplyDetails:
    address = parties.clean_address(supply.address) if supply.address is not None else None
    return replace(supply, address=address, identifier=sites.normalise_reference(supply.identifier),
                   offer_code=(supply.offer_code or "").strip())


def _check_supply(supply: SupplyDetails, errors: ErrorCollector, *, account: CustomerAccount | None, tenant,
                  today: date):
    premise = _premise_of(account, supply.premise_public_id)
    if supply.premise_public_id and premise is None:
        errors.add("premise", "unknown")
    if premise is None and not supply.premise_public_id:
        if supply.address is None:
            errors.add("premise", "required")
        else:
            parties.check_address(supply.address, errors, prefix="premise_")
    if premise is not None and any(dp.activity == supply.activity for dp in premise.delivery_points):
        errors.add("activity", "already_at_premise")
    sites.check_delivery_point(activity=supply.activity, identifier=sites.normalise_reference(supply.identifier),
                               tenant_activities=tenant.activities or (), errors=errors)
    sites.check_meter(supply.meter, errors)
    _check_installation(supply, errors, today)
    offer = contracts.check_contract_terms(
        offer_code=supply.offer_code, activity=supply.activity, start_date=supply.start_date,
        billing_frequency=supply.billing_frequency, estimated_annual_consumption=supply.estimated_annual_consumption,
        today=today, errors=errors, not_before=supply.installed_on)
    if "billing_frequency" not in errors.errors:
        try:
            frequency_for_new_contract(tenant, supply.billing_frequency)
        except SettingsRefused:
            errors.add("billing_frequency", "not_offered")
    return premise, offer


def _write_supply(supply: SupplyDetails, *, account: CustomerAccount, premise: Premise | None, offer, tenant,
                  staff_user_id: int | None, today: date, now: datetime) -> Contract:
    premise = sites.premise_for(address=supply.address, premise=premise)
    point = sites.create_delivery_point(premise=premise, activity=supply.activity, identifier=supply.identifier)
    meter = sites.create_meter(spec=supply.meter, activity=supply.activity)
    sites.install_meter(meter=meter, delivery_point=point, installed_on=supply.installed_on)
    db.session.add_all([
        MeterReading(register_id=register.id, read_on=supply.installed_on,
                     value=supply.installation_values[register.code], source="agent", status="valid",
                     received_at=now, entered_by_staff_id=staff_user_id)
        for register in meter.registers
    ])
    contract = contracts.add_contract(
        account=account, delivery_point=point, offer=offer, start_date=supply.start_date,
        billing_frequency=supply.billing_frequency, estimated_annual_consumption=supply.estimated_annual_consumption,
        tenant=tenant, today=today)
    db.session.flush()
    return contract


def _customer_checks(holder: parties.HolderDetails, supply: SupplyDetails, tenant, today: date):
    errors = ErrorCollector()
    parties.check_holder(holder, errors, today=today)
    _premise, offer = _check_supply(supply, errors, account=None, tenant=tenant, today=today)
    return errors, offer


def check_new_customer(*, holder: parties.HolderDetails, supply: SupplyDetails, tenant, today: date) -> FieldErrors:
    """Every problem `create_customer` would refuse, without writing (to show them beside a form's own)."""
    errors, _offer = _customer_checks(parties.clean_holder(holder), clean_supply(supply), tenant, today)
    return FieldErrors(errors.errors, errors.details)


def create_customer(*, holder: parties.HolderDetails, supply: SupplyDetails, locale: str | None, paperless: bool,
                    tenant, staff_user_id: int | None, today: date, now: datetime) -> CustomerAccount:
    """A new customer: the party with its contact points, an account numbered as the tenant's are, the premise
    and point of delivery, the meter with its registers installed with its first index, and a contract under the
    offer from its start date. Everything is checked first (FieldErrors lists every problem, nothing written)."""
    holder, supply = parties.clean_holder(holder), clean_supply(supply)
    errors, offer = _customer_checks(holder, supply, tenant, today)
    errors.raise_if_any()
    party = parties.create_party(details=holder, tenant=tenant, now=now)
    account = contracts.open_account(holder=party, tenant=tenant, opened_on=min(supply.start_date, today),
                                     locale=locale, paperless=paperless, now=now)
    contract = _write_supply(supply, account=account, premise=None, offer=offer, tenant=tenant,
                             staff_user_id=staff_user_id, today=today, now=now)
    record_event(db.session, tenant_id=tenant.id, action="customer_created", entity_type="CustomerAccount",
                 entity_id=account.id, occurred_at=now,
                 details={"contract": contract.contract_number, "point_of_delivery": contract.delivery_point.identifier,
                          "meter": contract.delivery_point.current_meter.serial_number})
    log.info("customer created by staff tenant=%s account=%s contract=%s staff=%s", tenant.id,
             account.account_number, contract.contract_number, staff_user_id)
    return account


def check_supply(*, account: CustomerAccount, supply: SupplyDetails, tenant, today: date) -> FieldErrors:
    """Every problem `add_supply` would refuse, without writing."""
    supply = clean_supply(supply)
    errors = ErrorCollector()
    _check_supply(supply, errors, account=account, tenant=tenant, today=today)
    return FieldErrors(errors.errors, errors.details)


def add_supply(*, account: CustomerAccount, supply: SupplyDetails, tenant, staff_user_id: int | None, today: date,
               now: datetime) -> Contract:
    """Another point of delivery (at one of the customer's premises or a new address), its meter and a contract."""
    supply = clean_supply(supply)
    errors = ErrorCollector()
    premise, offer = _check_supply(supply, errors, account=account, tenant=tenant, today=today)
    errors.raise_if_any()
    contract = _write_supply(supply, account=account, premise=premise, offer=offer, tenant=tenant,
                             staff_user_id=staff_user_id, today=today, now=now)
    record_event(db.session, tenant_id=tenant.id, action="supply_added", entity_type="CustomerAccount",
                 entity_id=account.id, occurred_at=now,
                 details={"contract": contract.contract_number, "point_of_delivery": contract.delivery_point.identifier,
                          "meter": contract.delivery_point.current_meter.serial_number})
    return contract


def _holder_checks(account: CustomerAccount, holder: parties.HolderDetails, today: date):
    holder = parties.clean_holder(holder)
    holder = parties.HolderDetails(**{**holder.__dict__, "kind": account.holder.kind})
    errors = ErrorCollector()
    parties.check_holder(holder, errors, today=today)
    return holder, errors


def check_holder_change(*, account: CustomerAccount, holder: parties.HolderDetails, today: date) -> FieldErrors:
    _holder, errors = _holder_checks(account, holder, today)
    return FieldErrors(errors.errors, errors.details)


def change_holder(*, account: CustomerAccount, holder: parties.HolderDetails, today: date) -> None:
    """New name and contact details of the account's holder (the kind, person or organisation, stays)."""
    holder, errors = _holder_checks(account, holder, today)
    errors.raise_if_any()
    parties.update_holder(party=account.holder, details=holder)


def premises_of(account: CustomerAccount) -> list[Premise]:
    seen: dict[int, Premise] = {}
    for contract in account.contracts:
        seen.setdefault(contract.delivery_point.premise.id, contract.delivery_point.premise)
    return list(seen.values())


# --- ending a contract --------------------------------------------------------------------------------------------

def end_contract(*, contract: Contract, end_on: date | None, values: dict[str, Decimal | None],
                 staff_user_id: int | None, today: date, now: datetime):
    """End the contract on `end_on` with a final reading of each register, through the move-out rules (dates,
    no final reading below the previous one, budget billing ended and settled). Raises MoveOutRefused."""
    from domain.requests.moves import move_out

    first = move_out(contract=contract, move_out_on=end_on, readings=values, today=today, now=now,
                     customer_user_id=None)
    meter_registers = [r.id for r in first.register.meter.registers]
    for reading in db.session.scalars(select(MeterReading).where(
            MeterReading.register_id.in_(meter_registers), MeterReading.read_on == end_on,
            MeterReading.received_at == now)):
        reading.source = "agent"
        reading.entered_by_staff_id = staff_user_id
    db.session.flush()
    return first


# --- meter exchange -----------------------------------------------------------------------------------------------

@dataclass
class Exchange:
    delivery_point: DeliveryPoint
    old_serial: str
    new_serial: str
    removal: list[MeterReading]
    installation: list[MeterReading]


def point_of_account(account: CustomerAccount, identifier: str) -> DeliveryPoint | None:
    for contract in account.contracts:
        if contract.delivery_point.identifier == identifier:
            return contract.delivery_point
    return None


def account_at_point(*, identifier: str, day: date | None) -> CustomerAccount | None:
    """The account supplied at a point of delivery on `day` (its contract there live that day), else the account of
    the point's latest contract (an exchange's checks then say why it cannot be done on that day); None for a point
    the tenant does not have or that never had a contract (for a system naming a point, not a customer)."""
    point = sites.delivery_point_by_identifier(identifier)
    if point is None:
        return None
    contracts = list(db.session.scalars(select(Contract).where(Contract.delivery_point_id == point.id)
                                        .order_by(Contract.start_date, Contract.id)))
    live = next((c for c in contracts if day is not None and c.is_live_on(day)), None)
    chosen = live or (contracts[-1] if contracts else None)
    return chosen.account if chosen is not None else None


def _exchange_checks(*, account, point, exchange_on, removal_values, rollover_confirmed, implausible_confirmed,
                     new_meter, installation_values, today, plausibility_factor, removed_serial=None):
    """(errors, the installation ending, the removal readings judged) of a meter exchange; nothing written."""
    errors = ErrorCollector()
    installation = sites.current_installation(point)
    if (removed_serial is not None and installation is not None
            and sites.normalise_reference(removed_serial) != installation.meter.serial_number.upper()):
        errors.add("removed_serial", "not_installed")
    contract = next((c for c in account.contracts if c.delivery_point_id == point.id
                     and exchange_on is not None and c.is_live_on(exchange_on)), None)
    if installation is None:
        errors.add("exchange_on", "no_meter")
    elif exchange_on is None:
        errors.add("exchange_on", "required")
    else:
        problem = readings.staff_reading_date_problem(day=exchange_on, today=today)
        billed_until = max((c.billed_until for c in account.contracts
                            if c.delivery_point_id == point.id and c.billed_until), default=None)
        if problem:
            errors.add("exchange_on", problem)
        elif exchange_on <= installation.installed_on:
            errors.add("exchange_on", "before_installation", date=installation.installed_on)
        elif billed_until is not None and exchange_on < billed_until:
            errors.add("exchange_on", "billed", date=billed_until)
        elif contract is None:
            errors.add("exchange_on", "no_contract")
    old = installation.meter if installation is not None else None
    judged = []
    if old is not None and "exchange_on" not in errors.errors and "removed_serial" not in errors.errors:
        db.session.scalar(select(type(old)).where(type(old).id == old.id).with_for_update())
        latest = readings.latest_actual_on([r.id for r in old.registers])
        if latest is not None and latest > exchange_on:
            errors.add("exchange_on", "later_reading", date=latest)
        else:
            state = readings.meter_of_account(account=account, serial=old.serial_number, day=exchange_on)
            try:
                judged = readings.judge_readings(
                    state=state, values={k: v for k, v in removal_values.items() if v is not None},
                    rollover_confirmed=rollover_confirmed, day=exchange_on, leave_out=set(),
                    plausibility_factor=plausibility_factor)
            except readings.ReadingRefused as refused:
                for code, problem in refused.problems.items():
                    errors.add(f"removal_{code}", problem.reason, **problem.details)
            else:
                for code, problem in readings.implausible_problems(judged).items():
                    if not implausible_confirmed:
                        errors.add(f"removal_{code}", "implausible", **problem.details)
    sites.check_meter(new_meter, errors)
    check_index_values(new_meter, installation_values, errors, prefix="index_")

    return errors, installation, judged


def check_exchange(*, account: CustomerAccount, identifier: str, exchange_on: date | None,
                   removal_values: dict[str, Decimal | None], rollover_confirmed: bool, implausible_confirmed: bool,
                   new_meter: sites.MeterSpec, installation_values: dict[str, Decimal | None], today: date,
                   plausibility_factor: Decimal = DEFAULT_PLAUSIBILITY_FACTOR,
                   removed_serial: str | None = None) -> FieldErrors:
    """Every problem `exchange_meter` would refuse, without writing."""
    point = point_of_account(account, identifier)
    if point is None:
        raise LookupError(identifier)
    errors, _installation, _judged = _exchange_checks(
        account=account, point=point, exchange_on=exchange_on, removal_values=removal_values,
        rollover_confirmed=rollover_confirmed, implausible_confirmed=implausible_confirmed, new_meter=new_meter,
        installation_values=installation_values, today=today, plausibility_factor=plausibility_factor,
        removed_serial=removed_serial)
    return FieldErrors(errors.errors, errors.details)


def exchange_meter(*, account: CustomerAccount, identifier: str, exchange_on: date | None,
                   removal_values: dict[str, Decimal | None], rollover_confirmed: bool, implausible_confirmed: bool,
                   new_meter: sites.MeterSpec, installation_values: dict[str, Decimal | None], tenant,
                   staff_user_id: int | None, today: date, now: datetime,
                   plausibility_factor: Decimal = DEFAULT_PLAUSIBILITY_FACTOR,
                   removed_serial: str | None = None) -> Exchange:
    """Replace the meter of one of the account's points of delivery on `exchange_on`: the old meter's removal
    reading (checked as any reading of it: dial, rollover, plausibility with the staff's confirmation), the old
    installation ending that day, the new meter (serial unique, dial, multiplier, registers) installed that day
    with its first index. The billing engine bills each meter over its own days ([installed_on, removed_on)).

    The date is today or earlier (up to MAX_STAFF_DAYS_PAST days), after the old meter's installation and its
    latest actual reading, and not inside a period a bill already covers. `removed_serial`, when given (a field
    tool names the meter it took off), must be the meter installed ("removed_serial": "not_installed").
    FieldErrors with every problem (codes per field; "removal_<register>" and "index_<register>" for the
    indexes), nothing written."""
    point = point_of_account(account, identifier)
    if point is None:
        raise LookupError(identifier)
    errors, installation, judged = _exchange_checks(
        account=account, point=point, exchange_on=exchange_on, removal_values=removal_values,
        rollover_confirmed=rollover_confirmed, implausible_confirmed=implausible_confirmed, new_meter=new_meter,
        installation_values=installation_values, today=today, plausibility_factor=plausibility_factor,
        removed_serial=removed_serial)
    errors.raise_if_any()
    old = installation.meter

    removal = []
    for item in judged:
        reading = MeterReading(register_id=item.line.register.id, read_on=exchange_on, value=item.value,
                               source="agent", status="valid", received_at=now,
                               rollover_confirmed=item.check.rolled_over,
                               implausible_confirmed=not item.plausibility.plausible, entered_by_staff_id=staff_user_id)
        db.session.add(reading)
        removal.append(reading)
    sites.remove_meter(installation=installation, removed_on=exchange_on)
    meter = sites.create_meter(spec=new_meter, activity=point.activity)
    sites.install_meter(meter=meter, delivery_point=point, installed_on=exchange_on)
    fitted = [MeterReading(register_id=register.id, read_on=exchange_on, value=installation_values[register.code],
                           source="agent", status="valid", received_at=now, entered_by_staff_id=staff_user_id)
              for register in meter.registers]
    db.session.add_all(fitted)
    db.session.flush()
    record_event(db.session, tenant_id=tenant.id, action="meter_exchanged", entity_type="CustomerAccount",
                 entity_id=account.id, occurred_at=now,
                 details={"point_of_delivery": point.identifier, "exchange_on": exchange_on,
                          "old_meter": old.serial_number, "new_meter": meter.serial_number,
                          "removal": {r.register.code: r.value for r in removal},
                          "installation": {r.register.code: r.value for r in fitted},
                          "implausible_confirmed": any(r.implausible_confirmed for r in removal)})
    log.info("meter exchanged tenant=%s account=%s point=%s old=%s new=%s on=%s staff=%s", tenant.id,
             account.account_number, point.identifier, old.serial_number, meter.serial_number, exchange_on,
             staff_user_id)
    return Exchange(point, old.serial_number, meter.serial_number, removal, fitted)


__all__ = ["FieldErrors", "SupplyDetails", "create_customer", "add_supply", "change_holder", "end_contract",
           "exchange_meter", "Exchange", "premises_of", "point_of_account", "check_new_customer", "check_supply",
           "check_holder_change", "check_exchange", "account_at_point"]
