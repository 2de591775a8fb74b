"""Reading reminders: when a contract's reading window opens, its customer is asked to read the meter.

A daily job per tenant (app/schedule.py) looks at the live contracts whose meter is read by hand (not smart) and
whose window (domain/readings/window.py) is open today and opened at most `CATCH_UP_DAYS` ago (a day the workers
missed still gets its reminders), skips those already read since the window opened, and queues one
`reading_window_open` message per contract and window (reference `reading-window:<contract>:<first day>`): run
twice, it queues nothing twice. The message links straight to the meter's reading form. It is optional: a
customer who switched reminders off in the profile is recorded as skipped.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from domain.communications.notifications import recipient_of_account
from domain.communications.pipeline import NoAddress, notify
from domain.contracts.models import Contract, CustomerAccount
from domain.db import db, utcnow
from domain.identity.models import CustomerAccess, CustomerUser
from domain.readings.models import MeterReading
from domain.readings.services import active_plans
from domain.readings.window import reading_window, window_is_open
from domain.sites.models import DeliveryPoint, Meter, MeterInstallation
from tenants.context import require_tenant_id
from tenants.models import Tenant

log = logging.getLogger("communications.reading_notices")
KIND = "reading_window_open"
CATCH_UP_DAYS = 3
BATCH = 500


@dataclass(frozen=True)
class Due:
    """A contract whose customer is to be reminded: its meter and the window (first and last day)."""

    contract: Contract
    meter: Meter
    window: tuple[date, date]

    @property
    def reference(self) -> str:
        return f"reading-window:{self.contract.id}:{self.window[0].isoformat()}"


def opened_recently(window: tuple[date, date] | None, today: date) -> bool:
    """The window is open today and opened at most CATCH_UP_DAYS days ago (pure)."""
    return window_is_open(window, today) and (today - window[0]).days <= CATCH_UP_DAYS


def _read_since(register_ids: list[int], since: dict[int, date]) -> set[int]:
    """Registers with a reading (customer, agent or meter; not an estimate) on or after their window's first day."""
    if not register_ids:
        return set()
    first = min(since.values())
    rows = db.session.execute(
        select(MeterReading.register_id, MeterReading.read_on)
        .where(MeterReading.register_id.in_(register_ids), MeterReading.read_on >= first,
               MeterReading.source != "estimated", MeterReading.status != "rejected"))
    return {register_id for register_id, read_on in rows if read_on >= since[register_id]}


def due_reminders(*, tenant: Tenant, today: date, after_id: int = 0, limit: int = BATCH) -> tuple[list[Due], int]:
    """The reminders due among the next `limit` contracts after `after_id` (by id): (due, last id looked at, 0 at
    the end)."""
    contracts = list(db.session.scalars(
        select(Contract).where(Contract.id > after_id, Contract.status == "active", Contract.start_date <= today)
        .options(selectinload(Contract.account),
                 selectinload(Contract.delivery_point).selectinload(DeliveryPoint.premise),
                 selectinload(Contract.delivery_point).selectinload(DeliveryPoint.installations)
                 .selectinload(MeterInstallation.meter).selectinload(Meter.registers))
        .order_by(Contract.id).limit(limit)))
    if not contracts:
        return [], 0
    plans = active_plans([c.id for c in contracts])
    candidates: list[Due] = []
    for contract in contracts:
        if not contract.is_live_on(today) or contract.account.status != "active":
            continue
        meter = contract.delivery_point.meter_on(today)
        if meter is None or meter.is_smart or not meter.registers:
            continue
        window = reading_window(contract, tenant, today, plan=plans.get(contract.id))
        if opened_recently(window, today):
            candidates.append(Due(contract, meter, window))
    since = {r.id: due.window[0] for due in candidates for r in due.meter.registers}
    read = _read_since(list(since), since)
    due = [d for d in candidates if not all(r.id in read for r in d.meter.registers)]
    return due, contracts[-1].id if len(contracts) == limit else 0


def _online_user(account: CustomerAccount) -> int | None:
    """The account's online access whose preferences apply (the first active one)."""
    return db.session.scalar(select(CustomerUser.id).join(
        CustomerAccess, CustomerAccess.customer_user_id == CustomerUser.id)
        .where(CustomerAccess.account_id == account.id, CustomerUser.is_active.is_(True))
        .order_by(CustomerUser.id).limit(1))


def remind(due: Due, *, now: datetime) -> bool:
    """Queue the reminder of one contract's window (False: no address, or already queued for this window)."""
    account = due.contract.account
    to = recipient_of_account(account)
    if not to:
        return False
    point = due.contract.delivery_point
    try:
        message = notify(
            kind=KIND, to=to, locale=account.locale, now=now, account_id=account.id,
            party_id=account.holder_party_id, customer_user_id=_online_user(account), reference=due.reference,
            context={"account": account, "activity": point.activity, "serial": due.meter.serial_number,
                     "address": point.premise.one_line if point.premise else "", "window_end": due.window[1]},
            links={"link": ("portal.submit_reading", {"serial": due.meter.serial_number})})
    except NoAddress:
        return False
    return message is not None


def send_reading_reminders(*, today_iso: str, now_iso: str | None = None) -> dict:
    """The daily job: remind every customer whose reading window opened (batches of BATCH contracts, committed
    one by one: a job stopped half-way is run again and queues only what is missing)."""
    today = date.fromisoformat(today_iso)
    now = datetime.fromisoformat(now_iso) if now_iso else utcnow()
    tenant = db.session.get(Tenant, require_tenant_id())
    queued = looked_at = 0
    after = 0
    while True:
        due, after = due_reminders(tenant=tenant, today=today, after_id=after)
        looked_at += len(due)
        queued += sum(remind(d, now=now) for d in due)
        db.session.commit()
        if not after:
            break
    log.info("reading reminders tenant=%s day=%s due=%s queued=%s", tenant.id, today, looked_at, queued)
    return {"due": looked_at, "queued": queued}

