"""Loads everything a chunk of contracts needs for billing in a fixed number of queries.

No query runs per contract: contracts, meters, readings, tariffs, calorific values and earlier estimated
bills of the whole chunk are each read with one statement, then grouped in memory.

Readings: every path that bills (runs, corrective bills, true-ups of budget plans) loads them with
`billing_readings`: a history window before the period (for estimation and plausibility) and, for a register
with no actual reading in that window up to its period's start (a long run of estimates), back to its latest
actual reading however old, and the same history window before that one, so the engine regularises from it
exactly as it does when given every reading. That extension is two more statements for the whole chunk, and
none when every register has a recent actual reading.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from typing import NamedTuple
from decimal import Decimal

from sqlalchemy import and_, func, select

from domain.billing.engine.model import (
    CalorificValueIn,
    ContractIn,
    IncludedPartIn,
    MeterIn,
    PercentLevyIn,
    ReadingIn,
    StandingChargeIn,
    TariffIn,
    UnitPriceIn,
    quick_slots_init,
)
from domain.billing.engine.periods import add_months
from domain.billing.models import Bill
from domain.contracts.models import Contract, CustomerAccount
from domain.bulk import among, fetch, id_array, is_postgresql
from domain.db import db
from domain.offers.models import GasCalorificValue, Offer, TariffComponent, TariffVersion, UnitPrice
from domain.readings.models import MeterReading
from domain.sites.models import DeliveryPoint, Meter, MeterInstallation, Register

FREQUENCY_MONTHS = {"monthly": 1, "bimonthly": 2, "quarterly": 3, "biannual": 6, "annual": 12}
HISTORY_DAYS = 400  # a year and a bit of readings, for estimation with a seasonal profile


@quick_slots_init  # one per contract of a chunk
@dataclass(frozen=True, slots=True)
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
    start_date: date
    end_date: date | None
    estimated_annual_consumption: Decimal | None
    subscribed_power: Decimal | None
    gas_correction_factor: Decimal | None
    # The customer prevented readings from this day: consumption from then is not limited by back-billing.
    readings_prevented_from: date | None = None
    calorific_zone: str | None = None  # gas: the zone whose calorific values convert its volume


# Columns of a contract row, in this order, for both the Core statement and the PostgreSQL one.
_CONTRACT_COLUMNS = ("id", "contract_number", "account_id", "delivery_point_id", "offer_id", "start_date",
                     "end_date", "billed_until", "billing_frequency", "estimated_annual_consumption",
                     "readings_prevented_from")
_DP_COLUMNS = ("activity", "subscribed_power", "gas_correction_factor", "calorific_zone")
# The hand-written statements below look rows up key by key through LATERAL subqueries that the planner may not
# flatten (they have an ORDER BY): on tables that grow during a run, or with statistics taken before it, a
# flattened join is costed as a scan of the whole table, repeated for every chunk.
_PG_CONTRACTS = (
    "SELECT " + ", ".join([f"c.{name}" for name in _CONTRACT_COLUMNS] + [f"dp.{name}" for name in _DP_COLUMNS])
    + " FROM contracts c CROSS JOIN LATERAL (SELECT " + ", ".join(_DP_COLUMNS) + " FROM delivery_points"
    " WHERE tenant_id = c.tenant_id AND id = c.delivery_point_id ORDER BY id) dp"
    " {join} WHERE c.tenant_id = %s AND {where} ORDER BY c.id"
)


def _contract_rows(tenant_id: int):
    c, dp = Contract.__table__, DeliveryPoint.__table__
    return (
        select(*[c.c[name] for name in _CONTRACT_COLUMNS], *[dp.c[name] for name in _DP_COLUMNS])
        .join(dp, and_(dp.c.tenant_id == c.c.tenant_id, dp.c.id == c.c.delivery_point_id))
        .where(c.c.tenant_id == tenant_id)
        .execution_options(tenant_filtered=True)
    )


def _due(row, kind: str, start: date, end: date) -> DueContract:
    (contract_id, number, account_id, dp_id, offer_id, start_date, end_date, _billed_until, _frequency, eac,
     prevented_from, activity, power, correction, zone) = row
    return DueContract(contract_id, number, account_id, dp_id, offer_id, activity, kind, start, end, start_date,
                       end_date, eac, power, correction, prevented_from, zone)


def contract_for_period(*, tenant_id: int, contract_id: int, kind: str, period_start: date,
                        period_end: date) -> DueContract | None:
    """One contract as a billing run would see it, for a given period (corrective bills)."""
    row = db.session.execute(_contract_rows(tenant_id).where(Contract.__table__.c.id == contract_id)).first()
    if row is None:
        return None
    return _due(row, kind, period_start, period_end)


def _scoped_contract_rows(run, first_contract_id: int, last_contract_id: int) -> list:
    if is_postgresql(db.session):
        join, where = "", ["c.id BETWEEN %s AND %s", "c.start_date < %s"]
        params: list = [run.tenant_id, first_contract_id, last_contract_id, run.billing_date]
        if run.scope_activity:
            where.append("dp.activity = %s")
            params.append(run.scope_activity)
        if run.scope_cycle:
            join = "JOIN customer_accounts a ON a.tenant_id = c.tenant_id AND a.id = c.account_id"
            where.append("a.billing_cycle = %s")
            params.append(run.scope_cycle)
        return fetch(db.session, _PG_CONTRACTS.format(join=join, where=" AND ".join(where)), params)
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
    return db.session.execute(stmt).all()


def due_contracts(*, run, first_contract_id: int, last_contract_id: int) -> tuple[int, list[DueContract]]:
    """(contracts looked at, those whose billing period has ended by the run's billing date)."""
    rows = _scoped_contract_rows(run, first_contract_id, last_contract_id)
    billing_date = run.billing_date
    periods: dict[tuple, date] = {}  # (start, months) -> end: thousands of contracts share a few periods
    due = []
    for row in rows:
        end_date, billed_until, frequency = row[6], row[7], row[8]
        start = billed_until or row[5]
        if end_date is not None and start >= end_date:
            continue  # ended and fully billed
        months = FREQUENCY_MONTHS.get(frequency, 1)
        end = periods.get((start, months))
        if end is None:
            end = periods[(start, months)] = add_months(start, months)
        kind = "periodic"
        if end_date is not None and end_date <= end:
            end, kind = end_date, "final"
        if end > billing_date:
            continue  # its period has not ended yet
        due.append(_due(row, kind, start, end))
    return len(rows), due


_PG_METERS = (
    "SELECT k.id, m.id, m.serial_number, m.digits, m.multiplier, m.unit, mi.installed_on, mi.removed_on, r.id, r.code"
    " FROM unnest(CAST(%(ids)s AS bigint[])) AS k(id)"
    " CROSS JOIN LATERAL (SELECT meter_id, installed_on, removed_on FROM meter_installations"
    "  WHERE tenant_id = %(t)s AND delivery_point_id = k.id ORDER BY installed_on) mi"
    " CROSS JOIN LATERAL (SELECT id, serial_number, digits, multiplier, unit FROM meters"
    "  WHERE tenant_id = %(t)s AND id = mi.meter_id ORDER BY id) m"
    " CROSS JOIN LATERAL (SELECT id, code FROM registers WHERE tenant_id = %(t)s AND meter_id = m.id ORDER BY id) r"
    " ORDER BY k.id, mi.installed_on, r.id"
)


def meters_by_delivery_point(tenant_id: int, delivery_point_ids: list[int]) -> dict[int, list[tuple]]:
    """delivery point id -> [(MeterIn, {register code: register id})]."""
    if not delivery_point_ids:
        return {}
    if is_postgresql(db.session):
        rows = fetch(db.session, _PG_METERS, {"t": tenant_id, "ids": id_array(sorted(set(delivery_point_ids)))})
    else:
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
    grouped: dict[tuple, tuple] = {}
    for dp_id, meter_id, serial, digits, multiplier, unit, installed_on, removed_on, register_id, code in rows:
        key = (dp_id, meter_id, installed_on)
        entry = grouped.get(key)
        if entry is None:
            entry = grouped[key] = ((serial, digits, multiplier, unit, installed_on, removed_on), {})
        entry[1][code] = register_id
    out: dict[int, list[tuple]] = defaultdict(list)
    for (dp_id, _meter_id, _on), ((serial, digits, multiplier, unit, installed_on, removed_on), registers) in (
            grouped.items()):
        meter = MeterIn(serial, digits, multiplier, unit, installed_on, removed_on, tuple(registers))
        out[dp_id].append((meter, registers))
    return out


def readings_by_register(tenant_id: int, register_ids: list[int], since: date, until: date, *,
                         registers: dict[int, tuple[str, str]] | None = None) -> dict[int, list]:
    """register id -> valid readings over [since, until], oldest first: (read_on, value, estimated) tuples, or
    the engine's `ReadingIn` directly when `registers` gives each register's (code, meter serial)."""
    if not register_ids:
        return {}
    if is_postgresql(db.session):
        rows = fetch(db.session, _PG_READINGS, (tenant_id, id_array(register_ids), since, until))
    else:
        mr = MeterReading.__table__
        rows = db.session.execute(
            select(mr.c.register_id, mr.c.read_on, mr.c.value, mr.c.source == "estimated")
            .where(mr.c.tenant_id == tenant_id, among(mr.c.register_id, register_ids, db.session),
                   mr.c.status == "valid", mr.c.read_on >= since, mr.c.read_on <= until)
            .order_by(mr.c.register_id, mr.c.read_on, mr.c.id)
            .execution_options(tenant_filtered=True)
        ).all()
    out: dict[int, list] = {}
    current = None
    found: list = []
    code = serial = None
    for register_id, read_on, value, estimated in rows:
        if register_id != current:
            current = register_id
            found = out[register_id] = []
            if registers is not None:
                code, serial = registers[register_id]
        if registers is None:
            found.append((read_on, value, bool(estimated)))
        else:
            found.append(ReadingIn(code, read_on, value, bool(estimated), serial))
    return out


_PG_READINGS = (
    "SELECT register_id, read_on, value, source = 'estimated' FROM meter_readings"
    " WHERE tenant_id = %s AND register_id = ANY(CAST(%s AS bigint[])) AND status = 'valid'"
    " AND read_on >= %s AND read_on <= %s"
    " ORDER BY register_id, read_on, id"
)


def _read_on(reading) -> date:
    return reading.read_on if type(reading) is ReadingIn else reading[0]


def _estimated(reading) -> bool:
    return reading.estimated if type(reading) is ReadingIn else reading[2]


def latest_actual_before(tenant_id: int, register_ids: list[int], before: date) -> dict[int, date]:
    """register id -> the day of its latest valid actual (not estimated) reading before `before`, one statement
    for all (registers with none are left out)."""
    if not register_ids:
        return {}
    mr = MeterReading.__table__
    rows = db.session.execute(
        select(mr.c.register_id, func.max(mr.c.read_on))
        .where(mr.c.tenant_id == tenant_id, among(mr.c.register_id, register_ids, db.session),
               mr.c.status == "valid", mr.c.source != "estimated", mr.c.read_on < before)
        .group_by(mr.c.register_id)
        .execution_options(tenant_filtered=True)
    ).all()
    return {register_id: day for register_id, day in rows if day is not None}


def billing_readings(tenant_id: int, *, period_starts: dict[int, date], until: date,
                     registers: dict[int, tuple[str, str]] | None = None,
                     read_together: list[tuple[int, ...]] = ()) -> dict[int, list]:
    """register id -> the readings billing needs, oldest first (shapes as `readings_by_register`).

    `period_starts`: register id -> start of the period its contract is billed for. Each register gets its
    readings from the history window before the earliest period start up to `until`; a register with no actual
    reading on or before its period's start in that window (estimates only) also gets its older readings back to
    its latest actual one and the history window before it: the regularisation starts there, and the
    plausibility check looks at the history before it. Two more statements for the whole chunk at most.
    `read_together`: the registers of each meter; the regularisation starts on a day with actual readings of
    all of them, so when one of a meter's registers goes back, all of them go back as far as the earliest.
    """
    if not period_starts:
        return {}
    since = history_window(min(period_starts.values()))
    out = readings_by_register(tenant_id, sorted(period_starts), since, until, registers=registers)
    short = []
    for register_id, start in period_starts.items():
        found = out.get(register_id, ())
        if not any(not _estimated(reading) and _read_on(reading) <= start for reading in found):
            short.append(register_id)
    if not short:
        return out
    if read_together:
        wanted = set(short)
        for group in read_together:
            if len(group) > 1 and not wanted.isdisjoint(group):
                wanted.update(group)
        short = [register_id for register_id in wanted if register_id in period_starts]
    anchors = latest_actual_before(tenant_id, sorted(short), since)
    if not anchors:
        return out
    for group in read_together:
        found_days = [anchors[register_id] for register_id in group if register_id in anchors]
        if len(found_days) > 1:
            earliest = min(found_days)
            for register_id in group:
                if register_id in anchors:
                    anchors[register_id] = earliest
    older = readings_by_register(tenant_id, sorted(anchors), history_window(min(anchors.values())),
                                 since - timedelta(days=1), registers=registers)
    for register_id, found in older.items():
        first = history_window(anchors[register_id])
        kept = [reading for reading in found if _read_on(reading) >= first]
        out[register_id] = kept + out.get(register_id, [])
    return out


def readings_of_contract(tenant_id: int, meters: list[tuple], *, period_start: date, period_end: date) -> dict:
    """`billing_readings` for one contract's meters (corrective bills, true-ups): the same loading as a run."""
    starts = {register_id: period_start for _meter, registers in meters for register_id in registers.values()}
    return billing_readings(tenant_id, period_starts=starts, until=period_end,
                            read_together=[tuple(registers.values()) for _meter, registers in meters])


def register_period_starts(meters: dict[int, list[tuple]], due: list) -> dict[int, date]:
    """register id -> start of the billed period of the contract on its point of delivery (the earliest when a
    point appears twice)."""
    starts: dict[int, date] = {}
    for item in due:
        for _meter, registers in meters.get(item.delivery_point_id, ()):
            for register_id in registers.values():
                known = starts.get(register_id)
                if known is None or item.period_start < known:
                    starts[register_id] = item.period_start
    return starts


def calorific_values_by_zone(tenant_id: int) -> dict[str, tuple[CalorificValueIn, ...]]:
    """The tenant's dated gas calorific values per zone ("" for points of delivery without a zone), oldest first
    (one short statement: a few rows a year per zone)."""
    cv = GasCalorificValue.__table__
    rows = db.session.execute(
        select(cv.c.zone, cv.c.effective_from, cv.c.value).where(cv.c.tenant_id == tenant_id)
        .order_by(cv.c.zone, cv.c.effective_from).execution_options(tenant_filtered=True)
    ).all()
    out: dict[str, list[CalorificValueIn]] = defaultdict(list)
    for zone, day, value in rows:
        out[zone or ""].append(CalorificValueIn(day, value))
    return {zone: tuple(values) for zone, values in out.items()}


def calorific_values(tenant_id: int, zone: str | None = None) -> tuple[CalorificValueIn, ...]:
    """The dated gas calorific values of one zone (a point of delivery's `calorific_zone`; None or "" for the
    utility's values without a zone), oldest first. A point of delivery is converted with its zone's values only;
    before the zone's first value, the utility's `gas_calorific_value` setting is in force."""
    return calorific_values_by_zone(tenant_id).get(zone or "", ())


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
            tier_from=p.tier_from, tier_to=p.tier_to, description=p.description))
    tc = TariffComponent.__table__
    extras: dict[int, dict[str, list]] = defaultdict(lambda: defaultdict(list))
    for c in db.session.execute(
        select(tc).where(tc.c.tenant_id == tenant_id, among(tc.c.tariff_version_id, [v.id for v in versions],
                                                             db.session))
        .order_by(tc.c.id).execution_options(tenant_filtered=True)
    ).all():
        extras[c.tariff_version_id][c.kind].append(component_input(c))
    out: dict[int, list[TariffIn]] = defaultdict(list)
    for v in versions:
        found = extras.get(v.id, {})
        out[v.offer_id].append(TariffIn(
            name=v.offer_name, effective_from=v.effective_from, effective_to=v.effective_to,
            standing_charge_per_day=v.standing_charge_per_day, standing_charge_tax_rate=v.standing_charge_tax_rate,
            prices_include_tax=v.prices_include_tax, prices=tuple(by_version[v.id]),
            standing_charges=tuple(found.get("standing_charge", ())),
            percent_levies=tuple(found.get("percent_levy", ())),
            included_parts=tuple(found.get("included_part", ()))))
    return {offer_id: tuple(items) for offer_id, items in out.items()}


