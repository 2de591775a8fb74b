"""What a bill document shows, as plain values in the customer's language, and its loading from the database."""
from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel.numbers import format_currency, format_decimal
from sqlalchemy import select

from domain.billing import line_names
from domain.offers import tariffs
from domain.billing.engine.consumption import to_billed
from domain.billing.models import Bill
from domain.billing.payment_method import payment_method_at
from tenants.operation_settings import payment_methods
from domain.brand.identity import identity_at
from domain.db import db
from domain.identity.activation import display_code
from domain.i18n import country_name, normalise_locale, tenant_formatting_locale, translations, unit_symbol
from domain.offers.models import TariffVersion
from domain.readings.models import MeterReading
from domain.storage import storage
from tenants.context import require_tenant_id
from tenants.models import Tenant

log = logging.getLogger(__name__)

CENT = Decimal("0.01")
DEFAULT_COLOUR = "#0b5cad"
_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")
# Bills about consumption; credit notes and instalment notices show no meter readings.
CONSUMPTION_KINDS = ("periodic", "final", "corrective", "true_up")
# Units that measure consumption (their line quantities add up to what the meter counted).
CONSUMPTION_UNITS = ("kwh", "mwh", "m3")
_LOGO_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif")


class BillNotFound(LookupError):
    """No bill with this id in the current tenant (a foreign bill answers exactly like a missing one)."""


class BillNotIssued(ValueError):
    """A draft bill has no number and no document yet."""


@dataclass(frozen=True)
class TenantInfo:
    name: str
    primary_colour: str = DEFAULT_COLOUR
    logo: bytes | None = None
    address_lines: tuple[str, ...] = ()
    support_email: str | None = None
    support_phone: str | None = None
    website: str | None = None
    iban: str | None = None
    bic: str | None = None
    # The legal identity in force when the bill was issued (domain/brand/identity.py identity_at).
    legal_name: str | None = None
    company_registration: str | None = None
    vat_number: str | None = None
    registered_office: tuple[str, ...] = ()
    support_hours: str | None = None
    emergency: tuple[tuple[str, str], ...] = ()  # (activity, translated; phone) for the bill's activities
    card_payments: bool = True  # the administrator allows card payments: the bill may point to the portal's checkout


@dataclass(frozen=True)
class DocumentLine:
    description: str  # translated
    quantity: Decimal
    unit: str  # as the reader should see it, translated ("kWh", "m³", "days")
    unit_price: Decimal
    amount: Decimal  # excluding tax
    tax_rate: Decimal  # ratio: 0.2 for 20 %
    period_start: date | None = None
    period_end: date | None = None  # exclusive
    detail: str = ""  # translated: a tier's bounds over the line's days
    unit_price_text: str = ""  # the price per unit customers know ("24.5p/kWh", "0,2516 €/kWh"); "" -> currency
    includes_tax: bool = False  # the unit price and the amount shown include VAT
    amount_incl_tax: Decimal | None = None

    @property
    def amount_shown(self) -> Decimal:
        """The amount on the unit price's basis: quantity x printed price, rounded to the cent."""
        if self.includes_tax and self.amount_incl_tax is not None:
            return self.amount_incl_tax
        return self.amount


@dataclass(frozen=True)
class Deduction:
    """An instalment already billed, deducted from a true-up bill at its gross amount (positive)."""

    description: str  # translated
    amount: Decimal
    period_start: date | None = None
    period_end: date | None = None  # exclusive


@dataclass(frozen=True)
class GasConversion:
    """Metered gas volume to billed energy: volume x correction factor x calorific value (MJ/m³) / 3.6."""

    volume: Decimal  # m³
    correction_factor: Decimal
    calorific_value: Decimal  # MJ/m³
    energy: Decimal  # kWh, three places


@dataclass(frozen=True)
class TaxTotal:
    rate: Decimal
    base: Decimal  # excluding VAT
    tax: Decimal

    @property
    def total(self) -> Decimal:
        return self.base + self.tax


@dataclass(frozen=True)
class RegisterReadings:
    """The meter indexes at the start and end of the period for one register."""

    register: str  # translated; empty for a single-register meter
    meter_serial: str | None
    start_date: date | None
    start_value: Decimal | None
    start_estimated: bool
    end_date: date | None
    end_value: Decimal | None
    end_estimated: bool
    quantity: Decimal | None


