"""Decides, from a seeded random generator, every demo customer: who, where, which supplies, meters, offers.

Pure (no database), so the same seed and dates always give the same customers.
"""
from __future__ import annotations

import random
import unicodedata
import uuid
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from demo.catalogue import DemoUtility, KnownCustomer, KnownHome, offers_for
from demo.names import (
    BUSINESSES,
    EMAIL_DOMAINS,
    FIRST_NAMES_FEMALE,
    FIRST_NAMES_MALE,
    LAST_NAMES,
    SECOND_LINES,
    STREETS,
)
from demo.readings import MeterSeries

MAX_TENURE_DAYS = 5 * 365  # the oldest contract started this long before the reading history

# Estimated annual consumption per activity: m3 of water, kWh of energy (gas too, though its meter counts m3).
ANNUAL_RANGES = {"water": (40, 150), "electricity": (2000, 9000), "gas": (5000, 20000), "heating": (6000, 15000)}
METER_DIGITS = {"water": 5, "gas": 5, "electricity": 6, "heating": 6}
METER_UNITS = {"water": "m3", "gas": "m3", "electricity": "kWh", "heating": "kWh"}
PEAK_SHARES = (("PEAK", 0.62), ("OFFPEAK", 0.38))

# Every 50th account has a meter about to wrap, every 15th a reading waiting for validation.
ROLLOVER_EVERY, ROLLOVER_AT = 50, 3
PENDING_EVERY, PENDING_AT = 15, 4


@dataclass(frozen=True)
class Address:
    line1: str
    postcode: str
    city: str
    line2: str | None = None
    country: str = "FR"


@dataclass
class SupplyPlan:
    """One point of delivery with its meter and contract."""

    activity: str
    identifier: str
    contract_number: str
    offer_code: str
    billing_frequency: str
    estimated_annual_consumption: Decimal
    serial_number: str
    meter_model: str
    installed_on: date
    contract_start: date
    series: MeterSeries
    subscribed_power: Decimal | None = None
    gas_correction_factor: Decimal | None = None

    @property
    def register_codes(self) -> list[str]:
        return [code for code, _share in self.series.register_shares]


@dataclass
class AccountPlan:
    account_number: str
    label: str
    opened_on: date
    payment_method: str
    paperless: bool
    locale: str
    premise: Address
    premise_public_id: str
    supplies: list[SupplyPlan] = field(default_factory=list)


@dataclass
class PartyPlan:
    party_number: str
    kind: str
    postal: Address
    email: str
    phone: str
    title: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    organisation_name: str | None = None
    registration_number: str | None = None
    birth_date: date | None = None
    login_email: str | None = None  # known demo customers sign in with this
    accounts: list[AccountPlan] = field(default_factory=list)


def account_number(utility: DemoUtility, index: int) -> str:
    """The public customer number of the utility's index-th account (0 first), e.g. AQ00001001."""
    return f"{utility.prefix}{1001 + index:08d}"


def earliest_contract_start(history_start: date) -> date:
    """The first tariff versions start here, so every contract has prices from its first day."""
    return date((history_start - timedelta(days=MAX_TENURE_DAYS)).year, 1, 1)


def plan_customers(utility: DemoUtility, *, accounts: int, history_start: date, rng: random.Random) -> list[PartyPlan]:
    """The known demo customers first, then random ones until there are `accounts` accounts."""
    planner = _Planner(utility, history_start=history_start, rng=rng)
    parties = [planner.known_party(customer) for customer in utility.known_customers]
    while planner.account_count < accounts:
        parties.append(planner.random_party())
    return parties


