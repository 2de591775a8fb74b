"""Inputs and outputs of the billing engine: frozen dataclasses of plain values (no ORM object, no I/O)."""
from __future__ import annotations

from dataclasses import MISSING, dataclass, field, fields
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .pricing import PreparedTariff

ACTIVITIES = ("water", "gas", "electricity", "heating")
CONSUMPTION_COMPONENTS = ("energy", "water", "sewerage", "levy", "network")
COMPONENTS = (*CONSUMPTION_COMPONENTS, "subscribed_power")
BILL_KINDS = ("periodic", "final", "corrective", "credit_note")

# Components and description keys of the lines the engine adds on its own.
STANDING_CHARGE = "standing_charge"
REGULARISATION_CREDIT = "regularisation_credit"
BACK_BILLING_LIMIT = "back_billing_limit"


# --- inputs ---------------------------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class UnitPriceIn:
    """One unit price of a tariff version.

    `price` is per billed unit (kWh, m3) or, for "subscribed_power", per kVA (kW for heating) per year.
    `register_code` None prices the consumption of every register together; a code prices only that register.
    `tier_from`/`tier_to` bound an ANNUAL block of consumption, prorated to the period (days / 365);
    `description` overrides the line's description key (e.g. two levies: "levy_cta", "levy_excise").
    """

    component: str
    price: Decimal
    tax_rate: Decimal
    register_code: str | None = None
    tier_from: Decimal | None = None
    tier_to: Decimal | None = None
    description: str | None = None


CHARGE_PERIODS = ("day", "month", "year")


@dataclass(frozen=True, slots=True)
class StandingChargeIn:
    """A standing charge of its own besides the version's per-day one (e.g. supply and metering), with its own
    line key `code`, tax rate and period: `amount` is per day, per calendar month or per calendar year.

    Per month or per year the charge is prorated by day, calendar period by calendar period: each calendar month
    (year) the segment overlaps costs amount x days overlapped / days of that month (that year: 365 or 366), so a
    whole month costs exactly the monthly amount. The line's quantity is the sum of those fractions (months or
    years, three places half-up) and its amount the unrounded sum x amount rounded once to the cent.
    """

    code: str
    amount: Decimal
    per: str
    tax_rate: Decimal


@dataclass(frozen=True, slots=True)
class PercentLevyIn:
    """A levy computed as `rate` (0.2704 for 27.04 %) of the amounts of other lines of the same tariff segment:
    those whose line key (description) is in `base` (e.g. France's CTA on the network part of the standing
    charge). Its line: quantity = the base amount, unit "pct", unit price = the rate, amount = base x rate
    rounded to the cent; on a tax-included tariff the base is the lines' tax-included amounts."""

    code: str
    rate: Decimal
    base: tuple[str, ...]
    tax_rate: Decimal


@dataclass(frozen=True, slots=True)
class IncludedPartIn:
    """A tax or levy contained in the price of the lines of `component` (e.g. Germany's electricity tax in the
    energy price): `per_unit` of each billed unit. Shown as an "of which" amount; it changes no total."""

    code: str
    component: str
    per_unit: Decimal


@dataclass(frozen=True, slots=True)
class TariffIn:
    """A tariff version in force over `[effective_from, effective_to)`; prices may be published tax-included."""

    name: str
    effective_from: date
    effective_to: date | None
    standing_charge_per_day: Decimal
    standing_charge_tax_rate: Decimal
    prices_include_tax: bool = False
    prices: tuple[UnitPriceIn, ...] = ()
    standing_charges: tuple[StandingChargeIn, ...] = ()
    percent_levies: tuple[PercentLevyIn, ...] = ()
    included_parts: tuple[IncludedPartIn, ...] = ()


def quick_slots_init(cls):
    """Give a frozen dataclass with __slots__ an __init__ that fills each slot through its descriptor.

    The generated frozen __init__ goes through object.__setattr__ by name for each field; a billing run builds
    ~14 readings and one contract input per contract, and setting the slots directly halves the cost of each.
    Same parameters and defaults; instances stay immutable (assignment still raises FrozenInstanceError).
    """
    if any(item.default_factory is not MISSING for item in fields(cls)):
        raise TypeError(f"{cls.__name__}: quick_slots_init does not handle default factories")
    names = [item.name for item in fields(cls)]
    namespace = {f"_default_{item.name}": item.default for item in fields(cls) if item.default is not MISSING}
    namespace.update({f"_set_{name}": cls.__dict__[name].__set__ for name in names})
    parameters = ", ".join(f"{name}=_default_{name}" if f"_default_{name}" in namespace else name for name in names)
    body = "".join(f"    _set_{name}(self, {name})\n" for name in names)
    exec(f"def __init__(self, {parameters}):\n{body}", namespace)
    namespace["__init__"].__qualname__ = f"{cls.__qualname__}.__init__"
    cls.__init__ = namespace["__init__"]
    return cls