@dataclass(frozen=True)
class PodConsumption:
    identifier: str
    activity: str  # translated
    unit: str  # display unit of `quantity`: the meter's (m³ for water and gas)
    quantity: Decimal | None  # what the meter measured over the period (never the sum of several lines)
    estimated: bool
    readings: tuple[RegisterReadings, ...] = ()
    supply_address: str = ""
    conversion: GasConversion | None = None  # gas: the measured volume converted to the kWh billed


@dataclass(frozen=True)
class YearComparison:
    identifier: str
    unit: str
    this_year: Decimal
    last_year: Decimal | None  # None: not known


@dataclass(frozen=True)
class BillDocument:
    tenant: TenantInfo
    customer_name: str
    customer_address: tuple[str, ...]
    account_number: str
    bill_number: str
    kind: str  # periodic, final, corrective, credit_note, instalment, true_up
    issue_date: date
    due_date: date | None
    period_start: date
    period_end: date  # exclusive: the last day billed is period_end - 1 day
    currency: str
    locale: str
    lines: tuple[DocumentLine, ...]
    tax_totals: tuple[TaxTotal, ...]
    total_excl_tax: Decimal
    total_tax: Decimal
    total_incl_tax: Decimal
    consumption: tuple[PodConsumption, ...] = ()
    tariff_name: str | None = None
    contract_number: str | None = None
    contract_end_date: date | None = None  # None: open-ended
    delivery_points: tuple[str, ...] = ()
    dispute_text: str = ""
    comparisons: tuple[YearComparison, ...] = ()  # only when based on actual readings
    payment_method: str = "transfer"  # transfer, card, direct_debit
    corrects_bill_number: str | None = None
    activation_code: str | None = None  # with the customer number, activates the online access
    # A true-up bill: the instalments already billed, deducted at their gross amount after the consumption's
    # totals (then total_excl_tax, total_tax and gross_total are the consumption's; total_incl_tax is the
    # amount left to pay, negative for a refund).
    deductions: tuple[Deduction, ...] = ()
    vat_basis: str = "excl"  # excl, incl, mixed; none: an instalment notice (a payment on account, no VAT)
    vat_statement: str = ""  # translated sentence saying so

    @property
    def gross_total(self) -> Decimal:
        """The consumption's total including VAT (before any deduction)."""
        return self.total_excl_tax + self.total_tax

    @property
    def deducted(self) -> Decimal:
        return sum((item.amount for item in self.deductions), Decimal("0.00"))

    @property
    def period_last_day(self) -> date:
        return self.period_end - timedelta(days=1)

    @property
    def is_credit(self) -> bool:
        return self.kind == "credit_note" or self.total_incl_tax < 0

    @property
    def based_on_actual_readings(self) -> bool:
        return bool(self.consumption) and not any(pod.estimated for pod in self.consumption)


# --- pure helpers (no database) ---------------------------------------------------------------


def line_description(key: str, _: Callable[[str], str], *, component: str | None = None,
                     kind: str = "periodic") -> str:
    """The translated name of a line from its description key (see `line_names.line_name`, which also knows the
    line's register and tier bounds); a description that is no key is shown as written."""
    key = (key or "").strip()
    legacy = {
        "energy_peak": _("Energy consumption, peak hours"),
        "energy_offpeak": _("Energy consumption, off-peak hours"),
        "instalments_billed": _("Instalments already billed"),
    }
    if key in legacy and kind != "true_up":
        return legacy[key]
    if component is None:
        component = key.split("_tier")[0] if line_names.tier_number(key) else key
        if component == "regularisation_credit":
            component = ""
    return line_names.line_name(kind=kind, component=component, description=key, register_code=None, unit="",
                                locale="en", _=_)


def activity_label(activity: str, _: Callable[[str], str]) -> str:
    labels = {"water": _("Water"), "gas": _("Gas"), "electricity": _("Electricity"), "heating": _("Urban heating")}
    return labels.get(activity, activity)


def register_label(code: str, label: str, _: Callable[[str], str]) -> str:
    labels = {"PEAK": _("Peak hours"), "OFFPEAK": _("Off-peak hours")}
    return labels.get((code or "").upper(), label or code or "")


