"""The centre's board: overdue, due soon, extension requests, returned cases and supervised cases (督办件), and which
urges were automatic (the supervision sweeper's) and which a person's; for key cases (重点件, issue 12) how many are
open (a link to them), the late nodes (with how many working days late), the key cases without an active lead leader
and the changes to plans of nodes to decide."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from grievance.cases import listing
from grievance.cases.models import Case
from grievance.glossary import Role
from grievance.keycases.service import late_nodes
from grievance.supervision.counts import automatic_urges, urge_split, urges_by_department
from web.deps import DbSession
from web.pages.common import (
    Viewer,
    render,
)
from web.pages.work.common import (
    BOARD_SIZE,
    CENTRE_BOARD,
    Row,
    all_departments,
    department_options,
    open_states,
    rows_of,
    runtime_of,
)

router = APIRouter(include_in_schema=False)


def all_url(criteria: dict[str, Any]) -> str:
    """The /cases search (web/case_query.py CaseQuery) with a board section's CaseFilter criteria, earliest due
    first: a flag as 1, a list of states as state repeated."""
    query = {name: 1 if value is True else value for name, value in criteria.items()}
    return f"/cases?{urlencode({**query, 'sort': 'due'}, doseq=True)}"


@router.get("/board", response_class=HTMLResponse)
def board(request: Request, session: DbSession, viewer: Viewer = CENTRE_BOARD) -> Response:
    runtime = runtime_of(request)

    now = runtime.now()

    def listed(**criteria: Any) -> tuple[list[Case], int, str]:
        """The first BOARD_SIZE cases of a section, earliest due first, how many there are in all (a COUNT when
        there are more) and the /cases link that lists exactly those cases (its 查看全部)."""
        filters = listing.CaseFilter(sort="due", limit=BOARD_SIZE, **criteria)
        cases, more = listing.list_case_rows(session, runtime, viewer.user, filters, now)
        total = listing.count_cases(session, runtime, viewer.user, filters, now) if more else len(cases)
        return cases, total, all_url(criteria)

    lists = {
        "overdue": listed(overdue=True),
        "due_soon": listed(due_soon=True),
        "extensions": listed(pending_extension=True),
        "supervised": listed(supervised=True, state=open_states(runtime)),
        # No leader, or a deactivated one; open cases only (listing.CaseFilter.no_lead_leader without a state).
        "without_leader": listed(key=True, no_lead_leader=True),
        "node_changes": listed(pending_node_change=True),
        "returned": listed(state=["returned"]),
    }
    # Every section's cases summarized together (one query for their clocks), their rows read in one rows_of (a
    # case in two sections is one row); the returned cases with their routing suggestions in another.
    unique = {case.id: case for cases, _total, _url in lists.values() for case in cases}
    summaries = {s.id: s for s in listing.summarize_page(session, runtime, list(unique.values()), viewer.user, now)}
    returned_ids = [case.id for case in lists["returned"][0]]
    others = [summaries[i] for i in unique if i not in returned_ids]
    rows = {row.item.id: row for row in rows_of(session, runtime, viewer, others)}
    rows |= {
        row.item.id: row
        for row in rows_of(session, runtime, viewer, [summaries[i] for i in returned_ids], suggestions=True)
    }
    sections: dict[str, tuple[list[Row], int, str]] = {
        name: ([rows[case.id] for case in cases], total, url) for name, (cases, total, url) in lists.items()
    }
    departments = all_departments(session)
    overdue, due_soon = sections["overdue"], sections["due_soon"]
    # Automatic vs manual urges of the late cases shown, and per department over all open cases.
    late_cases = [row.case for row in [*overdue[0], *due_soon[0]] if row.case.urge_count]
    automatic = automatic_urges(session, {c.id for c in late_cases if c.id is not None})
    return render(
        request,
        "work/board.html",
        viewer,
        overdue=overdue,
        due_soon=due_soon,
        urges={c.id: urge_split(c.urge_count, automatic.get(c.id, 0)) for c in late_cases},  # type: ignore[misc]
        department_urges=sorted(
            urges_by_department(session, open_states(runtime)).items(), key=lambda item: -item[1].total
        ),
        extensions=sections["extensions"],
        returned=sections["returned"],
        supervised=sections["supervised"],
        key_open=(
            listing.count_cases(
                session, runtime, viewer.user, listing.CaseFilter(key=True, state=open_states(runtime))
            ),
            all_url({"key": True, "state": open_states(runtime)}),
        ),
        late_nodes=late_nodes(
            session, runtime.calendar(session), runtime.now(), open_states=open_states(runtime), limit=BOARD_SIZE
        ),
        without_leader=sections["without_leader"],
        node_changes=sections["node_changes"],
        departments={d.id: d.name for d in departments},
        department_options=department_options(departments),
        read_only=viewer.user.role != Role.supervisor,
        workflows=runtime.workflows.definitions,
    )