class _Planner:
    def __init__(self, utility: DemoUtility, *, history_start: date, rng: random.Random):
        self.utility = utility
        self.history_start = history_start
        self.rng = rng
        self.account_count = 0
        self._counters: dict[str, int] = {}

    def _next(self, kind: str) -> int:
        self._counters[kind] = self._counters.get(kind, 0) + 1
        return self._counters[kind]

    # Parties

    def known_party(self, customer: KnownCustomer) -> PartyPlan:
        home = customer.homes[0]
        postal = Address(home.address_line1, home.postcode, home.city)
        kind = "organisation" if customer.organisation_name else "person"
        party = PartyPlan(
            party_number=self._party_number(), kind=kind, postal=postal, email=customer.email,
            phone=self._phone(), title=customer.title, first_name=customer.first_name,
            last_name=customer.last_name, organisation_name=customer.organisation_name,
            registration_number=self._siren() if customer.organisation_name else None,
            birth_date=None if customer.organisation_name else self._birth_date(), login_email=customer.email,
        )
        scale = 2.5 if customer.organisation_name else 1.0
        for known in customer.homes:
            premise = Address(known.address_line1, known.postcode, known.city)
            party.accounts.append(self._account(premise, label=known.label, scale=scale, known=known))
        return party

    def random_party(self) -> PartyPlan:
        postal = self._address()
        if self.rng.random() < 0.04:
            party = self._organisation(postal)
            scale = 2.5
        else:
            party = self._person(postal)
            scale = 1.0
        party.accounts.append(self._account(postal, label="home", scale=scale))
        return party

    def _person(self, postal: Address) -> PartyPlan:
        female = self.rng.random() < 0.5
        first = self.rng.choice(FIRST_NAMES_FEMALE if female else FIRST_NAMES_MALE)
        last = self.rng.choice(LAST_NAMES)
        titles = ("Mme", "M.") if self.utility.locale == "fr" else ("Ms", "Mr")
        number = self._party_number()
        email = f"{_ascii(first)}.{_ascii(last)}{number[-3:]}@{self.rng.choice(EMAIL_DOMAINS)}"
        return PartyPlan(
            party_number=number, kind="person", postal=postal, email=email, phone=self._phone(),
            title=titles[0] if female else titles[1], first_name=first, last_name=last,
            birth_date=self._birth_date(),
        )

    def _organisation(self, postal: Address) -> PartyPlan:
        name = f"{self.rng.choice(BUSINESSES)} – {postal.city}"
        return PartyPlan(
            party_number=self._party_number(), kind="organisation", postal=postal,
            email=f"contact.{_ascii(name)}@{self.rng.choice(EMAIL_DOMAINS)}", phone=self._phone(landline=True),
            organisation_name=name, registration_number=self._siren(),
        )

    def _party_number(self) -> str:
        return f"{self.utility.prefix}P{self._next('party'):06d}"

    def _address(self) -> Address:
        postcode, city = self.rng.choice(self.utility.towns)
        line2 = self.rng.choice(SECOND_LINES) if self.rng.random() < 0.25 else None
        return Address(f"{self.rng.randint(1, 180)} {self.rng.choice(STREETS)}", postcode, city, line2)

    def _phone(self, landline: bool = False) -> str:
        lead = self.utility.phone_area if landline or self.rng.random() < 0.3 else self.rng.choice("67")
        groups = " ".join(f"{self.rng.randrange(100):02d}" for _ in range(4))
        return f"+33 {lead} {groups}"

    def _siren(self) -> str:
        return f"{self.rng.randrange(10 ** 8, 10 ** 9)}"

    def _birth_date(self) -> date:
        return date(self.rng.randint(1940, 2002), self.rng.randint(1, 12), self.rng.randint(1, 28))

    # Accounts and supplies

    def _account(self, premise: Address, *, label: str, scale: float, known: KnownHome | None = None) -> AccountPlan:
        index = self.account_count
        self.account_count += 1
        opened_on = self.history_start - timedelta(days=self.rng.randint(20, MAX_TENURE_DAYS))
        account = AccountPlan(
            account_number=account_number(self.utility, index), label=label, opened_on=opened_on,
            payment_method=self.rng.choices(("direct_debit", "transfer", "card"), (11, 5, 4))[0],
            paperless=self.rng.random() < 0.4, locale=self.utility.locale, premise=premise,
            # Seeded like everything else, so a re-seed gives the same public references.
            premise_public_id=str(uuid.UUID(int=self.rng.getrandbits(128), version=4)),
        )
        if label == "holiday home":
            scale *= 0.35
        activities = known.activities if known else self._activities()
        frequency = self._billing_frequency()
        for position, activity in enumerate(activities):
            # Demo customers keep plain histories; among the others a few meters wrap or wait for a check.
            special = known is None and position == 0
            account.supplies.append(self._supply(
                activity, opened_on=opened_on, scale=scale, frequency=frequency,
                peak_offpeak=known.peak_offpeak if known else None,
                rollover=special and index % ROLLOVER_EVERY == ROLLOVER_AT,
                pending=special and index % PENDING_EVERY == PENDING_AT,
            ))
        return account

    def _activities(self) -> tuple[str, ...]:
        offered = self.utility.activities
        if "electricity" not in offered:
            return offered[:1]
        roll = self.rng.random()
        if "heating" in offered and roll < 0.08:
            return ("electricity", "heating")  # flats on the heating network rarely also take gas
        if "gas" in offered and roll < 0.65:
            return ("electricity", "gas")
        return ("electricity",)

    def _billing_frequency(self) -> str:
        if self.utility.activities == ("water",):
            return self.rng.choices(("biannual", "quarterly", "monthly"), (6, 3, 1))[0]
        return self.rng.choices(("monthly", "bimonthly", "annual"), (5, 3, 2))[0]

    def _supply(self, activity: str, *, opened_on: date, scale: float, frequency: str,
                peak_offpeak: bool | None, rollover: bool, pending: bool) -> SupplyPlan:
        rng = self.rng
        low, high = ANNUAL_RANGES[activity]
        estimate = Decimal(round(rng.triangular(low, high, (low + high) / 2.6) * scale)).quantize(Decimal("0.001"))
        actual = float(estimate) * rng.uniform(0.85, 1.15)  # real use differs from the estimate
        shares = (("TOTAL", 1.0),)
        power = correction = None
        if activity == "electricity":
            if peak_offpeak is None:
                peak_offpeak = rng.random() < 0.33
            shares = PEAK_SHARES if peak_offpeak else shares
            power = Decimal(3 if estimate < 1500 else 6 if estimate < 4000 else 9 if estimate < 7000 else 12)
        elif activity == "gas":
            # Volume correction (temperature, pressure) near 1; kWh = m3 x correction x calorific value / 3.6.
            correction = Decimal(f"{rng.uniform(0.980, 1.030):.5f}")
            actual /= float(correction) * float(GAS_CALORIFIC_VALUE) / 3.6
        elif activity == "heating":
            power = Decimal(max(5, round(float(estimate) / 1100)))
        # Old electromechanical meters are the ones that wrap; smart meters and pending checks are exclusive.
        is_smart = activity == "electricity" and not rollover and not pending and rng.random() < 0.9
        series = MeterSeries(
            activity=activity, register_shares=shares, annual_consumption=Decimal(f"{actual:.3f}"),
            digits=METER_DIGITS[activity], whole_units=METER_UNITS[activity] == "kWh", is_smart=is_smart,
            rollover=rollover, pending_latest=pending, spike_latest=pending and rng.random() < 0.5,
        )
        offers = offers_for(self.utility, activity, tuple(code for code, _ in shares))
        offer = rng.choices(offers, [o.share for o in offers])[0]
        number = self._next("supply")
        return SupplyPlan(
            activity=activity, identifier=_identifier(activity, number),
            contract_number=f"{self.utility.prefix}C{number:07d}", offer_code=offer.code,
            billing_frequency="monthly" if activity == "heating" else frequency,
            estimated_annual_consumption=estimate, serial_number=_serial(activity, is_smart, number),
            meter_model=_model(activity, is_smart), installed_on=opened_on - timedelta(days=rng.randint(0, 1500)),
            contract_start=opened_on, series=series, subscribed_power=power, gas_correction_factor=correction,
        )


GAS_CALORIFIC_VALUE = Decimal("38.9")  # MJ/m3, a typical natural gas


def _identifier(activity: str, number: int) -> str:
    """A network identifier shaped like the real ones (PRM, PCE, ...), unique per tenant."""
    if activity == "electricity":
        return f"{21_445_000_000_000 + number * 7:014d}"
    if activity == "gas":
        return f"GI{100_000 + number:06d}"
    if activity == "water":
        return f"PDE-{number:07d}"
    return f"RCU-{number:06d}"


def _serial(activity: str, is_smart: bool, number: int) -> str:
    prefix = {"water": "AQW", "gas": "G4D", "heating": "KMC"}.get(activity) or ("LKY" if is_smart else "CBE")
    return f"{prefix}{number:09d}"


def _model(activity: str, is_smart: bool) -> str:
    if activity == "electricity":
        return "Linky" if is_smart else "Electromechanical single phase"
    return {"water": "Itron Aquadis+", "gas": "G4 diaphragm", "heating": "Kamstrup MULTICAL 603"}[activity]


def _ascii(text: str) -> str:
    """Lower-case ASCII letters and digits only, for e-mail local parts."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(c for c in plain.lower() if c.isalnum())
