"""The key a caller uses, as it sees it."""
from __future__ import annotations

from pydantic import AwareDatetime, BaseModel, Field


class KeyOut(BaseModel):
    name: str = Field(description="The name the administrator gave the key.")
    utility: str = Field(description="The utility whose data this key reaches.")
    scopes: list[str] = Field(description="What the key may do.")
    rate_limit_per_minute: int
    expires_at: AwareDatetime | None = Field(description="When the key stops working (`null`: never).")
    created_at: AwareDatetime
