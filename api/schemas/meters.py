"""Request and response schemas of the meter endpoints: meter exchanges and smart meters' interval data.

Quantities travel as decimal strings (a JSON number is accepted too) and come back as strings, so no value is
rounded through a binary float. The checks that need the database (dates, previous readings, the day's length in
the utility's time zone) are the domain's; these schemas check shapes and types only."""
from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema, model_validator

# Decimals in: the description says exactly what is parsed (pydantic's own says any string), so a generated
# request that fits it is one the endpoint accepts. A JSON number is taken too where a float cannot mislead.
Index = Annotated[Decimal, Field(ge=0, max_digits=16, decimal_places=3, allow_inf_nan=False),
                  WithJsonSchema({"type": "string", "pattern": r"^[0-9]{1,13}(\.[0-9]{1,3})?$",
                                  "description": "A meter index as text, at most three decimals.",
                                  "examples": ["12456.300"]})]
Multiplier = Annotated[Decimal, Field(max_digits=11, decimal_places=5, allow_inf_nan=False),
                       WithJsonSchema({"type": "string", "pattern": r"^[0-9]{1,6}(\.[0-9]{1,5})?$",
                                       "description": "The meter's multiplier as text (more than 0, at most "
                                                      "100000).", "default": "1"})]
IntervalValue = Annotated[Decimal, Field(allow_inf_nan=False),
                          WithJsonSchema({"anyOf": [{"type": "number"},
                                                    {"type": "string", "pattern": r"^-?[0-9]+(\.[0-9]+)?$"}]})]
Reference = Annotated[str, Field(min_length=1, max_length=40)]
RegisterCode = Annotated[str, Field(min_length=1, max_length=16, description="TOTAL, PEAK or OFFPEAK.")]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- meter exchanges ---------------------------------------------------------------------------------------------

class RemovedMeterIn(_In):
    serial_number: Reference = Field(description="The serial number of the meter taken off (the one installed).")
    readings: dict[RegisterCode, Index] = Field(
        description="The index of each of its registers when removed, by register code.",
        json_schema_extra={"examples": [{"TOTAL": "12456.300"}]})


class InstalledRegisterIn(_In):
    code: RegisterCode
    index: Index = Field(description="The index the new meter shows when installed.")


class InstalledMeterIn(_In):
    serial_number: Reference
    digits: int = Field(description="Digits of the dial before the decimal point (3 to 12).")
    multiplier: Multiplier = Decimal("1")
    is_smart: bool = False
    model: Annotated[str, Field(max_length=80)] | None = None
    registers: list[InstalledRegisterIn] = Field(
        min_length=1, max_length=2, description="TOTAL alone, or PEAK and OFFPEAK.")


class MeterExchangeIn(_In):
    point: Reference = Field(description="The point of delivery's identifier.")
    exchange_date: date = Field(description="The day of the exchange (the utility's date): the old meter's "
                                            "removal and the new one's installation.")
    removed_meter: RemovedMeterIn
    installed_meter: InstalledMeterIn
    rollover_confirmed: bool = Field(False, description="The old meter's dial went back to zero since its "
                                                         "previous reading.")
    implausible_confirmed: bool = Field(False, description="Keep a removal index outside the plausible range "
                                                            "(else refused with `implausible`).")


class RemovalReadingOut(BaseModel):
    register_code: str
    index: Decimal
    rolled_over: bool
    implausible_confirmed: bool


class RemovedMeterOut(BaseModel):
    serial_number: str
    removed_on: date
    readings: list[RemovalReadingOut]


class InstalledRegisterOut(BaseModel):
    code: str
    label: str
    installation_index: Decimal


class InstalledMeterOut(BaseModel):
    serial_number: str
    digits: int
    multiplier: Decimal
    unit: str
    is_smart: bool
    model: str | None
    installed_on: date
    registers: list[InstalledRegisterOut]


class MeterExchangeOut(BaseModel):
    point: str
    exchange_date: date
    removed_meter: RemovedMeterOut
    installed_meter: InstalledMeterOut


# --- interval data -----------------------------------------------------------------------------------------------

class IntervalDayIn(_In):
    # Exactly one of the two, as the description's oneOf says; absent, not null (a null would match both).
    model_config = ConfigDict(extra="forbid", json_schema_extra={
        "oneOf": [{"required": ["point"]}, {"required": ["meter"]}]})

    point: Reference = Field(None, description="The point of delivery's identifier (the meter installed there "
                                               "that day); or give `meter`.")
    meter: Reference = Field(None, description="The meter's serial number; or give `point`.")
    register_code: RegisterCode = "TOTAL"
    day: date = Field(description="The day, in the utility's time zone.")
    interval_minutes: Literal[15, 30, 60] = 30
    values: list[IntervalValue] = Field(
        min_length=1, max_length=100,
        description="The consumption of each interval from local midnight, oldest first: 48 half-hours, 46 on "
                    "the day clocks go forward, 50 on the day they go back; non-negative, at most three decimals.")

    @model_validator(mode="after")
    def _one_reference(self):
        if (self.point is None) == (self.meter is None):
            raise ValueError("give either point or meter")
        return self


class IntervalDataIn(_In):
    source: Literal["smart_meter", "estimated"] = Field(
        "smart_meter", description="Measured by the meter, or estimated (gaps filled by the data platform).")
    days: list[IntervalDayIn] = Field(min_length=1, max_length=1000)


class IntervalDayOut(BaseModel):
    point: str | None
    meter: str
    register_code: str
    day: date
    interval_minutes: int
    interval_count: int
    total: Decimal
    status: Literal["stored", "replaced"] = Field(
        description="`replaced`: the register already had this day; the values sent now replace it.")


class IntervalDataOut(BaseModel):
    stored: int = Field(description="Days stored for the first time.")
    replaced: int = Field(description="Days that replaced the ones stored before.")
    days: list[IntervalDayOut]