@quick_slots_init
@dataclass(frozen=True, slots=True)
class ReadingIn:
    """A meter index. `meter_serial` None means the meter in service on `read_on` (the new one on an
    exchange day), so the removed meter's final reading on an exchange day must carry its serial."""

    register_code: str
    read_on: date
    value: Decimal
    estimated: bool = False
    meter_serial: str | None = None


@dataclass(frozen=True, slots=True)
class MeterIn:
    """A meter installed on the contract's point of delivery over `[installed_on, removed_on)`."""

    serial: str
    digits: int
    multiplier: Decimal
    unit: str
    installed_on: date
    removed_on: date | None = None
    registers: tuple[str, ...] = ("TOTAL",)


@dataclass(frozen=True, slots=True)
class CalorificValueIn:
    """The gas calorific value (MJ/m3) in force from `effective_from` until the next one's date."""

    effective_from: date
    value: Decimal


@quick_slots_init
@dataclass(frozen=True, slots=True)
class ContractIn:
    """Everything the engine needs about one contract.

    `estimated_annual_consumption` is in the meter's unit after the multiplier (m3 for gas and water).
    `tariffs` may hold `TariffIn` or, better in bulk, `PreparedTariff` objects shared by many contracts.
    Gas: `gas_calorific_value` is in force until the first of `gas_calorific_values` (dated, oldest first; each in
    force until the next), so a period is converted with the values in force during it (see `bill.py`).
    """

    activity: str
    start_date: date
    end_date: date | None
    meters: tuple[MeterIn, ...]
    readings: tuple[ReadingIn, ...]
    tariffs: tuple[TariffIn | PreparedTariff, ...] = ()
    estimated_annual_consumption: Decimal | None = None
    subscribed_power: Decimal | None = None
    gas_correction_factor: Decimal | None = None
    gas_calorific_value: Decimal | None = None  # MJ/m3
    gas_calorific_values: tuple[CalorificValueIn, ...] = ()


@dataclass(frozen=True, slots=True)
class PriorCharge:
    """A consumption line of an earlier bill based on estimates, credited when a regularisation bills the
    actual consumption of its period. Build it from a stored line with `PriorCharge.from_line(line)`."""

    component: str
    description: str
    period_start: date
    period_end: date
    quantity: Decimal
    unit: str
    unit_price: Decimal
    amount: Decimal
    tax_rate: Decimal
    unit_price_includes_tax: bool = False
    amount_incl_tax: Decimal | None = None
    register_code: str | None = None

    @classmethod
    def from_line(cls, line: BillLine) -> PriorCharge:
        return cls(
            component=line.component, description=line.description, period_start=line.period_start,
            period_end=line.period_end, quantity=line.quantity, unit=line.unit, unit_price=line.unit_price,
            amount=line.amount, tax_rate=line.tax_rate, unit_price_includes_tax=line.unit_price_includes_tax,
            amount_incl_tax=line.amount_incl_tax, register_code=line.register_code,
        )


# --- outputs --------------------------------------------------------------------------------------------------------

def _quick_init(cls):
    """Give a frozen dataclass an __init__ that fills the instance dict in one call.

    The generated frozen __init__ sets each field through object.__setattr__ (about 0.2 µs a field); outputs are
    created for every bill of a run, and this halves their cost. Same parameters and defaults; instances stay
    immutable (assignment still raises FrozenInstanceError). Only for classes without __slots__.
    """
    if any(item.default_factory is not MISSING for item in fields(cls)):
        raise TypeError(f"{cls.__name__}: _quick_init does not handle default factories")
    names = [item.name for item in fields(cls)]
    namespace = {f"_default_{item.name}": item.default for item in fields(cls) if item.default is not MISSING}
    parameters = ", ".join(f"{name}=_default_{name}" if f"_default_{name}" in namespace else name for name in names)
    values = ", ".join(f"{name!r}: {name}" for name in names)
    namespace["_set"] = object.__setattr__
    exec(f"def __init__(self, {parameters}):\n    _set(self, '__dict__', {{{values}}})\n", namespace)
    cls.__init__ = namespace["__init__"]
    return cls


