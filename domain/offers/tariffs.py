"""Offers and their tariff versions as a tenant administrator sets them up: offers per activity, price changes as
new versions from a date, the prices and components of a version with the names customers read, the lock on a
version an issued bill used, and the preview of a typical bill computed by the billing engine itself.

Every write goes through the ORM, so the audit recorder keeps who changed what (domain/audit/recorder.py).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation

from sqlalchemy import func, select

from domain.billing.chunk_inputs import component_input
from domain.billing.engine import (
    BillResult,
    ContractIn,
    MeterIn,
    ReadingIn,
    TariffIn,
    UnitPriceIn,
    compute_bill,
    prepare_tariff,
    price_keys,
)
from domain.billing.engine.model import CHARGE_PERIODS, STANDING_CHARGE
from domain.billing.models import Bill
from domain.contracts.models import Contract
from domain.db import db
from domain.offers.models import COMPONENTS, TARIFF_COMPONENT_KINDS, Offer, TariffComponent, TariffVersion, UnitPrice

ACTIVITIES = ("water", "gas", "electricity", "heating")
OFFER_KINDS = ("regulated", "market")
LOCALES = ("en", "fr", "de", "es")
# A typical household's year, editable on the preview (gas in kWh: the preview bills energy, not volume).
TYPICAL_ANNUAL_CONSUMPTION = {"water": Decimal("120"), "gas": Decimal("12000"), "electricity": Decimal("4500"),
                              "heating": Decimal("10000")}
TYPICAL_POWER = {"electricity": Decimal("6"), "heating": Decimal("10"), "water": Decimal("0"), "gas": Decimal("0")}
PREVIEW_UNIT = {"water": "m3", "gas": "kWh", "electricity": "kWh", "heating": "kWh"}
_CODE = re.compile(r"^[A-Z0-9][A-Z0-9_-]{1,39}$")
_KEY = re.compile(r"^[a-z][a-z0-9_]{1,39}$")
_REGISTER = re.compile(r"^[A-Z0-9_]{1,16}$")
_MAX_RATE = Decimal("1000")  # a per-unit or per-period price above this is a typing error


class TariffRefused(ValueError):
    """A change refused, nothing written: `field` is the form field at fault (or None), `code` says why."""

    def __init__(self, code: str, message: str, field: str | None = None, **params):
        super().__init__(message)
        self.code = code
        self.field = field
        self.params = params


class VersionLocked(TariffRefused):
    """The version priced an issued bill: it cannot change; a new version from a later date follows it."""

    def __init__(self, version: TariffVersion):
        super().__init__("locked", f"tariff version from {version.effective_from} priced an issued bill")


# --- reading -----------------------------------------------------------------------------------------------------

def offers_by_activity() -> dict[str, list[Offer]]:
    offers = db.session.scalars(select(Offer).order_by(Offer.activity, Offer.name, Offer.code))
    out: dict[str, list[Offer]] = {}
    for offer in offers:
        out.setdefault(offer.activity, []).append(offer)
    return out


def find_offer(code: str) -> Offer | None:
    return db.session.scalar(select(Offer).where(Offer.code == code))


def find_version(offer: Offer, effective_from: date) -> TariffVersion | None:
    return db.session.scalar(select(TariffVersion).where(TariffVersion.offer_id == offer.id,
                                                         TariffVersion.effective_from == effective_from))


def is_locked(version: TariffVersion) -> bool:
    """Whether an issued bill (one with a number: issued, even if cancelled since) of a contract on the offer
    covers days of the version."""
    query = (select(func.count(Bill.id)).join(Contract, Contract.id == Bill.contract_id)
             .where(Contract.offer_id == version.offer_id, Bill.number.is_not(None),
                    Bill.period_end > version.effective_from))
    if version.effective_to is not None:
        query = query.where(Bill.period_start < version.effective_to)
    return bool(db.session.scalar(query))


def _billed_until(offer: Offer) -> date | None:
    """The end of the latest period an issued bill of the offer covers."""
    return db.session.scalar(select(func.max(Bill.period_end)).join(Contract, Contract.id == Bill.contract_id)
                             .where(Contract.offer_id == offer.id, Bill.number.is_not(None)))


def tariff_input(version: TariffVersion, *, open_ended: bool = False) -> TariffIn:
    """The engine's input for a version (for checks and the preview; billing runs load theirs in bulk)."""
    return TariffIn(
        name=version.offer.name if version.offer is not None else "tariff",
        effective_from=version.effective_from, effective_to=None if open_ended else version.effective_to,
        standing_charge_per_day=version.standing_charge_per_day,
        standing_charge_tax_rate=version.standing_charge_tax_rate, prices_include_tax=version.prices_include_tax,
        prices=tuple(_price_input(price) for price in version.prices),
        standing_charges=tuple(component_input(c) for c in version.components if c.kind == "standing_charge"),
        percent_levies=tuple(component_input(c) for c in version.components if c.kind == "percent_levy"),
        included_parts=tuple(component_input(c) for c in version.components if c.kind == "included_part"),
    )


