"""compute_bill: one contract's bill for a period, from plain inputs to priced lines and totals, without I/O.

Order of work: tariff segments of the period; the consumption window (the period, or from the latest actual
reading when regularising); consumption per register (estimating missing indexes); checks; then lines:
standing charge and subscribed power per tariff segment of the period, consumption per tariff segment of the
window (split pro rata by days, see below), credits of estimated bills, back-billing limit; then taxes.

Consumption across a tariff change (or the back-billing cutoff) is apportioned by days: each segment gets
consumption x its days / the window's days, rounded half-up to three places, the last segment the remainder,
so the parts always sum to the measured consumption. Readings at the change date are not required.

Gas is converted to kWh with the calorific value in force (volume x correction factor x calorific value / 3.6,
three places half-up). When the value changes within the window, the volume is apportioned by days between the
calorific-value periods in the same way, each part converted with its own value (`BillResult.gas_conversions`
lists the parts), and the billed kWh is their sum; each tariff segment then gets, from every calorific-value
period it overlaps, that period's kWh x overlapping days / the period's days (the last overlap the remainder).
With one value in force the whole volume is converted at once, as before.

Back-billing limit: consumption before the cutoff (bill date minus the limit) is not charged beyond what earlier
bills charged; credits are never limited. `back_billing_exempt_from` (the customer prevented readings from that
day) moves the cutoff back to that day: consumption from then on is charged in full.

Problems a billing run must record and go past (no tariff, no meter, no readings, implausible consumption...)
come back in `BillResult.problems` with no lines; only invalid calls (end <= start, unknown kind) raise.
"""
from __future__ import annotations

from datetime import date
from decimal import Decimal

from .consumption import calorific_periods, meters_covering, measure, reading_book, register_rate, to_billed
from .estimation import annual_rate, weighted_days
from .model import (
    ACTIVITIES,
    BillingProblem,
    BillResult,
    ContractIn,
    GasConversion,
    PriorCharge,
    RegisterConsumption,
)
from .money import ZERO_MONEY, ZERO_QUANTITY, split_pro_rata
from .periods import segments_in_force, split_segments_at
from .pricing import (
    consumption_lines,
    extra_standing_lines,
    included_amounts,
    percent_levy_lines,
    prepared,
    standing_charge_line,
    subscribed_power_lines,
    unpriced_registers,
)
from .regularisation import back_billing_cutoff, back_billing_lines, credit_lines, find_regularisation_start
from .taxes import summarise

COMPUTED_KINDS = ("periodic", "final", "corrective")
DEFAULT_PLAUSIBILITY_FACTOR = Decimal(10)


def _failed(kind: str, start: date, end: date, problems: list[BillingProblem], consumption=()) -> BillResult:
    return BillResult(kind, start, end, (), (), ZERO_MONEY, ZERO_MONEY, ZERO_MONEY, tuple(consumption),
                      problems=tuple(problems))


def _tariff_faults(faults, problems: list[BillingProblem]) -> None:
    for fault, start, end in faults:
        if fault == "gap":
            problems.append(BillingProblem("no_tariff", f"no tariff in force from {start} to {end}",
                                            {"detail": "no_tariff", "start": start, "end": end}))
        else:
            problems.append(BillingProblem("overlapping_tariffs", f"two tariffs in force from {start} to {end}",
                                            {"detail": "overlapping_tariffs", "start": start, "end": end}))