def display_unit(unit: str, quantity: Decimal, locale: str) -> str:
    """"m3" -> "m³"; day and month counts in the reader's language, singular or plural; kW·year and kVA·year too."""
    ngettext = translations(locale).ngettext
    count = int(abs(quantity)) if quantity == quantity.to_integral_value() else 2
    key = (unit or "").strip().lower()
    if key in ("day", "days"):
        return ngettext("day", "days", count)
    if key in ("month", "months"):
        return ngettext("month", "months", count)
    if key in ("year", "years"):
        return ngettext("year", "years", count)
    if key == line_names.PERCENT_UNIT:
        return ""
    gettext = translations(locale).gettext
    if key == "kw·year":  # capacity charges (heating, electricity) in the reader's language
        return gettext("kW·year")
    if key == "kva·year":
        return gettext("kVA·year")
    if key in ("item", "items"):
        return ngettext("item", "items", count)
    return unit_symbol(unit)


def tax_totals(lines) -> tuple[TaxTotal, ...]:
    """Tax per rate on the sum of the lines at that rate, rounded half-up to the cent, as the engine computes it
    (engine/taxes.py): on tax-exclusive amounts, tax = base x rate; on tax-included ones (I, their sum at the
    rate), tax = I x rate / (1 + rate) and the base is I - tax. Deductions of a true-up bill are no taxed line."""
    bases: dict[Decimal, Decimal] = {}
    included: dict[Decimal, Decimal] = {}
    for line in lines:
        rate = Decimal(line.tax_rate).normalize()
        incl = getattr(line, "amount_incl_tax", None)
        if getattr(line, "unit_price_includes_tax", getattr(line, "includes_tax", False)) and incl is not None:
            included[rate] = included.get(rate, Decimal("0")) + Decimal(incl)
        else:
            bases[rate] = bases.get(rate, Decimal("0")) + Decimal(line.amount)
    totals = {}
    for rate, base in bases.items():
        totals[rate] = [base.quantize(CENT, ROUND_HALF_UP), (base * rate).quantize(CENT, ROUND_HALF_UP)]
    for rate, amount in included.items():
        tax = (amount * rate / (1 + rate)).quantize(CENT, ROUND_HALF_UP)
        found = totals.setdefault(rate, [Decimal("0.00"), Decimal("0.00")])
        found[0] += amount - tax
        found[1] += tax
    return tuple(TaxTotal(rate=rate, base=base, tax=tax) for rate, (base, tax) in sorted(totals.items()))


def dispute_text(*, locale: str, complaint_contact: str | None, ombudsman_text: str | None,
                 water_only: bool, ombudsman: str | None = None, ombudsman_contact: str | None = None) -> str:
    _ = translations(locale).gettext
    if complaint_contact:
        first = _("To dispute this bill, contact our customer service first: %(contact)s.") % {
            "contact": complaint_contact}
    else:
        first = _("To dispute this bill, contact our customer service first.")
    if ombudsman:
        named = ombudsman.strip()
        if ombudsman_contact and ombudsman_contact.strip():
            named += " (" + ", ".join(p.strip() for p in re.split(r"[\n;]", ombudsman_contact) if p.strip()) + ")"
        second = _("If our answer does not satisfy you, or if you have none within two months, you can refer the "
                   "dispute free of charge to %(ombudsman)s.") % {"ombudsman": named}
    elif ombudsman_text:
        second = ombudsman_text.strip()
    elif water_only:
        second = _("If our answer does not satisfy you, or if you have none within two months, you can refer "
                   "the dispute free of charge to the water services ombudsman.")
    else:
        second = _("If our answer does not satisfy you, or if you have none within two months, you can refer "
                   "the dispute free of charge to the national energy ombudsman.")
    return f"{first} {second}"


def meter_advance(start: Decimal, end: Decimal, *, digits: int, multiplier: Decimal) -> Decimal:
    """Consumption between two indexes, across a rollover of a meter with `digits` digits."""
    advance = end - start
    if advance < 0:
        advance += Decimal(10) ** digits
    return (advance * multiplier).quantize(Decimal("0.001"), ROUND_HALF_UP)


# --- loading ----------------------------------------------------------------------------------