def _price_input(price: UnitPrice) -> UnitPriceIn:
    return UnitPriceIn(price.component, price.price, price.tax_rate, price.register_code, price.tier_from,
                       price.tier_to, price.description)


@dataclass(frozen=True)
class VersionLine:
    """One priced item of a version as the administration page lists it, by the key its bill lines carry."""

    key: str
    kind: str  # standing_charge (the per-day one), price, or a TariffComponent kind
    row: object  # the UnitPrice, TariffComponent, or the version itself
    names: dict


def version_lines(version: TariffVersion) -> list[VersionLine]:
    lines = []
    if version.standing_charge_per_day:
        lines.append(VersionLine(STANDING_CHARGE, "standing_charge", version, version.standing_charge_names or {}))
    keys = price_keys([_price_input(price) for price in version.prices])
    lines.extend(VersionLine(key, "price", price, price.names or {})
                 for key, price in zip(keys, version.prices, strict=True))
    lines.extend(VersionLine(c.code, c.kind, c, c.names or {}) for c in version.components)
    return lines


def names_by_key(version: TariffVersion, locale: str) -> dict[str, str]:
    """line key -> the name customers reading `locale` see (only the names the utility wrote)."""
    return {line.key: line.names[locale] for line in version_lines(version) if line.names.get(locale)}


def version_on(versions, day: date) -> TariffVersion | None:
    for version in versions:
        if version.effective_from <= day and (version.effective_to is None or day < version.effective_to):
            return version
    return None


# --- parsing -------------------------------------------------------------------------------------------------------

def parse_amount(text, field: str, *, places: int = 6, allow_zero: bool = True) -> Decimal:
    """A price as typed ("0,2516" or "0.2516"): at most `places` decimals, not negative, below 1000."""
    try:
        value = Decimal(str(text or "").strip().replace(",", ".").replace("\u00a0", "").replace(" ", ""))
    except InvalidOperation as exc:
        raise TariffRefused("amount", f"{text!r} is not an amount", field) from exc
    if not value.is_finite() or value < 0 or value >= _MAX_RATE or (value == 0 and not allow_zero):
        raise TariffRefused("amount", f"{text!r} is not an amount", field)
    if value != value.quantize(Decimal(1).scaleb(-places)):
        raise TariffRefused("places", f"{text!r} has more than {places} decimals", field, places=places)
    return value


def parse_percent(text, field: str) -> Decimal:
    """A rate typed in per cent ("20", "5,5", "21.93") as a fraction (0.20, 0.055, 0.2193), up to 100 %."""
    try:
        value = parse_amount(text, field, places=3)
    except TariffRefused as exc:
        raise TariffRefused("percent", f"{text!r} is not a rate in per cent", field) from exc
    if value > 100:
        raise TariffRefused("percent", f"{text!r} is more than 100 %", field)
    return (value / 100).quantize(Decimal("0.00001"))


def clean_names(names: dict | None) -> dict:
    out = {}
    for locale, name in (names or {}).items():
        name = (name or "").strip()
        if locale in LOCALES and name:
            if len(name) > 120:
                raise TariffRefused("name_length", "a name has at most 120 characters", f"name_{locale}")
            out[locale] = name
    return out