def _check_plausibility(contract: ContractIn, book: dict, window_start: date, window_end: date, measurement,
                        share: int, factor: Decimal, problems: list[BillingProblem]) -> None:
    """Actual consumption above `factor` x expected (history before the window, else the annual estimate) is
    reported; a lower end index read as a rollover that would be implausible is reported as a negative one."""
    for code in measurement.registers:
        if measurement.estimated[code]:
            continue  # an estimate follows the expectation by construction
        quantity = measurement.quantities[code]
        if quantity <= 0 <= factor:
            continue  # no consumption cannot exceed a multiple of an expectation, which is never negative
        rate = None
        # History needs two actual readings up to the window's start besides the one ending it: not with two.
        if len(contract.readings) > 2:
            rate = register_rate(contract.activity, contract.meters, book, code, window_start)
        if rate is None:
            if contract.estimated_annual_consumption is None:
                continue
            rate = annual_rate(estimated_annual_consumption=contract.estimated_annual_consumption, share=share)
        expected = rate * weighted_days(contract.activity, window_start, window_end)
        if quantity > factor * expected and expected > 0:
            if code in measurement.wrapped:
                problems.append(BillingProblem(
                    "negative_consumption",
                    f"register {code}: the index went down; read as a rollover, {quantity} would be implausible",
                    {"detail": "rollover_implausible", "register": code, "quantity": quantity},
                ))
            else:
                problems.append(BillingProblem(
                    "implausible_consumption",
                    f"register {code}: {quantity} is more than {factor} times the expected {expected:.3f}",
                    {"detail": "implausible", "register": code, "quantity": quantity, "factor": factor,
                     "expected": round(expected, 3)},
                ))


