"""The registers of a meeting or a station: their cases counted the way the rates count the same cohort, so the
tally on a page ("2 件，已办结 1 件") never disagrees with the report of that meeting or station."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, col, func, select

from grievance.cases.access import visibility_filter
from grievance.cases.models import Case
from grievance.users.models import User


@dataclass(frozen=True)
class CaseTally:
    """The cases a meeting or station raised, counted as the rates count the same cohort (DOMAIN.md, "Rates"):
    duplicates merged into another case apart and in no other figure; resolved = resolved and not reopened
    since (a reopen clears resolved_at)."""

    received: int = 0  # cases received, duplicates left out
    resolved: int = 0  # of those, resolved now
    duplicates: int = 0  # merged into another case

    @property
    def open(self) -> int:
        return self.received - self.resolved


def count_cases_by(session: Session, actor: User, link: str, only: int | None = None) -> dict[int, CaseTally]:
    """For each meeting (link="meeting") or station (link="station"), or only the one given: its CaseTally,
    counting only the cases this actor may see. A meeting or station without cases is absent."""
    column = {"meeting": Case.meeting_id, "station": Case.station_id}[link]
    own = col(Case.duplicate_of_id).is_(None).label("own")
    stmt = (
        select(column, own, func.count(), func.count(Case.resolved_at))  # count(column) skips NULLs: unresolved
        .where(col(column).is_not(None) if only is None else column == only, visibility_filter(actor))
        .group_by(column, own)
    )
    tallies: dict[int, CaseTally] = {}
    for ref, is_own, total, resolved in session.exec(stmt).all():
        tally = tallies.get(int(ref), CaseTally())
        if is_own:
            tally = CaseTally(int(total), int(resolved), tally.duplicates)
        else:
            tally = CaseTally(tally.received, tally.resolved, int(total))
        tallies[int(ref)] = tally
    return tallies
