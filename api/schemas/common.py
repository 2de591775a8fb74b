"""Schemas shared by every area: the error body, amounts and quantities as exact strings."""
from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, Field


class ErrorDetail(BaseModel):
    code: str = Field(description="What went wrong, as a stable code your program can test.")
    message: str = Field(description="The same in words, in the language of `Accept-Language` (English by default).")
    details: Any | None = Field(None, description="What the message refers to: the fields refused and why, "
                                                  "limits, ... (`null` when there is nothing more to say).")


class Error(BaseModel):
    """Every error answer (4xx and 5xx) has this one shape."""

    error: ErrorDetail


MoneyText = Annotated[str, Field(pattern=r"^-?\d+\.\d{2}$", description="An amount with two decimals, as text.",
                                 examples=["123.45"])]
QuantityText = Annotated[str, Field(pattern=r"^-?\d+\.\d{3}$",
                                    description="A quantity (kWh, m³) with three decimals, as text.",
                                    examples=["1234.500"])]
