"""The base of every input model: unknown fields refused, text trimmed, NUL characters refused."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, PlainValidator, WithJsonSchema, field_validator

from grievance.errors import BilingualValueError


class In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @field_validator("*", mode="before")
    @classmethod
    def _no_nul(cls, value: object) -> object:
        # PostgreSQL cannot store NUL in text; say so instead of failing at the database.
        if isinstance(value, str) and "\x00" in value:
            raise ValueError("含有不可见的空字符 (contains a NUL character)")
        return value


def _refuse_boolean(zh: str, en: str) -> BeforeValidator:
    """JSON true is neither record 1 nor the number 1, as pydantic's lax int would read it."""

    def check(value: object) -> object:
        if isinstance(value, bool):
            raise BilingualValueError(zh, en)
        return value

    return BeforeValidator(check)


def _id_or_code(value: object) -> int | str:
    """An id (a whole number) or a code, trimmed; anything else (true/false, a list, a fraction) refused in both
    languages under the field's own name (a union type would name its members: `department.int`)."""
    if isinstance(value, bool):
        raise BilingualValueError(
            "应为编号（整数）或代码，不能是 true/false", "must be an id or a code, not true or false"
        )
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        return value.strip()
    raise BilingualValueError(
        "应为编号（整数）或代码，如 12 或 CGJ", "must be an id (a whole number) or a code, e.g. 12 or CGJ"
    )


# A record referred to by its id or its code (a department "CGJ", a station "ZS01"): true/false refused; a string
# of digits is a code or an id as the service looks it up (forms post text).
Ref = Annotated[
    int | str,
    PlainValidator(_id_or_code),
    WithJsonSchema({"anyOf": [{"type": "integer"}, {"type": "string"}], "description": "id or code (编号或代码)"}),
]
# A number typed in a form arrives as text ("80", "８０"): a string of digits is read as the number, true/false never.
Number = Annotated[int, _refuse_boolean("应为整数，不能是 true/false", "must be a whole number, not true or false")]