@_quick_init
@dataclass(frozen=True)
class BillLine:
    """One line of a bill. `amount` is tax-exclusive (2 places) and lines sum to the bill's total_excl_tax, except
    a true-up's deductions (component "instalment", see `true_up_bill`): instalments already billed, at their gross
    amount (amount = amount_incl_tax = -instalment), outside VAT and outside the tax-exclusive total.

    When the tariff publishes tax-included prices, `unit_price` is that published price,
    `unit_price_includes_tax` is True and `amount_incl_tax` = quantity x unit_price rounded to the cent.
    """

    component: str
    description: str
    period_start: date
    period_end: date
    quantity: Decimal
    unit: str
    unit_price: Decimal
    amount: Decimal
    tax_rate: Decimal
    unit_price_includes_tax: bool = False
    amount_incl_tax: Decimal | None = None
    register_code: str | None = None


@_quick_init
@dataclass(frozen=True)
class TaxTotal:
    tax_rate: Decimal
    base: Decimal  # sum of the tax-exclusive line amounts at this rate
    tax: Decimal


@_quick_init
@dataclass(frozen=True)
class RegisterConsumption:
    """Consumption of one register over `[period_start, period_end)` (the regularisation window if any).

    `quantity` is metered (index difference x multiplier, in `unit`); `billed_quantity` is what prices apply
    to (kWh for gas, converted from m3; otherwise the same as `quantity`).
    """

    register_code: str
    period_start: date
    period_end: date
    quantity: Decimal
    unit: str
    billed_quantity: Decimal
    billed_unit: str
    estimated: bool


@_quick_init
@dataclass(frozen=True)
class GasConversion:
    """One part of a gas register's consumption converted to energy with the values in force over
    `[period_start, period_end)`: energy = round(volume x correction_factor x calorific_value / 3.6, 3).

    The volume of a window is shared between calorific-value periods pro rata by days (like a tariff change);
    the parts' volumes sum to the metered volume and their energies to the register's billed quantity."""

    register_code: str
    period_start: date
    period_end: date
    volume: Decimal  # m3
    correction_factor: Decimal
    calorific_value: Decimal  # MJ/m3
    energy: Decimal  # kWh


@_quick_init
@dataclass(frozen=True)
class IncludedAmount:
    """"Of which": the part of line `line_index`'s price that is the tax or levy `code`,
    round_half_up(line quantity x per_unit) to the cent; part of the line's amount, not added to it."""

    line_index: int
    code: str
    quantity: Decimal
    per_unit: Decimal
    amount: Decimal


@dataclass(frozen=True, slots=True)
class BillingProblem:
    """Why a bill could not be computed; a billing run records it and goes on with the next contract.

    `message` is for logs and English readers; `params` holds the values it was built from, with `detail`
    naming the sentence, so the back office can say it again in the staff member's language."""

    code: str
    message: str
    params: dict = field(default_factory=dict, compare=False)


@_quick_init
@dataclass(frozen=True)
class BillResult:
    """A computed bill, or the problems that prevent it (then `ok` is False and there are no lines)."""

    kind: str
    period_start: date
    period_end: date
    lines: tuple[BillLine, ...]
    tax_totals: tuple[TaxTotal, ...]
    total_excl_tax: Decimal
    total_tax: Decimal
    total_incl_tax: Decimal
    consumption: tuple[RegisterConsumption, ...] = ()
    estimated: bool = False
    estimated_readings: tuple[ReadingIn, ...] = ()
    regularised_from: date | None = None
    problems: tuple[BillingProblem, ...] = ()
    gas_conversions: tuple[GasConversion, ...] = ()  # gas only: m3 -> kWh by calorific-value period
    included: tuple[IncludedAmount, ...] = ()  # "of which" amounts of taxes and levies contained in prices

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def exceptions(self) -> tuple[BillingProblem, ...]:
        return self.problems


@dataclass(frozen=True, slots=True)
class Instalment:
    number: int
    due_date: date
    amount: Decimal


@dataclass(frozen=True, slots=True)
class TrueUp:
    """The annual true-up of a down-payment plan: the balance is due by the customer when positive,
    refunded when negative; `description` is its key ("balance_due", "balance_refund", "balance_nil")."""

    annual_total_incl_tax: Decimal
    instalments_paid: Decimal
    balance: Decimal
    description: str
    next_schedule: tuple[Instalment, ...] = ()