def build_bill_document(*, bill_id: int) -> BillDocument:
    """Load an issued bill of the current tenant and everything its document shows."""

    tenant_id = require_tenant_id()
    bill = db.session.scalar(select(Bill).where(Bill.id == bill_id))
    if bill is None:
        raise BillNotFound(f"bill {bill_id} not found")
    if bill.status == "draft" or not bill.number or bill.issued_at is None:
        raise BillNotIssued(f"bill {bill_id} is a draft")
    tenant = db.session.get(Tenant, tenant_id)

    account = bill.account
    holder = account.holder
    # The customer's language written as in the utility's country (en_IE for English in France: "€60.00").
    locale = tenant_formatting_locale(account.locale or tenant.default_locale, tenant)
    _ = translations(locale).gettext

    contracts = _contracts_of(bill)
    pods = [c.delivery_point for c in contracts]
    home_country = pods[0].premise.country if pods else None

    lines, deductions = present_lines(bill, locale)
    totals, basis, total_excl_tax = vat_summary(bill)

    consumption, comparisons = consumption_of(bill, locale, tenant=tenant, pods=pods)

    offers = list(dict.fromkeys(c.offer.name for c in contracts))
    end_dates = [c.end_date for c in contracts]
    contract_end = None if not end_dates or None in end_dates else max(end_dates)
    corrects = None
    if bill.corrects_bill_id is not None:
        corrects = db.session.scalar(select(Bill.number).where(Bill.id == bill.corrects_bill_id))

    # The identity as it stood when the bill was issued: a later change never alters an issued bill's document.
    shown = identity_at(tenant=tenant, at=bill.issued_at)
    tenant_info = _tenant_info(shown, activities=[pod.activity for pod in pods], _=_)
    complaint_contact = (_attr(shown, "dispute_contact", "complaints_address", "complaint_address",
                               "complaints_url", "complaint_url") or tenant_info.support_email
                         or tenant_info.support_phone)
    return BillDocument(
        tenant=tenant_info,
        customer_name=holder.display_name or account.account_number,
        customer_address=_customer_address(holder, pods, home_country, locale),
        account_number=account.account_number,
        bill_number=bill.number,
        kind=bill.kind,
        issue_date=_local_date(bill.issued_at, tenant.timezone),
        due_date=bill.due_date,
        period_start=bill.period_start,
        period_end=bill.period_end,
        currency=bill.currency,
        locale=locale,
        lines=lines,
        tax_totals=totals,
        total_excl_tax=total_excl_tax,
        total_tax=bill.total_tax,
        total_incl_tax=bill.total_incl_tax,
        consumption=consumption,
        tariff_name=", ".join(offers) or None,
        contract_number=", ".join(c.contract_number for c in contracts) or None,
        contract_end_date=contract_end,
        delivery_points=tuple(pod.identifier for pod in pods),
        dispute_text=dispute_text(
            locale=locale, complaint_contact=complaint_contact,
            ombudsman_text=_attr(tenant, "ombudsman_text"),
            water_only=bool(pods) and all(pod.activity == "water" for pod in pods),
            ombudsman=_attr(shown, "ombudsman"), ombudsman_contact=_attr(shown, "ombudsman_contact"),
        ),
        comparisons=comparisons,
        # The payment instructions read the mandates as they were when the bill was issued (domain/billing/
        # payment_method.py): a document rendered later says what the issued bill said.
        payment_method=payment_method_at(account=account, at=bill.issued_at),
        corrects_bill_number=corrects,
        activation_code=display_code(account.activation_code) or None,
        deductions=deductions,
        vat_basis=basis,
        vat_statement=line_names.vat_statement(basis, _) if lines else "",
    )


def vat_summary(bill) -> tuple[tuple, str, Decimal]:
    """The VAT subtotals a bill shows, whether its prices include VAT (line_names.vat_basis), and its total
    excluding VAT: the web page and the PDF alike. A true-up's instalments deducted are outside VAT, so its totals
    are the consumption's own (true-ups stored before instalments were deducted gross carry a net of the
    instalments in total_excl_tax: summing the charged lines reads both alike)."""
    charged = [line for line in bill.lines if not line_names.is_deduction(kind=bill.kind, component=line.component)]
    totals = tax_totals(charged)
    total_excl_tax = bill.total_excl_tax
    if len(charged) < len(bill.lines):
        total_excl_tax = sum((item.base for item in totals), Decimal("0.00"))
    basis = line_names.vat_basis(charged, bill.kind)
    return (() if basis == "none" else tuple(totals)), basis, total_excl_tax