def component_input(row) -> StandingChargeIn | PercentLevyIn | IncludedPartIn:
    """The engine's input for a `tariff_components` row (an ORM object or a Core row)."""
    if row.kind == "standing_charge":
        return StandingChargeIn(row.code, row.amount, row.per, row.tax_rate)
    if row.kind == "percent_levy":
        return PercentLevyIn(row.code, row.amount, tuple(key for key in (row.base or "").split(",") if key),
                             row.tax_rate)
    return IncludedPartIn(row.code, row.base, row.amount)


class EstimatedBill(NamedTuple):
    id: int
    contract_id: int
    period_start: date
    period_end: date


_PG_ESTIMATED_BILLS = (
    "SELECT b.id, k.id, b.period_start, b.period_end FROM unnest(CAST(%(ids)s AS bigint[])) AS k(id)"
    " CROSS JOIN LATERAL (SELECT id, period_start, period_end FROM bills"
    "  WHERE tenant_id = %(t)s AND contract_id = k.id AND status = 'issued' AND estimated"
    "  AND kind IN ('periodic', 'final', 'corrective', 'true_up') ORDER BY period_start) b"
    " ORDER BY k.id, b.period_start"
)


# Bills whose consumption a later actual reading regularises: a budget plan's true-up that ended on an estimated
# index counts like a periodic bill, whichever path (a periodic run, the next true-up, a correction) comes next.
ESTIMATED_KINDS = ("periodic", "final", "corrective", "true_up")


