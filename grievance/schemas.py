"""The base of every input model: unknown fields refused, text trimmed, NUL characters refused."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, field_validator


class In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @field_validator("*", mode="before")
    @classmethod
    def _no_nul(cls, value: object) -> object:
        # PostgreSQL cannot store NUL in text; say so instead of failing at the database.
        if isinstance(value, str) and "\x00" in value:
            raise ValueError("含有不可见的空字符 (contains a NUL character)")
        return value