def consumption_of(bill, locale: str, *, tenant=None, pods=None) -> tuple[tuple[PodConsumption, ...],
                                                                         tuple[YearComparison, ...]]:
    """What the meters measured over a consumption bill's period (gas converted to kWh, each factor shown), and
    the same period a year earlier on the same basis when the bill rests on actual readings."""
    if bill.kind not in CONSUMPTION_KINDS:
        return (), ()
    if pods is None:
        pods = [c.delivery_point for c in _contracts_of(bill)]
    if not pods:
        return (), ()
    if tenant is None:
        tenant = db.session.get(Tenant, require_tenant_id())
    _ = translations(locale).gettext
    charged = [line for line in bill.lines if not line_names.is_deduction(kind=bill.kind, component=line.component)]
    billed = _billed_quantity(charged, pods[0].activity) if len(pods) == 1 else None
    since = _measured_since(bill, charged) if len(pods) == 1 else bill.period_start
    consumption = tuple(_pod_consumption(pod, bill, billed, locale, _, tenant, since=since) for pod in pods)
    comparisons: tuple[YearComparison, ...] = ()
    # A bill that regularises estimates measures from the latest actual reading, not over the bill's period: no
    # like-for-like year to compare with.
    if since == bill.period_start and all(not pod.estimated for pod in consumption):
        comparisons = tuple(
            YearComparison(identifier=item.identifier, unit=item.unit, this_year=item.quantity,
                           last_year=_last_year_quantity(dp, bill))
            for item, dp in zip(consumption, pods, strict=True)
            if item.quantity is not None and item.unit == display_unit(dp.unit, Decimal(2), locale)
        )
    return consumption, comparisons


def gas_conversion_text(conversion: GasConversion, unit: str, locale: str) -> str:
    """"Converted to energy: 100 m³ × correction factor 0.98 × calorific value 11.2 MJ/m³ ÷ 3.6 = 304.889 kWh",
    every factor with all its decimals, so the customer can redo the product."""
    def exact(value: Decimal) -> str:
        return format_decimal(value, format="#,##0.##########", locale=normalise_locale(locale))

    _ = translations(locale).gettext
    return _("Converted to energy: %(volume)s × correction factor %(factor)s × calorific value %(value)s MJ/m³ "
             "÷ 3.6 = %(energy)s kWh") % {
        "volume": f"{exact(conversion.volume)}\u00a0{unit}", "factor": exact(conversion.correction_factor),
        "value": exact(conversion.calorific_value), "energy": exact(conversion.energy)}


def present_lines(bill, locale: str) -> tuple[tuple[DocumentLine, ...], tuple[Deduction, ...]]:
    """A bill's lines as its customer reads them (web page and PDF alike), and a true-up's deductions."""
    _ = translations(locale).gettext
    tiers = _tier_bounds(bill)
    names = _utility_names(bill, locale)
    of_which = _included_details(bill, locale) if names else {}
    lines: list[DocumentLine] = []
    deductions: list[Deduction] = []
    for line in bill.lines:
        if line_names.is_deduction(kind=bill.kind, component=line.component):
            gross = line.amount_incl_tax if line.amount_incl_tax is not None else line.amount
            name = (_("Instalments already billed") if line.description == "instalments_billed"
                    else _("Instalment already billed"))
            deductions.append(Deduction(description=name, amount=-gross, period_start=line.period_start,
                                        period_end=line.period_end))
            continue
        tier = tiers.get(line.position)
        days = (line.period_end - line.period_start).days if line.period_start and line.period_end else 0
        lines.append(DocumentLine(
            description=line_names.line_name(kind=bill.kind, component=line.component, description=line.description,
                                             register_code=line.register_code, unit=line.unit, locale=locale, _=_,
                                             tier=tier, names=names.get(line.position)),
            quantity=line.quantity,
            unit=display_unit(line.unit, line.quantity, locale),
            unit_price=line.unit_price,
            amount=line.amount,
            tax_rate=line.tax_rate,
            period_start=line.period_start,
            period_end=line.period_end,
            detail=" · ".join(text for text in (line_names.tier_detail(tier, days=days, unit=line.unit, locale=locale,
                                                                        _=_), of_which.get(line.position)) if text),
            unit_price_text=line_names.unit_price_text(line.unit_price, currency=bill.currency, unit=line.unit,
                                                       locale=locale),
            includes_tax=bool(line.unit_price_includes_tax),
            amount_incl_tax=line.amount_incl_tax,
        ))
    return tuple(lines), tuple(deductions)


def _utility_names(bill, locale: str) -> dict[int, dict[str, str]]:
    """line position -> the names (by line key) the utility gave the lines of the tariff version that priced it,
    in the reader's language."""
    if bill.contract is None or not bill.lines:
        return {}
    versions = list(db.session.scalars(select(TariffVersion).where(TariffVersion.offer_id == bill.contract.offer_id)))
    if not any(_has_names(version) for version in versions):
        return {}
    language = normalise_locale(locale).split("_")[0]
    by_version: dict[int, dict[str, str]] = {}
    found = {}
    for line in bill.lines:
        version = tariffs.version_on(versions, line.period_start or bill.period_start)
        if version is None:
            continue
        if version.id not in by_version:
            by_version[version.id] = tariffs.names_by_key(version, language)
        found[line.position] = by_version[version.id]
    return found


