"""Builders of engine inputs for the tests: short defaults, Decimal from strings, override what a test is about."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

from domain.billing.engine import ContractIn, MeterIn, ReadingIn, TariffIn, UnitPriceIn


def D(value) -> Decimal:  # noqa: N802 (reads like the Decimal it builds)
    return Decimal(str(value))


def price(component="energy", amount="0.2516", tax="0.20", *, register=None, tier_from=None, tier_to=None,
          description=None) -> UnitPriceIn:
    return UnitPriceIn(component, D(amount), D(tax), register,
                       None if tier_from is None else D(tier_from), None if tier_to is None else D(tier_to),
                       description)


def tariff(*prices, standing="0", standing_tax="0.055", effective_from=date(2020, 1, 1), effective_to=None,
           include_tax=False, name="base") -> TariffIn:
    return TariffIn(name, effective_from, effective_to, D(standing), D(standing_tax), include_tax, tuple(prices))


def meter(serial="M1", *, digits=6, multiplier="1", unit="kWh", installed_on=date(2020, 1, 1), removed_on=None,
          registers=("TOTAL",)) -> MeterIn:
    return MeterIn(serial, digits, D(multiplier), unit, installed_on, removed_on, tuple(registers))


def reading(day: date, value, register="TOTAL", *, estimated=False, serial=None) -> ReadingIn:
    return ReadingIn(register, day, D(value), estimated, serial)


def contract(*, activity="electricity", meters=None, readings=(), tariffs=(), start=date(2020, 1, 1), end=None,
             eac=None, power=None, correction=None, calorific=None) -> ContractIn:
    return ContractIn(
        activity=activity, start_date=start, end_date=end, meters=tuple(meters or (meter(),)),
        readings=tuple(readings), tariffs=tuple(tariffs), estimated_annual_consumption=None if eac is None else D(eac),
        subscribed_power=None if power is None else D(power),
        gas_correction_factor=None if correction is None else D(correction),
        gas_calorific_value=None if calorific is None else D(calorific),
    )


def lines_by_description(result) -> dict:
    found = {}
    for line in result.lines:
        assert line.description not in found, f"two {line.description} lines: use result.lines"
        found[line.description] = line
    return found
