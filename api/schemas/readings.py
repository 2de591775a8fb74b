"""Readings in bulk: the batch a system sends (JSON; CSV has the same columns) and the answer per reading."""
from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from api.schemas.common import QuantityText
from domain.readings.bulk import MAX_BATCH, REASONS, SOURCES

CSV_COLUMNS = ("point", "meter", "register", "read_on", "value", "source", "rollover", "external_id")


class ReadingSent(BaseModel):
    """One reading. Fields are checked per reading: a bad date or index rejects that reading only (see the
    answer), not the batch."""

    model_config = ConfigDict(extra="forbid")

    point: str | None = Field(None, max_length=100, description="The point of delivery's identifier "
                                                                 "(give `point` or `meter`).",
                              examples=["PDL00000000012"])
    meter: str | None = Field(None, max_length=100, description="The meter's serial number (give `point` or "
                                                                 "`meter`; both: they must agree).")
    # `register` on the wire; the attribute is named apart from BaseModel's (ABC) `register`.
    register_code: str | None = Field(None, alias="register", max_length=40,
                                      description="The register's code (TOTAL, PEAK, OFFPEAK...); may be left out "
                                                  "when the meter has one register.")
    read_on: str | None = Field(None, max_length=40, description="The day the meter was read, YYYY-MM-DD (at "
                                                                  "most 60 days ago, not in the future).",
                                json_schema_extra={"format": "date"}, examples=["2026-11-21"])
    value: str | int | float | None = Field(None, description="The index: digits, at most three decimals; "
                                                               "text is safest (`\"12345.678\"`).",
                                            examples=["12345.678"])
    source: str | None = Field(None, max_length=20, description=f"Who read it: {', '.join(SOURCES)} "
                                                                 "(default smart_meter).",
                               examples=["smart_meter"])
    rollover: bool = Field(False, description="The meter went back to zero since the previous reading: a lower "
                                              "index is accepted only with this, if the dial allows it.")
    external_id: str | None = Field(None, max_length=100, description="Your own id of the reading, given back "
                                                                       "in the answer and the events.")


class BatchSent(BaseModel):
    model_config = ConfigDict(extra="forbid")

    readings: list[ReadingSent] = Field(min_length=1, max_length=MAX_BATCH,
                                        description=f"1 to {MAX_BATCH:,} readings.")


class ReadingResult(BaseModel):
    position: int = Field(description="The reading's place in the batch, from 0 (a CSV's first data line is 0).")
    external_id: str | None = Field(description="Your id of the reading, as sent.")
    status: Literal["accepted", "to_check", "rejected"] = Field(
        description="accepted: stored, valid for billing; to_check: stored, its consumption is far from what was "
                    "expected, staff will check it; rejected: nothing stored, see `reason`.")
    already_stored: bool = Field(description="The same index of the same register and day was stored already "
                                             "(sent before): nothing was written again.")
    point: str | None = Field(description="The point of delivery (as found, or as sent).")
    meter: str | None = Field(description="The meter's serial (as found, or as sent).")
    register_code: str | None = Field(alias="register")
    read_on: str | None = Field(description="YYYY-MM-DD, when it could be read.")
    value: QuantityText | None = Field(description="The index as stored, three decimals.")
    consumption: QuantityText | None = Field(description="Since the previous actual reading, after the meter's "
                                                         "multiplier.")
    expected: QuantityText | None = Field(description="What was expected over those days (history or annual "
                                                      "estimate), when known.")
    reason: Literal[REASONS] | None = Field(description="Why it was rejected (a stable code).")  # type: ignore[valid-type]
    message: str | None = Field(description="Why it was rejected or is to be checked, in words, in the language "
                                            "of `Accept-Language`.")


class BatchTotals(BaseModel):
    received: int
    accepted: int
    to_check: int
    rejected: int


class BatchResult(BaseModel):
    totals: BatchTotals
    readings: list[ReadingResult] = Field(description="One per reading sent, in the same order.")