def _included_details(bill, locale: str) -> dict[int, str]:
    """line position -> "Of which electricity tax: €5.13; concession fee: €3.30" for the lines whose price contains
    taxes or levies the utility declared (computed by the engine's rule, see pricing.included_amounts)."""
    from domain.billing.engine.pricing import included_amounts

    versions = list(db.session.scalars(select(TariffVersion).where(TariffVersion.offer_id == bill.contract.offer_id)))
    if not any(c.kind == "included_part" for version in versions for c in version.components):
        return {}
    _ = translations(locale).gettext
    language = normalise_locale(locale).split("_")[0]
    found = {}
    for line in bill.lines:
        if line.period_start is None or line.description == "regularisation_credit":
            continue
        version = tariffs.version_on(versions, line.period_start)
        if version is None:
            continue
        tariff = tariffs.tariff_input(version)
        amounts = included_amounts([line], [(line.period_start, line.period_end, tariff)])
        if amounts:
            names = tariffs.names_by_key(version, language)
            parts = "; ".join(_("%(name)s: %(amount)s") % {
                "name": names.get(item.code) or _("taxes and levies"),
                "amount": format_currency(item.amount, bill.currency, locale=normalise_locale(locale))}
                for item in amounts)
            found[line.position] = _("Of which %(parts)s") % {"parts": parts}
    return found


def _has_names(version) -> bool:
    return bool(version.standing_charge_names or any(price.names for price in version.prices)
                or version.components)


def _tier_bounds(bill) -> dict[int, line_names.TierBounds]:
    """line position -> annual bounds of its tier, from the tariff version that priced it."""
    tiered = [line for line in bill.lines if line_names.tier_number(line.description)]
    if not tiered or bill.contract is None:
        return {}
    versions = list(db.session.scalars(select(TariffVersion).where(TariffVersion.offer_id == bill.contract.offer_id)))
    found = {}
    for line in tiered:
        day = line.period_start or bill.period_start
        version = next((v for v in versions if v.effective_from <= day
                        and (v.effective_to is None or day < v.effective_to)), None)
        if version is None:
            continue
        blocks = sorted((price for price in version.prices
                         if price.component == line.component and price.register_code == line.register_code
                         and (price.tier_from is not None or price.tier_to is not None)),
                        key=lambda price: price.tier_from or Decimal(0))
        number = line_names.tier_number(line.description)
        if 1 <= number <= len(blocks):
            block = blocks[number - 1]
            found[line.position] = line_names.TierBounds(block.tier_from or Decimal(0), block.tier_to)
    return found


def _attr(obj, *names: str) -> str | None:
    """The first non-empty of optional attributes (columns a later migration may add)."""
    for name in names:
        value = getattr(obj, name, None)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None


def _split_lines(text: str | None) -> tuple[str, ...]:
    return tuple(part.strip() for part in re.split(r"[\n;]", text or "") if part.strip())


def _tenant_info(tenant, *, activities=(), _=None) -> TenantInfo:
    colour = tenant.primary_colour if tenant.primary_colour and _COLOUR.match(tenant.primary_colour) else None
    address = _attr(tenant, "postal_address", "address")
    phones = getattr(tenant, "emergency_phones", None) or {}
    emergency = tuple((activity_label(activity, _) if _ else activity, phones[activity])
                      for activity in dict.fromkeys(activities) if phones.get(activity))
    if address:
        address_lines = _split_lines(address)
    else:
        street = [_attr(tenant, "address_line1"), _attr(tenant, "address_line2"),
                  " ".join(p for p in (_attr(tenant, "postcode"), _attr(tenant, "city")) if p)]
        address_lines = tuple(p for p in street if p)
    return TenantInfo(
        name=tenant.name,
        primary_colour=colour or DEFAULT_COLOUR,
        logo=_tenant_logo(tenant),
        address_lines=address_lines,
        support_email=_attr(tenant, "support_email"),
        support_phone=_attr(tenant, "support_phone", "phone"),
        website=_attr(tenant, "website", "website_url"),
        iban=_attr(tenant, "iban"),
        bic=_attr(tenant, "bic"),
        legal_name=_attr(tenant, "legal_name"),
        company_registration=_attr(tenant, "company_registration"),
        vat_number=_attr(tenant, "vat_number"),
        registered_office=_split_lines(_attr(tenant, "registered_office")),
        support_hours=_attr(tenant, "support_hours"),
        emergency=emergency,
        card_payments=_allows_cards(tenant),
    )


