"""Loads everything a chunk of contracts needs for billing in a fixed number of queries.

No query runs per contract: contracts, meters, readings, tariffs and earlier estimated
bills of the whole chunk are each read with one statement, then grouped in memory.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import and_, select

from domain.billing.engine.model import ContractIn, MeterIn, ReadingIn, TariffIn, UnitPriceIn
from domain.billing.engine.periods import add_months
from domain.billing.models import Bill
from domain.contracts.models import Contract, CustomerAccount
from domain.bulk import among
from domain.db import db
from domain.offers.models import Offer, TariffVersion, UnitPrice
from domain.readings.models import MeterReading
from domain.sites.models import DeliveryPoint, Meter, MeterInstallation, Register

FREQUENCY_MONTHS = {"monthly": 1, "bimonthly": 2, "quarterly": 3, "biannual": 6, "annual": 12}
HISTORY_DAYS = 400  # a year and a bit of readings, for estimation with a seasonal profile


@dataclass(frozen=True)
class DueContract:
    contract_id: int
    contract_number: str
    account_id: int
    delivery_point_id: int
    offer_id: int
    activity: str
    kind: str  # periodic or final
    period_start: date
    period_end: date
    row: object  # the contract row, for building the engine input


def _contract_rows(tenant_id: int):
    c, dp = Contract.__table__, DeliveryPoint.__table__
    return (
        select(c.c.id, c.c.contract_number, c.c.account_id, c.c.delivery_point_id, c.c.offer_id, c.c.start_date,
               c.c.end_date, c.c.billed_until, c.c.billing_frequency, c.c.estimated_annual_consumption,
               dp.c.activity, dp.c.subscribed_power, dp.c.gas_correction_factor)
        .join(dp, and_(dp.c.tenant_id == c.c.tenant_id, dp.c.id == c.c.delivery_point_id))
        .where(c.c.tenant_id == tenant_id)
        .execution_options(tenant_filtered=True)
    )


def contract_for_period(*, tenant_id: int, contract_id: int, kind: str, period_start: date,
                        period_end: date) -> DueContract | None:
    """One contract as a billing run would see it, for a given period (corrective bills)."""
    row = db.session.execute(_contract_rows(tenant_id).where(Contract.__table__.c.id == contract_id)).first()
    if row is None:
        return None
    return DueContract(row.id, row.contract_number, row.account_id, row.delivery_point_id, row.offer_id,
                       row.activity, kind, period_start, period_end, row)


def due_contracts(*, run, first_contract_id: int, last_contract_id: int) -> tuple[int, list[DueContract]]:
    """(contracts looked at, those whose billing period has ended by the run's billing date)."""
    c, dp = Contract.__table__, DeliveryPoint.__table__
    stmt = (
        _contract_rows(run.tenant_id)
        .where(c.c.id.between(first_contract_id, last_contract_id), c.c.start_date < run.billing_date)
        .order_by(c.c.id)
    )
    if run.scope_activity:
        stmt = stmt.where(dp.c.activity == run.scope_activity)
    if run.scope_cycle:
        a = CustomerAccount.__table__
        stmt = stmt.join(a, and_(a.c.tenant_id == c.c.tenant_id, a.c.id == c.c.account_id)).where(
            a.c.billing_cycle == run.scope_cycle)
    rows = db.session.execute(stmt).all()
    due = []
    for row in rows:
        start = row.billed_until or row.start_date
        if row.end_date is not None and start >= row.end_date:
            continue  # ended and fully billed
        end = add_months(start, FREQUENCY_MONTHS.get(row.billing_frequency, 1))
        kind = "periodic"
        if row.end_date is not None and row.end_date <= end:
            end, kind = row.end_date, "final"
        if end > run.billing_date:
            continue  # its period has not ended yet
        due.append(DueContract(row.id, row.contract_number, row.account_id, row.delivery_point_id, row.offer_id,
                               row.activity, kind, start, end, row))
    return len(rows), due


def meters_by_delivery_point(tenant_id: int, delivery_point_ids: list[int]) -> dict[int, list[tuple]]:
    """delivery point id -> [(MeterIn, {register code: register id})]."""
    if not delivery_point_ids:
        return {}
    mi, m, r = MeterInstallation.__table__, Meter.__table__, Register.__table__
    rows = db.session.execute(
        select(mi.c.delivery_point_id, m.c.id, m.c.serial_number, m.c.digits, m.c.multiplier, m.c.unit,
               mi.c.installed_on, mi.c.removed_on, r.c.id.label("register_id"), r.c.code)
        .join(m, and_(m.c.tenant_id == mi.c.tenant_id, m.c.id == mi.c.meter_id))
        .join(r, and_(r.c.tenant_id == m.c.tenant_id, r.c.meter_id == m.c.id))
        .where(mi.c.tenant_id == tenant_id, among(mi.c.delivery_point_id, delivery_point_ids, db.session))
        .order_by(mi.c.delivery_point_id, mi.c.installed_on, r.c.id)
        .execution_options(tenant_filtered=True)
    ).all()
    grouped: dict[tuple, dict] = {}
    for row in rows:
        key = (row.delivery_point_id, row.id, row.installed_on)
        entry = grouped.setdefault(key, {"row": row, "registers": {}})
        entry["registers"][row.code] = row.register_id
    out: dict[int, list[tuple]] = defaultdict(list)
    for (dp_id, _meter_id, _on), entry in grouped.items():
        row = entry["row"]
        meter = MeterIn(serial=row.serial_number, digits=row.digits, multiplier=row.multiplier, unit=row.unit,
                        installed_on=row.installed_on, removed_on=row.removed_on,
                        registers=tuple(entry["registers"]))
        out[dp_id].append((meter, entry["registers"]))
    return out


def readings_by_register(tenant_id: int, register_ids: list[int], since: date, until: date) -> dict[int, list]:
    """register id -> valid readings over [since, until], oldest first."""
    if not register_ids:
        return {}
    mr = MeterReading.__table__
    rows = db.session.execute(
        select(mr.c.register_id, mr.c.read_on, mr.c.value, mr.c.source)
        .where(mr.c.tenant_id == tenant_id, among(mr.c.register_id, register_ids, db.session), mr.c.status == "valid",
               mr.c.read_on >= since, mr.c.read_on <= until)
        .order_by(mr.c.register_id, mr.c.read_on, mr.c.id)
        .execution_options(tenant_filtered=True)
    ).all()
    out: dict[int, list] = defaultdict(list)
    for row in rows:
        out[row.register_id].append(row)
    return out


def tariffs_by_offer(tenant_id: int, offer_ids: list[int]) -> dict[int, tuple[TariffIn, ...]]:
    if not offer_ids:
        return {}
    tv, up, of = TariffVersion.__table__, UnitPrice.__table__, Offer.__table__
    versions = db.session.execute(
        select(tv, of.c.name.label("offer_name"))
        .join(of, and_(of.c.tenant_id == tv.c.tenant_id, of.c.id == tv.c.offer_id))
        .where(tv.c.tenant_id == tenant_id, among(tv.c.offer_id, offer_ids, db.session))
        .order_by(tv.c.offer_id, tv.c.effective_from)
        .execution_options(tenant_filtered=True)
    ).all()
    prices = db.session.execute(
        select(up).where(up.c.tenant_id == tenant_id,
                         among(up.c.tariff_version_id, [v.id for v in versions], db.session))
        .order_by(up.c.id)
        .execution_options(tenant_filtered=True)
    ).all()
    by_version: dict[int, list[UnitPriceIn]] = defaultdict(list)
    for p in prices:
        by_version[p.tariff_version_id].append(UnitPriceIn(
            component=p.component, price=p.price, tax_rate=p.tax_rate, register_code=p.register_code,
            tier_from=p.tier_from, tier_to=p.tier_to))
    out: dict[int, list[TariffIn]] = defaultdict(list)
    for v in versions:
        out[v.offer_id].append(TariffIn(
            name=v.offer_name, effective_from=v.effective_from, effective_to=v.effective_to,
            standing_charge_per_day=v.standing_charge_per_day, standing_charge_tax_rate=v.standing_charge_tax_rate,
            prices_include_tax=v.prices_include_tax, prices=tuple(by_version[v.id])))
    return {offer_id: tuple(items) for offer_id, items in out.items()}


def estimated_bills_by_contract(tenant_id: int, contract_ids: list[int]) -> dict[int, list]:
    """Issued bills based on estimates, per contract, with their lines (for regularisation)."""
    if not contract_ids:
        return {}
    b = Bill.__table__
    rows = db.session.execute(
        select(b.c.id, b.c.contract_id, b.c.period_start, b.c.period_end)
        .where(b.c.tenant_id == tenant_id, among(b.c.contract_id, contract_ids, db.session), b.c.status == "issued",
               b.c.estimated.is_(True), b.c.kind.in_(("periodic", "final", "corrective")))
        .order_by(b.c.contract_id, b.c.period_start)
        .execution_options(tenant_filtered=True)
    ).all()
    out: dict[int, list] = defaultdict(list)
    for row in rows:
        out[row.contract_id].append(row)
    return out


def history_window(period_start: date) -> date:
    return period_start - timedelta(days=HISTORY_DAYS)


def contract_input(due: DueContract, *, meters: list[tuple], readings: dict[int, list], tariffs: tuple,
                   gas_calorific_value) -> ContractIn:
    """The engine's view of one contract, from rows already loaded."""
    row = due.row
    meter_ins, reading_ins = [], []
    for meter, registers in meters:
        meter_ins.append(meter)
        for code, register_id in registers.items():
            for r in readings.get(register_id, ()):
                reading_ins.append(ReadingIn(register_code=code, read_on=r.read_on, value=r.value,
                                             estimated=r.source == "estimated", meter_serial=meter.serial))
    return ContractIn(
        activity=row.activity, start_date=row.start_date, end_date=row.end_date, meters=tuple(meter_ins),
        readings=tuple(reading_ins), tariffs=tariffs,
        estimated_annual_consumption=row.estimated_annual_consumption, subscribed_power=row.subscribed_power,
        gas_correction_factor=row.gas_correction_factor, gas_calorific_value=gas_calorific_value,
    )