# --- offers --------------------------------------------------------------------------------------------------------

def create_offer(*, code: str, name: str, activity: str, kind: str) -> Offer:
    code = (code or "").strip().upper()
    name = (name or "").strip()
    if not _CODE.match(code):
        raise TariffRefused("code_format", f"{code!r} is not an offer code", "code")
    if activity not in ACTIVITIES:
        raise TariffRefused("activity", f"unknown activity {activity!r}", "activity")
    if kind not in OFFER_KINDS:
        raise TariffRefused("kind", f"unknown kind {kind!r}", "kind")
    if not name or len(name) > 120:
        raise TariffRefused("name", "an offer needs a name of at most 120 characters", "name")
    if find_offer(code) is not None:
        raise TariffRefused("code_taken", f"offer code {code} is taken", "code")
    offer = Offer(code=code, name=name, activity=activity, kind=kind, is_active=True)
    db.session.add(offer)
    db.session.flush()
    return offer


def update_offer(*, offer: Offer, name: str, kind: str) -> Offer:
    """Rename an offer (bills show its name) or change its kind; the code stays, it is the offer's reference."""
    name = (name or "").strip()
    if not name or len(name) > 120:
        raise TariffRefused("name", "an offer needs a name of at most 120 characters", "name")
    if kind not in OFFER_KINDS:
        raise TariffRefused("kind", f"unknown kind {kind!r}", "kind")
    offer.name, offer.kind = name, kind
    db.session.flush()
    return offer


def set_offer_active(*, offer: Offer, active: bool) -> Offer:
    """An inactive offer is no longer offered to new contracts; contracts on it are still billed with it."""
    offer.is_active = active
    db.session.flush()
    return offer


# --- versions ------------------------------------------------------------------------------------------------------

def create_version(*, offer: Offer, effective_from: date) -> TariffVersion:
    """A price change: a new version from `effective_from`, a copy of the latest version's prices and names to
    edit, the latest version then ending on that day. The first version of an offer starts empty.

    Refused when it would not follow the latest version, or when an issued bill already covers days from that
    date (its prices would change under it: bill those days again with a corrective bill after the change).
    """
    versions = sorted(offer.versions, key=lambda v: v.effective_from)
    latest = versions[-1] if versions else None
    if latest is not None:
        if effective_from <= latest.effective_from:
            raise TariffRefused("not_after_latest", f"a new version starts after {latest.effective_from}",
                                "effective_from", latest=latest.effective_from)
        if latest.effective_to is not None and latest.effective_to < effective_from:
            raise TariffRefused("gap", f"the latest version ends on {latest.effective_to}", "effective_from",
                                latest_end=latest.effective_to)
        billed_until = _billed_until(offer)
        if billed_until is not None and billed_until > effective_from:
            raise TariffRefused("billed", f"issued bills cover days up to {billed_until}", "effective_from",
                                billed_until=billed_until)
    version = TariffVersion(offer_id=offer.id, effective_from=effective_from, effective_to=None,
                            standing_charge_per_day=Decimal("0"), standing_charge_tax_rate=Decimal("0"),
                            prices_include_tax=False)
    if latest is not None:
        version.standing_charge_per_day = latest.standing_charge_per_day
        version.standing_charge_tax_rate = latest.standing_charge_tax_rate
        version.prices_include_tax = latest.prices_include_tax
        version.standing_charge_names = dict(latest.standing_charge_names or {}) or None
        version.effective_to = latest.effective_to if latest.effective_to and latest.effective_to > effective_from \
            else None
        latest.effective_to = effective_from  # closing a version is following it, not editing its prices
    db.session.add(version)
    db.session.flush()
    if latest is not None:
        for price in latest.prices:
            db.session.add(UnitPrice(
                tariff_version_id=version.id, component=price.component, register_code=price.register_code,
                tier_from=price.tier_from, tier_to=price.tier_to, price=price.price, tax_rate=price.tax_rate,
                description=price.description, names=dict(price.names or {}) or None))
        for c in latest.components:
            db.session.add(TariffComponent(
                tariff_version_id=version.id, kind=c.kind, code=c.code, amount=c.amount, per=c.per, base=c.base,
                tax_rate=c.tax_rate, names=dict(c.names or {}) or None))
        db.session.flush()
        db.session.refresh(version)
    db.session.expire(offer, ["versions"])
    return version


