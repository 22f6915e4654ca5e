"""The pool's possible-duplicate flags (grievance/cases/duplicates.py) read in one query for a page: the same flags
as the rule says (same phone, or every word of the title), however the query and the matching are sped up: the
page's titles asked once each, on PostgreSQL by their rarest words only."""

from __future__ import annotations

import random
from datetime import timedelta

from sqlalchemy import text
from sqlmodel import Session, col, select

from grievance.cases import search
from grievance.cases.duplicates import MAX_FLAGS, duplicate_flags
from grievance.cases.models import Case
from grievance.cases.phones import normalize_phone
from grievance.users.models import User
from tests.api._support import sh

WORDS = ["路灯", "不亮", "井盖", "缺失", "噪音", "扰民", "漏水", "小区", "门口", "青桐路", "停车", "占道"]


def reference_flags(session: Session, window_days: int, cases: list[Case]) -> dict[int, list[tuple[str, str]]]:
    """The rule read plainly, row by row: every other unmerged case within the window before (or any time after)
    that shares the phone (score 1) or holds every token of the title (score: shared tokens over all tokens);
    the MAX_FLAGS best, ties newest first."""
    everyone = list(session.exec(select(Case).where(col(Case.duplicate_of_id).is_(None))))
    everyone.sort(key=lambda c: (c.received_at, c.id), reverse=True)
    found: dict[int, list[tuple[str, str]]] = {}
    for case in cases:
        phone = normalize_phone(case.petitioner_phone) or case.petitioner_phone
        title = set(search.tokens(case.title)[: search.MAX_QUERY_TOKENS])
        mine = set(case.search_terms.split())
        scored = []
        for other in everyone:
            if other.id == case.id or other.received_at < case.received_at - timedelta(days=window_days):
                continue
            theirs = set(other.search_terms.split())
            if phone and other.petitioner_phone == phone:
                scored.append((1.0, other.case_no, "same_phone"))
            elif title and title <= theirs:
                scored.append((len(mine & theirs) / len(mine | theirs), other.case_no, "similar_text"))
        scored.sort(key=lambda s: -s[0])
        if scored:
            found[case.id] = [(no, reason) for _s, no, reason in scored[:MAX_FLAGS]]  # type: ignore[index]
    return found


def test_the_flags_of_a_page_follow_the_rule(world, clock, app) -> None:  # type: ignore[no-untyped-def]
    """Sixty cases of a dozen words and four phones: each case of the page is flagged exactly as the rule reads
    row by row (which cases, which reason, in which order), on both databases."""
    rng = random.Random(13)
    start = sh(2025, 9, 1)
    for i in range(60):
        clock.set(start + timedelta(hours=9 * i))
        title = "".join(rng.sample(WORDS, rng.randint(1, 3)))
        phone = f"1390000000{rng.randint(0, 3)}" if rng.random() < 0.5 else f"13{rng.randint(10**8, 10**9 - 1)}"
        world.intake(title=title, description=title, petitioner={"name": "来电人", "phone": phone})
    runtime = app.state.runtime
    with Session(app.state.engine) as session:
        session.execute(text("ANALYZE cases") if session.get_bind().dialect.name == "postgresql" else text("SELECT 1"))
        dispatcher = session.exec(select(User).where(User.username == "dispatcher")).one()
        page = list(session.exec(select(Case).order_by(col(Case.received_at).desc()).limit(25)))
        flags = duplicate_flags(session, runtime, page, dispatcher)
        expected = reference_flags(session, runtime.settings.duplicate_window_days, page)
        got = {case_id: [(f.case_no, f.reason) for f in found] for case_id, found in flags.items()}
        assert got == expected
        assert sum(len(v) for v in got.values()) > 25  # the data flags plenty, of both kinds
        assert {reason for v in got.values() for _no, reason in v} == {"same_phone", "similar_text"}


def test_a_case_holding_only_the_rare_words_of_a_title_is_not_flagged(world, clock, app) -> None:  # type: ignore[no-untyped-def]
    """PostgreSQL asks the index for a title's rarest words only; a case that holds those but not a common word of
    the title matches the query and is still not flagged: every word is checked."""
    clock.set(sh(2025, 9, 1))
    for i in range(40):  # 小区 becomes the commonest word of the zone
        world.intake(title=f"小区事项{i}", description="小区", petitioner={"name": "甲", "phone": f"1391111{i:04d}"})
    near = world.intake(title="井盖缺失漏水停车", description="无", petitioner={"name": "乙", "phone": "13922220001"})
    whole = world.intake(
        title="小区井盖缺失漏水停车", description="无", petitioner={"name": "丙", "phone": "13922220002"}
    )
    clock.set(sh(2025, 9, 2))
    new = world.intake(
        title="小区井盖缺失漏水停车", description="无", petitioner={"name": "丁", "phone": "13922220003"}
    )
    with Session(app.state.engine) as session:
        postgresql = session.get_bind().dialect.name == "postgresql"
        if postgresql:
            session.execute(text("ANALYZE cases"))
            search._FREQUENCIES.clear()
            title = search.tokens("小区井盖缺失漏水停车")
            narrowed = search.selective(title, search.element_frequencies(session))
            assert len(narrowed) == search.SELECTIVE_TOKENS and search.tokens("小区")[0] not in narrowed
        dispatcher = session.exec(select(User).where(User.username == "dispatcher")).one()
        case = session.exec(select(Case).where(Case.case_no == new["case_no"])).one()
        flags = duplicate_flags(session, app.state.runtime, [case], dispatcher)
        assert [f.case_no for f in flags[case.id]] == [whole["case_no"]]
        assert near["case_no"] not in {f.case_no for f in flags[case.id]}


def test_groups_asked_once_and_none_wider_than_another() -> None:
    assert search.distinct_groups([["a", "b"], ["b", "a"], ["a", "b", "c"], ["d"], ["d", "e"], ["f"]]) == [
        ["a", "b"],
        ["d"],
        ["f"],
    ]
    assert search.distinct_groups([]) == []


def test_the_rarest_tokens_are_kept_in_their_order() -> None:
    frequencies = {"a": 0.5, "b": 0.01, "c": 0.2, "e": 0.3}
    assert search.selective(["a", "b", "c", "d", "e"], frequencies, keep=3) == ["b", "c", "d"]
    assert search.selective(["a", "b"], frequencies, keep=3) == ["a", "b"]
    assert search.selective(["x", "y", "z", "w"], {}, keep=2) == ["x", "y"]  # none known: the first ones