def compute_bill(*, contract: ContractIn, period_start: date, period_end: date, kind: str = "periodic",
                 prior_charges: tuple[PriorCharge, ...] = (), bill_date: date | None = None,
                 back_billing_limit_months: int | None = None,
                 plausibility_factor: Decimal | None = DEFAULT_PLAUSIBILITY_FACTOR,
                 regularise: bool = True, back_billing_exempt_from: date | None = None) -> BillResult:
    """The bill of `contract` for `[period_start, period_end)`.

    kind: "periodic"; "final" (move-out: the period must end on the contract's end date, with the final
    reading); "corrective" (the same computation again, prices in force at the time: the caller credits the
    original with `credit_note`). `prior_charges`: consumption lines of the estimated bills since the latest
    actual reading, credited when the bill regularises (see `regularisation_start`); ignored otherwise, and
    `regularised_from` says which happened. `back_billing_limit_months` (None: no limit) needs `bill_date`.
    `plausibility_factor` None turns the plausibility check off (a consumption confirmed by staff).
    `back_billing_exempt_from`: the customer prevented readings from that day; the limit does not hold back
    consumption from then on.
    """
    if period_end <= period_start:
        raise ValueError(f"a billing period must end after it starts ({period_start} to {period_end})")
    if kind not in COMPUTED_KINDS:
        raise ValueError(f"compute_bill computes {', '.join(COMPUTED_KINDS)} bills, not {kind!r}")
    if kind == "final" and contract.end_date != period_end:
        raise ValueError("a final bill ends on the contract's end date")
    if back_billing_limit_months is not None and bill_date is None:
        raise ValueError("a back-billing limit needs the bill date")
    activity = contract.activity
    if activity not in ACTIVITIES:
        raise ValueError(f"unknown activity {activity!r}")

    if period_start < contract.start_date or (contract.end_date is not None and period_end > contract.end_date):
        return _failed(kind, period_start, period_end, [BillingProblem(
            "period_outside_contract", f"the contract runs from {contract.start_date} to {contract.end_date}",
            {"detail": "contract_runs", "start": contract.start_date, "end": contract.end_date},
        )])
    problems: list[BillingProblem] = []
    tariffs = prepared(contract.tariffs)
    charge_segments, faults = segments_in_force(tariffs, period_start, period_end)
    if faults:
        _tariff_faults(faults, problems)
    meters = contract.meters
    book = reading_book(meters, contract.readings)

    window_start = period_start
    regularised_from = None
    if regularise:
        regularised_from = find_regularisation_start(meters, book, period_start, period_end, contract.start_date)
        if regularised_from is not None:
            window_start = regularised_from
            if not prior_charges:
                problems.append(BillingProblem(
                    "missing_prior_charges",
                    f"the bill regularises consumption since {regularised_from}: the estimated bills' lines are needed",
                    {"detail": "prior_charges_needed", "since": regularised_from},
                ))
    covering, problem = meters_covering(meters, window_start, period_end)
    if problem is not None:
        problems.append(problem)
    if problems:
        return _failed(kind, period_start, period_end, problems)

    measurement = measure(activity, covering, meters, book, window_start, period_end,
                          contract.estimated_annual_consumption)
    if measurement.problems:
        return _failed(kind, period_start, period_end, measurement.problems)
    if not measurement.registers:
        return _failed(kind, period_start, period_end, [BillingProblem(
            "missing_meter", f"meter {covering[0].serial} has no register to read",
            {"detail": "meter_without_register", "meter": covering[0].serial},
        )])
    unit = covering[0].unit
    for meter in covering:
        if meter.unit != unit:
            problems.append(BillingProblem("meter_unit_mismatch", f"meters in {unit} and {meter.unit} in the period",
                                            {"detail": "meter_units", "unit": unit, "other_unit": meter.unit}))
    billed_unit = unit
    gas = activity == "gas"
    cv_periods = None
    if gas:
        billed_unit = "kWh"
        if contract.gas_calorific_values:
            cv_periods = calorific_periods(contract.gas_calorific_value, contract.gas_calorific_values,
                                           window_start, period_end)
            missing = None in [value for _, _, value in cv_periods]
        else:  # the usual case until a tenant records dated values: one value, no list to build
            cv_periods = ((window_start, period_end, contract.gas_calorific_value),)
            missing = contract.gas_calorific_value is None
        if missing:
            problems.append(BillingProblem("missing_conversion_factor", "gas needs a calorific value to bill kWh",
                                            {"detail": "calorific_value"}))
            return _failed(kind, period_start, period_end, problems)
    consumption = []
    conversions: list[GasConversion] = []
    energy_parts: dict[str, list[tuple[date, date, Decimal]]] = {}
    billed: dict[str, Decimal] = {}
    for code in measurement.registers:
        quantity = measurement.quantities[code]
        if gas:
            billed[code] = billed_quantity = _convert(code, quantity, contract.gas_correction_factor, cv_periods,
                                                      conversions, energy_parts)
        else:
            billed[code] = billed_quantity = quantity
        consumption.append(RegisterConsumption(code, window_start, period_end, quantity, unit, billed_quantity,
                                               billed_unit, measurement.estimated[code]))
    if plausibility_factor is not None:
        _check_plausibility(contract, book, window_start, period_end, measurement, len(covering[0].registers),
                            plausibility_factor, problems)

    if window_start == period_start:
        consumption_segments = charge_segments
    else:
        consumption_segments, faults = segments_in_force(tariffs, window_start, period_end)
        if faults:
            _tariff_faults(faults, problems)
    cutoff = None
    if back_billing_limit_months is not None:
        cutoff = min(back_billing_cutoff(bill_date=bill_date, limit_months=back_billing_limit_months), period_end)
        if back_billing_exempt_from is not None and back_billing_exempt_from < cutoff:
            cutoff = back_billing_exempt_from  # the customer prevented readings: from then on, no limit
        if cutoff <= window_start:
            cutoff = None  # nothing old enough to be limited
        else:
            consumption_segments = split_segments_at(consumption_segments, cutoff)
    for _, _, tariff in consumption_segments:
        for component, code in unpriced_registers(tariff, measurement.registers):
            problems.append(BillingProblem(
                "unpriced_register", f"tariff {tariff.name} prices {component} by register but not register {code}",
                {"detail": "unpriced_register", "tariff": tariff.name, "register": code},
            ))
    power = contract.subscribed_power
    if power is None:
        for _, _, tariff in charge_segments:
            if tariff.subscribed_power:
                problems.append(BillingProblem("missing_subscribed_power", f"tariff {tariff.name} prices a "
                                                                           "subscribed power",
                                               {"detail": "subscribed_power", "tariff": tariff.name}))
                break
    if problems:
        return _failed(kind, period_start, period_end, problems, consumption)

    lines = []
    power_unit = "kW·year" if activity == "heating" else "kVA·year"
    for seg_start, seg_end, tariff in charge_segments:
        if tariff.standing_charge_per_day:
            lines.append(standing_charge_line(tariff, seg_start, seg_end))
        if tariff.standing_charges:
            lines.extend(extra_standing_lines(tariff, seg_start, seg_end))
        if tariff.subscribed_power:
            lines.extend(subscribed_power_lines(tariff, seg_start, seg_end, power, power_unit))
    registers = measurement.registers
    first_consumption_line = len(lines)
    if len(consumption_segments) == 1:
        seg_start, seg_end, tariff = consumption_segments[0]
        total = sum((billed[code] for code in registers), ZERO_QUANTITY) if len(registers) > 1 else billed[registers[0]]
        consumption_lines(tariff, seg_start, seg_end, billed, total, billed_unit, lines)
    else:
        days = [(seg_end - seg_start).days for seg_start, seg_end, _ in consumption_segments]
        shares = {code: _apportion(energy_parts[code], consumption_segments) if code in energy_parts
                  else split_pro_rata(billed[code], days) for code in registers}
        for index, (seg_start, seg_end, tariff) in enumerate(consumption_segments):
            quantities = {code: shares[code][index] for code in registers}
            total = sum(quantities.values(), ZERO_QUANTITY)
            consumption_lines(tariff, seg_start, seg_end, quantities, total, billed_unit, lines)
    consumption_end = len(lines)
    for seg_start, seg_end, tariff in charge_segments:
        if tariff.percent_levies:
            lines.extend(percent_levy_lines(tariff, seg_start, seg_end, lines))
    levies_end = len(lines)
    included = included_amounts(lines, (*charge_segments, *consumption_segments))
    if regularised_from is not None:
        lines.extend(credit_lines(prior_charges, window_start=regularised_from, window_end=period_start,
                                  cutoff=cutoff))
    if cutoff is not None:
        limited = lines[first_consumption_line:]
        if levies_end > consumption_end:  # percentage levies follow their base's limit, not a limit of their own
            limited = lines[first_consumption_line:consumption_end] + lines[levies_end:]
        lines.extend(back_billing_lines(limited, window_start=window_start, cutoff=cutoff))

    lines_out, tax_totals, total_excl, total_tax, total_incl = summarise(lines)
    estimated = False
    for code in registers:
        if measurement.estimated[code]:
            estimated = True
    return BillResult(kind, period_start, period_end, lines_out, tax_totals, total_excl, total_tax, total_incl,
                      tuple(consumption), estimated, tuple(measurement.estimated_readings), regularised_from, (),
                      tuple(conversions), included)