def _allows_cards(tenant) -> bool:
    """Whether the utility's administrator allows card payments (tenants/operation_settings.py)."""
    if not hasattr(tenant, "payment_methods"):
        return True  # a tenant-like object without payment settings (older callers): as before
    return "card" in payment_methods(tenant)


def _tenant_logo(tenant) -> bytes | None:
    """The logo as an image reportlab can draw (SVG logos are left out: the document draws the initials)."""
    path = tenant.logo_path
    if not path or not path.lower().endswith(_LOGO_SUFFIXES):
        return None
    try:
        files = storage()
        if not files.exists(tenant_id=tenant.id, key=path):
            return None
        return files.read(tenant_id=tenant.id, key=path)
    except (OSError, RuntimeError) as exc:
        log.warning("bill document: logo unreadable tenant=%s error=%s", tenant.id, exc)
        return None


def _local_date(moment, timezone: str) -> date:
    try:
        return moment.astimezone(ZoneInfo(timezone)).date()
    except (ZoneInfoNotFoundError, ValueError):
        return moment.date()


def _contracts_of(bill) -> list:
    if bill.contract is not None:
        return [bill.contract]
    return [
        c for c in bill.account.contracts
        if c.start_date < bill.period_end and (c.end_date is None or c.end_date > bill.period_start)
    ]


def _customer_address(holder, pods, home_country: str | None, locale: str) -> tuple[str, ...]:
    name = holder.display_name
    postal = holder.primary("postal")
    if postal is not None and (postal.address_line1 or postal.city):
        lines = [postal.address_line1, postal.address_line2,
                 " ".join(p for p in (postal.postcode, postal.city) if p)]
        country = postal.country
    elif pods:
        premise = pods[0].premise
        lines = [premise.address_line1, premise.address_line2, f"{premise.postcode} {premise.city}"]
        country = premise.country
    else:
        lines, country = [], None
    if country and home_country and country.upper() != home_country.upper():
        lines.append(country_name(country, locale).upper())
    return tuple(p for p in [name, *lines] if p)


# The component whose lines measure what the meter counted (a water bill's sewerage is the same volume again).
_METERED_COMPONENT = {"water": "water", "gas": "energy", "electricity": "energy", "heating": "energy"}


def _billed_quantity(lines, activity: str) -> tuple[Decimal, str] | None:
    """(quantity, unit) the bill charged for what the meter counted, when the readings cannot say it."""
    component = _METERED_COMPONENT.get(activity, "energy")
    found = [line for line in lines if line.component == component and line.description != "regularisation_credit"
             and (line.unit or "").lower() in CONSUMPTION_UNITS]
    if not found:
        return None
    return sum((line.quantity for line in found), Decimal("0")), found[0].unit


def calorific_value_for(tenant, pod, start: date, end: date) -> Decimal | None:
    """The calorific value (MJ/m³) that converted the gas of `[start, end)`: the dated value in force then (the
    tenant's setting before its first dated one). None when the value changed inside the period: the engine then
    converted each part with its own value, which one line "volume × factor × value ÷ 3.6" cannot show."""
    from domain.offers.models import GasCalorificValue

    zone = (getattr(pod, "calorific_zone", None) or "") if pod is not None else ""
    dated = db.session.execute(
        select(GasCalorificValue.effective_from, GasCalorificValue.value)
        .where(GasCalorificValue.effective_from < end, GasCalorificValue.zone == zone)
        .order_by(GasCalorificValue.effective_from)
    ).all()
    if any(start < effective_from < end for effective_from, _value in dated):
        return None
    in_force = [value for effective_from, value in dated if effective_from <= start]
    return in_force[-1] if in_force else tenant.gas_calorific_value


def _valid_reading(register_id: int, *, on_or_before: date, after: date | None = None):

    query = select(MeterReading).where(
        MeterReading.register_id == register_id, MeterReading.status == "valid",
        MeterReading.read_on <= on_or_before,
    )
    if after is not None:
        query = query.where(MeterReading.read_on > after)
    query = query.order_by(MeterReading.read_on.desc(), MeterReading.received_at.desc(), MeterReading.id.desc())
    return db.session.scalars(query.limit(1)).first()