def estimated_bills_by_contract(tenant_id: int, contract_ids: list[int]) -> dict[int, list[EstimatedBill]]:
    """Issued bills based on estimates, per contract (for regularisation), each an index lookup by contract."""
    if not contract_ids:
        return {}
    if is_postgresql(db.session):
        rows = fetch(db.session, _PG_ESTIMATED_BILLS, {"t": tenant_id, "ids": id_array(sorted(set(contract_ids)))})
    else:
        b = Bill.__table__
        rows = db.session.execute(
            select(b.c.id, b.c.contract_id, b.c.period_start, b.c.period_end)
            .where(b.c.tenant_id == tenant_id, among(b.c.contract_id, contract_ids, db.session),
                   b.c.status == "issued", b.c.estimated.is_(True), b.c.kind.in_(ESTIMATED_KINDS))
            .order_by(b.c.contract_id, b.c.period_start)
            .execution_options(tenant_filtered=True)
        ).all()
    out: dict[int, list[EstimatedBill]] = defaultdict(list)
    for row in rows:
        out[row[1]].append(EstimatedBill(*row))
    return out


def history_window(period_start: date) -> date:
    return period_start - timedelta(days=HISTORY_DAYS)


def contract_input(due: DueContract, *, meters: list[tuple], readings: dict[int, list], tariffs: tuple,
                   gas_calorific_value, gas_calorific_values: tuple = ()) -> ContractIn:
    """The engine's view of one contract, from rows already loaded (see `readings_by_register`)."""
    meter_ins, reading_ins = [], []
    for meter, registers in meters:
        meter_ins.append(meter)
        serial = meter.serial
        for code, register_id in registers.items():
            found = readings.get(register_id)
            if not found:
                continue
            if type(found[0]) is ReadingIn:  # built by readings_by_register(registers=...)
                reading_ins.extend(found)
            else:
                reading_ins.extend([ReadingIn(code, read_on, value, estimated, serial)
                                    for read_on, value, estimated in found])
    return ContractIn(
        due.activity, due.start_date, due.end_date, tuple(meter_ins), tuple(reading_ins), tariffs,
        due.estimated_annual_consumption, due.subscribed_power, due.gas_correction_factor, gas_calorific_value,
        gas_calorific_values,
    )