def _editable(version: TariffVersion) -> None:
    if is_locked(version):
        raise VersionLocked(version)


def _check(version: TariffVersion) -> None:
    """The engine must be able to price the version as it now is (tiers that follow each other, levies on
    existing lines...): a configuration it would refuse is refused here, before a run meets it."""
    db.session.flush()
    db.session.expire(version, ["prices", "components"])
    try:
        prepare_tariff(tariff_input(version))
    except ValueError as exc:
        raise TariffRefused("inconsistent", str(exc)) from exc


def update_version(*, version: TariffVersion, prices_include_tax: bool, standing_charge_per_day,
                   standing_charge_tax_percent, standing_charge_names: dict | None = None) -> TariffVersion:
    _editable(version)
    version.standing_charge_per_day = parse_amount(standing_charge_per_day, "standing_charge_per_day")
    version.standing_charge_tax_rate = parse_percent(standing_charge_tax_percent, "standing_charge_tax")
    version.prices_include_tax = bool(prices_include_tax)
    version.standing_charge_names = clean_names(standing_charge_names) or None
    _check(version)
    return version


def _taken_keys(version: TariffVersion) -> set[str]:
    return {line.key for line in version_lines(version)} | {STANDING_CHARGE}


def add_unit_price(*, version: TariffVersion, component: str, price, tax_percent, register_code: str | None = None,
                   tier_from=None, tier_to=None, description: str | None = None,
                   names: dict | None = None) -> UnitPrice:
    """A flat price, a tier (annual bounds) or one register's price of a component of the version."""
    _editable(version)
    if component not in COMPONENTS:
        raise TariffRefused("component", f"unknown component {component!r}", "component")
    register_code = (register_code or "").strip().upper() or None
    if register_code is not None and not _REGISTER.match(register_code):
        raise TariffRefused("register", f"{register_code!r} is not a register code", "register_code")
    low = parse_amount(tier_from, "tier_from", places=3) if str(tier_from or "").strip() else None
    high = None
    if str(tier_to or "").strip():
        high = parse_amount(tier_to, "tier_to", places=3)
        if low is None:
            low = Decimal("0")
    if low is not None and high is not None and high <= low:
        raise TariffRefused("tier_order", "a tier ends above where it starts", "tier_to")
    description = (description or "").strip() or None
    if description is not None and not _KEY.match(description):
        raise TariffRefused("key_format", f"{description!r} is not a line key", "description")
    row = UnitPrice(tariff_version_id=version.id, component=component, register_code=register_code, tier_from=low,
                    tier_to=high, price=parse_amount(price, "price"), tax_rate=parse_percent(tax_percent, "tax"),
                    description=description, names=clean_names(names) or None)
    keys_before = _taken_keys(version)
    db.session.add(row)
    _check(version)
    keys = price_keys([_price_input(price) for price in version.prices])
    if len(set(keys)) != len(keys) or (description and description in keys_before):
        raise TariffRefused("key_taken", "two lines of the version would have the same key", "description")
    return row


