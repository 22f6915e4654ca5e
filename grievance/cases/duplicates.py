"""Possible-duplicate flags for a whole page of cases (the pool, the dispatch forms), so a case and its duplicate
are not dispatched together unnoticed: the signal of service.possible_duplicates (the same phone, or a text that
holds every word of the title, within Settings.duplicate_window_days), read in one query for the page."""

from __future__ import annotations

import heapq
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import and_, false, or_
from sqlmodel import Session, col, select

from grievance.cases import search
from grievance.cases.access import in_scope, visibility_filter
from grievance.cases.models import AuditEntry, Case
from grievance.cases.phones import normalize_phone
from grievance.users.models import User
from grievance.workflow.engine import Runtime

MAX_FLAGS = 3  # per case: enough to see it; the case page lists them all for merging
MAX_CANDIDATES = 1000  # rows read for one page; the newest first


@dataclass(frozen=True)
class DuplicateFlag:
    """A case that may be a duplicate of the flagged one: its number, and `reason` same_phone or similar_text."""

    case_no: str
    reason: str


def _phone(case: Case) -> str:
    # Stored phones are in the one form of phones.py; a value a ledger held that no form fits is kept as typed.
    return normalize_phone(case.petitioner_phone) or case.petitioner_phone


def duplicate_flags(
    session: Session, runtime: Runtime, cases: list[Case], actor: User
) -> dict[int, list[DuplicateFlag]]:
    """For each of `cases` (by id) the cases it may duplicate, at most MAX_FLAGS, same phone first, then by words
    shared: received at most duplicate_window_days before it (or after it), not merged into another case, and
    visible to `actor` (a flag never names a case the actor may not see). Cases of the page flag each other.
    A confidential case named in a flag is audited (hint_confidential), as on intake. One query in all."""
    cases = [c for c in cases if c.id is not None]
    if not cases:
        return {}
    window = timedelta(days=runtime.settings.duplicate_window_days)
    phones = {p for p in (_phone(c) for c in cases) if p}
    titles = {c.id: search.tokens(c.title)[: search.MAX_QUERY_TOKENS] for c in cases}
    signal = or_(
        col(Case.petitioner_phone).in_(sorted(phones)) if phones else false(),
        search.contains_any_group(session, [t for t in titles.values() if t], checked=True),
    )
    query = (
        select(Case.id, Case.case_no, Case.received_at, Case.petitioner_phone, Case.search_terms, Case.confidential)
        .where(
            and_(
                signal,
                Case.received_at >= min(c.received_at for c in cases) - window,
                col(Case.duplicate_of_id).is_(None),
                visibility_filter(actor),
            )
        )
        .order_by(col(Case.received_at).desc())
        .limit(MAX_CANDIDATES)
    )
    candidates = list(session.exec(query).all())
    # The candidates by phone and by token (positions in the newest-first order), so each case of the page
    # looks only at the rows that share its phone or hold every word of its title.
    terms = [set(row.search_terms.split()) for row in candidates]
    by_phone: dict[str, list[int]] = {}
    by_token: dict[str, set[int]] = {}
    for i, row in enumerate(candidates):
        by_phone.setdefault(row.petitioner_phone, []).append(i)
        for token in terms[i]:
            by_token.setdefault(token, set()).add(i)
    flags: dict[int, list[DuplicateFlag]] = {}
    named: set[int] = set()
    for case in cases:
        case_id, phone, earliest = case.id, _phone(case), case.received_at - window
        mine = set(case.search_terms.split())
        title = titles[case_id]
        hits = set(by_phone.get(phone, ())) if phone else set()
        if title:
            hits |= set.intersection(*(by_token.get(t, set()) for t in title))
        scored: list[tuple[float, int, str]] = []  # (-score, position, reason): same phone first, then by words
        for i in hits:
            row = candidates[i]
            if row.id == case_id or row.received_at < earliest:
                continue
            if phone and row.petitioner_phone == phone:
                scored.append((-1.0, i, "same_phone"))
            else:
                scored.append((-len(mine & terms[i]) / max(1, len(mine | terms[i])), i, "similar_text"))
        best = heapq.nsmallest(MAX_FLAGS, scored)  # ties stay newest first, as a stable sort leaves them
        if best:
            flags[case_id] = [DuplicateFlag(candidates[i].case_no, reason) for _s, i, reason in best]
            named.update(candidates[i].id for _s, i, _r in best if candidates[i].confidential)
    session.add_all(AuditEntry(user_id=actor.id, action="hint_confidential", case_id=i) for i in sorted(named))
    return flags


def flagged_pairs(
    flags: dict[int, list[DuplicateFlag]], numbers: dict[int, str], chosen: set[str]
) -> list[tuple[str, str]]:
    """The pairs of `chosen` case numbers that flag each other (either way), each once, in order: what a bulk
    dispatch of `chosen` would send together. `numbers` gives each flagged case id its number."""
    pairs: set[tuple[str, str]] = set()
    for case_id, found in flags.items():
        own = numbers.get(case_id)
        if own not in chosen:
            continue
        for flag in found:
            if flag.case_no in chosen and flag.case_no != own:
                pairs.add(tuple(sorted((own, flag.case_no))))  # type: ignore[arg-type]
    return sorted(pairs)


def pairs_among(session: Session, runtime: Runtime, case_nos: list[str], actor: User) -> list[tuple[str, str]]:
    """The pairs of these cases (by number) that may duplicate each other, as flagged_pairs gives them: what a bulk
    dispatch of them all would send together unnoticed. Cases the actor may not see are left out (the dispatch
    itself refuses them)."""
    cases = [c for c in session.exec(select(Case).where(col(Case.case_no).in_(case_nos))) if in_scope(c, actor)]
    flags = duplicate_flags(session, runtime, cases, actor)
    return flagged_pairs(flags, {c.id: c.case_no for c in cases if c.id is not None}, set(case_nos))
