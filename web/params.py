"""Bounded types for the values a route reads from its path and query string, so that a number no id column can
hold or a day no calendar keeps is a 422 naming the field (grievance.input_bounds has the bounds and says why),
never a database error.

Use them as parameter types: `meeting_id: DbId`, `year: Year | None = None`, `day: Day`, `start: Moment`.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, BeforeValidator, Field

from grievance.input_bounds import (
    EARLIEST_DAY,
    FIRST_YEAR,
    LAST_YEAR,
    LATEST_DAY,
    MAX_ID,
    check,
    checked_day,
    checked_id,
    checked_moment,
    checked_year,
    id_problem,
    not_a_number,
)

# A row id in a path or a query: a whole number 1..2,147,483,647 (the id columns are 32-bit INTEGER).
DbId = Annotated[
    int,
    AfterValidator(checked_id),
    Field(description=f"an id, 1 to {MAX_ID}", json_schema_extra={"minimum": 1, "maximum": MAX_ID}),
]
# A local day, 1900-01-01 to 2200-01-01.
Day = Annotated[
    date,
    BeforeValidator(not_a_number),
    AfterValidator(checked_day),
    Field(description=f"a day YYYY-MM-DD, {EARLIEST_DAY} to {LATEST_DAY}"),
]
# A moment with its time zone, between 1900-01-01 and 2200-01-01.
Moment = Annotated[
    AwareDatetime,
    BeforeValidator(not_a_number),
    AfterValidator(checked_moment),
    Field(description=f"an aware ISO 8601 time between {EARLIEST_DAY} and {LATEST_DAY}"),
]
# A calendar year, 1900 to 2200.
Year = Annotated[
    int,
    AfterValidator(checked_year),
    Field(
        description=f"a year, {FIRST_YEAR} to {LAST_YEAR}",
        json_schema_extra={"minimum": FIRST_YEAR, "maximum": LAST_YEAR},
    ),
]


def refuse_impossible_id(ref: str, field: str) -> None:
    """For a path reference that is an id or a name (a case number, a meeting id): InvalidInput (422) naming
    `field` when it is a number larger than any id column holds, as DbId answers; other unknown references stay the
    caller's 404."""
    if not (ref.isascii() and ref.isdigit()):
        return
    if len(ref) > len(str(MAX_ID)):  # before int(): Python refuses to parse more than 4,300 digits
        check(
            field,
            (
                f"编号应为 1 至 {MAX_ID} 的整数，收到 {len(ref)} 位数字",
                f"an id is a whole number from 1 to {MAX_ID}; got {len(ref)} digits",
            ),
        )
    elif int(ref) > MAX_ID:
        check(field, id_problem(int(ref)))


# How many rows a list skips: 0..MAX_ID (the database's OFFSET is a 64-bit integer; no list is longer than the ids).
Offset = Annotated[int, Field(ge=0, le=MAX_ID, description=f"rows to skip, 0 to {MAX_ID}")]