def add_component(*, version: TariffVersion, kind: str, code: str, amount, per: str | None = None,
                  base: str | tuple | list | None = None, tax_percent=None, names: dict | None = None
                  ) -> TariffComponent:
    """A standing charge of its own (per day, month or year), a levy as a percentage of other lines (`amount`
    in per cent), or a tax contained in a component's gross price (`amount` per unit of `base`)."""
    _editable(version)
    if kind not in TARIFF_COMPONENT_KINDS:
        raise TariffRefused("kind", f"unknown kind {kind!r}", "kind")
    code = (code or "").strip()
    if not _KEY.match(code):
        raise TariffRefused("key_format", f"{code!r} is not a line key", "code")
    if code in _taken_keys(version):
        raise TariffRefused("key_taken", f"the version already has a line {code}", "code")
    row = TariffComponent(tariff_version_id=version.id, kind=kind, code=code, names=clean_names(names) or None,
                          tax_rate=Decimal("0"))
    if kind == "standing_charge":
        if per not in CHARGE_PERIODS:
            raise TariffRefused("per", f"a standing charge is per day, month or year, not {per!r}", "per")
        row.per = per
        row.amount = parse_amount(amount, "amount", allow_zero=False)
        row.tax_rate = parse_percent(tax_percent, "tax")
    elif kind == "percent_levy":
        keys = base.split(",") if isinstance(base, str) else list(base or ())  # "network_standing, metering"
        keys = [key.strip() for key in keys if key and key.strip()]
        known = _taken_keys(version)
        if not keys or any(key not in known for key in keys):
            raise TariffRefused("base", "a levy is a percentage of lines of the version", "base")
        row.base = ",".join(keys)
        row.amount = parse_percent(amount, "amount")
        row.tax_rate = parse_percent(tax_percent, "tax")
    else:
        base = base.strip() if isinstance(base, str) else base
        if base not in COMPONENTS:
            raise TariffRefused("component", f"unknown component {base!r}", "base")
        row.base = base
        row.amount = parse_amount(amount, "amount", allow_zero=False)
    db.session.add(row)
    _check(version)
    return row


def remove_line(*, version: TariffVersion, key: str) -> None:
    """Remove a priced item of the version by its key (the per-day standing charge is set to zero instead)."""
    _editable(version)
    found = next((line for line in version_lines(version) if line.key == key), None)
    if found is None:
        raise TariffRefused("missing", f"no line {key}")
    if found.kind == "standing_charge":
        version.standing_charge_per_day = Decimal("0")
    elif any(key in c.base_keys for c in version.components if c.kind == "percent_levy"):
        raise TariffRefused("in_base", f"a levy is computed on {key}")
    else:
        db.session.delete(found.row)
    _check(version)


# --- preview -------------------------------------------------------------------------------------------------------

def preview_bill(*, version: TariffVersion, annual_consumption: Decimal,
                 subscribed_power: Decimal | None = None) -> BillResult:
    """The bill the engine computes with the version for a year of `annual_consumption` (kWh, m³ for water)
    from its first day, shared equally between the registers it prices separately; gas is previewed in kWh."""
    activity = version.offer.activity
    start = version.effective_from
    end = date(start.year + 1, start.month, start.day) if not (start.month == 2 and start.day == 29) \
        else date(start.year + 1, 3, 1)
    registers = sorted({price.register_code for price in version.prices if price.register_code}) or ["TOTAL"]
    unit = PREVIEW_UNIT[activity]
    meter = MeterIn("PREVIEW", 9, Decimal("1"), unit, start - timedelta(days=1), None, tuple(registers))
    share = (annual_consumption / len(registers)).quantize(Decimal("0.001"))
    readings = []
    for index, code in enumerate(registers):
        used = share if index < len(registers) - 1 else annual_consumption - share * (len(registers) - 1)
        readings += [ReadingIn(code, start, Decimal("0")), ReadingIn(code, end, used)]
    power = subscribed_power if subscribed_power else None
    if power is None and any(price.component == "subscribed_power" for price in version.prices):
        power = TYPICAL_POWER[activity] or Decimal("1")
    contract = ContractIn(activity, start, None, (meter,), tuple(readings), (tariff_input(version, open_ended=True),),
                          annual_consumption, power, Decimal("1") if activity == "gas" else None,
                          Decimal("3.6") if activity == "gas" else None)  # x 1 x 3.6 / 3.6: kWh as given
    try:
        return compute_bill(contract=contract, period_start=start, period_end=end, plausibility_factor=None,
                            regularise=False)
    except ValueError as exc:  # a version the engine cannot price (prepare_tariff): say so, as editing would
        raise TariffRefused("inconsistent", str(exc)) from exc