def _measured_since(bill, charged) -> date:
    """Where the meter's advance shown on the bill starts: the bill's period start, or earlier when the bill
    regularises estimated bills (its consumption lines then start at the latest actual reading, and the estimates
    billed meanwhile are deducted), so the advance shown is the quantity the lines charge."""
    starts = [line.period_start for line in charged
              if line.period_start is not None and (line.unit or "").lower() in CONSUMPTION_UNITS
              and line.quantity is not None and line.quantity > 0]
    return min([bill.period_start, *starts])


def _pod_consumption(pod, bill, billed: tuple[Decimal, str] | None, locale: str, _, tenant, *,
                     since: date | None = None) -> PodConsumption:
    since = since or bill.period_start
    meter = pod.meter_on(bill.period_end - timedelta(days=1))
    registers = list(meter.registers) if meter is not None else []
    readings = []
    for register in registers:
        start = _valid_reading(register.id, on_or_before=since)
        end = _valid_reading(register.id, on_or_before=bill.period_end, after=since)
        quantity = None
        if start is not None and end is not None:
            quantity = meter_advance(start.value, end.value, digits=meter.digits, multiplier=meter.multiplier)
        readings.append(RegisterReadings(
            register=register_label(register.code, register.label, _) if len(registers) > 1 else "",
            meter_serial=meter.serial_number,
            start_date=start.read_on if start else None,
            start_value=start.value if start else None,
            start_estimated=bool(start and start.source == "estimated"),
            end_date=end.read_on if end else None,
            end_value=end.value if end else None,
            end_estimated=bool(end and end.source == "estimated"),
            quantity=quantity,
        ))
    # What the meter measured, in its unit: the indexes' advance; else what the bill charged for it.
    unit = display_unit(pod.unit, Decimal(2), locale)
    measured = [r.quantity for r in readings]
    if measured and None not in measured:
        quantity = sum(measured, Decimal("0"))
    elif billed is not None and (billed[1] or "").lower() == (pod.unit or "").lower():
        quantity = billed[0]
    elif billed is not None:  # gas charged in kWh with no volume to show: say kWh, never m³
        quantity, unit = billed[0], display_unit(billed[1], Decimal(2), locale)
    else:
        quantity = None
    conversion = None
    if pod.activity == "gas" and quantity is not None and unit == display_unit(pod.unit, Decimal(2), locale):
        value = calorific_value_for(tenant, pod, since, bill.period_end)
        if value is not None:
            factor = pod.gas_correction_factor if pod.gas_correction_factor is not None else Decimal("1")
            conversion = GasConversion(volume=quantity, correction_factor=factor, calorific_value=value,
                                       energy=to_billed(activity="gas", quantity=quantity, correction_factor=factor,
                                                        calorific_value=value))
    estimated = not readings or any(r.end_value is None or r.end_estimated for r in readings)
    premise = pod.premise
    return PodConsumption(
        identifier=pod.identifier,
        activity=activity_label(pod.activity, _),
        unit=unit,
        quantity=quantity,
        estimated=estimated,
        readings=tuple(readings),
        supply_address=premise.one_line if premise is not None else "",
        conversion=conversion,
    )


def _last_year_quantity(pod, bill) -> Decimal | None:
    """Consumption over the same period a year earlier, from the readings nearest its ends, scaled to its length."""

    start, end = _year_earlier(bill.period_start), _year_earlier(bill.period_end)
    days = (end - start).days
    tolerance = timedelta(days=max(7, days // 4))
    meter = pod.meter_on(bill.period_end - timedelta(days=1))
    if meter is None or not meter.registers or days <= 0:
        return None
    total = Decimal("0")
    for register in meter.registers:
        found = list(db.session.scalars(
            select(MeterReading).where(
                MeterReading.register_id == register.id, MeterReading.status == "valid",
                MeterReading.read_on >= start - tolerance, MeterReading.read_on <= end + tolerance,
            ).order_by(MeterReading.read_on)
        ))
        first = min(found, key=lambda r: abs((r.read_on - start).days), default=None)
        latest = min(found, key=lambda r: abs((r.read_on - end).days), default=None)
        if first is None or latest is None or latest.read_on <= first.read_on:
            return None
        advance = meter_advance(first.value, latest.value, digits=meter.digits, multiplier=meter.multiplier)
        total += advance * days / (latest.read_on - first.read_on).days
    return total.quantize(Decimal("0.001"), ROUND_HALF_UP)


def _year_earlier(day: date) -> date:
    try:
        return day.replace(year=day.year - 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year - 1, day=28)