ONE_FACTOR = Decimal("1")


def _convert(code: str, volume: Decimal, correction_factor: Decimal | None, cv_periods: list, conversions: list,
             energy_parts: dict) -> Decimal:
    """kWh of a gas register's `volume` over the calorific-value periods of the window (see the module's note);
    records each part in `conversions`, and in `energy_parts` when there are several."""
    factor = correction_factor if correction_factor is not None else ONE_FACTOR
    if len(cv_periods) == 1:
        start, end, value = cv_periods[0]
        energy = to_billed(activity="gas", quantity=volume, correction_factor=factor, calorific_value=value)
        conversions.append(GasConversion(code, start, end, volume, factor, value, energy))
        return energy
    volumes = split_pro_rata(volume, [(end - start).days for start, end, _ in cv_periods])
    parts = []
    total = ZERO_QUANTITY
    for (start, end, value), part in zip(cv_periods, volumes, strict=True):
        energy = to_billed(activity="gas", quantity=part, correction_factor=factor, calorific_value=value)
        conversions.append(GasConversion(code, start, end, part, factor, value, energy))
        parts.append((start, end, energy))
        total += energy
    energy_parts[code] = parts
    return total


def _apportion(parts: list[tuple[date, date, Decimal]], segments) -> list[Decimal]:
    """Each segment's share of the energy of calorific-value `parts`: every part split between the segments it
    overlaps by days (the last overlap takes the remainder), so the shares sum to the parts' total exactly."""
    shares = [ZERO_QUANTITY] * len(segments)
    for part_start, part_end, energy in parts:
        overlaps = []
        for index, (seg_start, seg_end, _) in enumerate(segments):
            days = (min(seg_end, part_end) - max(seg_start, part_start)).days
            if days > 0:
                overlaps.append((index, days))
        for (index, _), share in zip(overlaps, split_pro_rata(energy, [days for _, days in overlaps]), strict=True):
            shares[index] += share
    return shares
