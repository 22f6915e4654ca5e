"""Lists at a million cases: a department's queue, the overdue board, Chinese free-text search, a phone lookup
and one intake (with its duplicate hints), each through the same service functions the API calls.

Usage: .venv/bin/python bench/lists.py [--cases 1000000] [--backend sqlite|postgresql|both] [--keep]
Loading a million cases takes a few minutes; the database is dropped afterwards unless --keep.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import insert, text
from sqlmodel import select

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from intake import drop_database, make_database, prepare  # noqa: E402

from grievance.cases import search  # noqa: E402
from grievance.cases.listing import CaseFilter, list_cases  # noqa: E402
from grievance.cases.models import NO_DUE, Case  # noqa: E402
from grievance.cases.schemas import CaseCreate  # noqa: E402
from grievance.cases.service import intake_case  # noqa: E402
from grievance.db import make_engine, make_sessionmaker, transaction  # noqa: E402
from grievance.reference.models import Department  # noqa: E402
from grievance.users.service import get_user  # noqa: E402
from grievance.workflow.engine import Runtime  # noqa: E402
from grievance.workflow.loader import load_workflows  # noqa: E402

SUBJECTS = [
    "路灯",
    "井盖",
    "垃圾",
    "噪音",
    "物业",
    "停车",
    "绿化",
    "供暖",
    "漏水",
    "欠薪",
    "招聘",
    "补贴",
    "证照",
    "道路",
    "公交",
]
PROBLEMS = ["不亮", "缺失", "清运不及时", "扰民", "纠纷", "困难", "损坏", "不足", "问题", "申请", "咨询", "投诉"]
PLACES = ["青桐路", "白沙大道", "科创一路", "光谷二路", "高新大道", "青年路", "沙湖路", "东湖路"]
ACTIVE = ["received", "dispatched", "accepted", "handling", "suspended"]
STATES = [*ACTIVE, "resolved", "closed", "closed", "closed", "closed", "closed", "closed"]


def load(url: str, cases: int, departments: list[int]) -> None:
    engine = make_engine(url)
    rng = random.Random(7)
    start = datetime(2025, 1, 1, tzinfo=UTC)
    now = datetime.now(UTC)
    span = (now - start).total_seconds()
    batch: list[dict] = []
    t0 = time.perf_counter()
    with engine.begin() as conn:
        for i in range(1, cases + 1):
            subject, problem, place = rng.choice(SUBJECTS), rng.choice(PROBLEMS), rng.choice(PLACES)
            title = f"{place}{rng.randint(1, 300)}号{subject}{problem}"
            description = f"{place}附近{subject}{problem}已有{rng.randint(1, 30)}天，{rng.choice(SUBJECTS)}也有{rng.choice(PROBLEMS)}"
            received = start + timedelta(seconds=span * i / cases)
            state = rng.choice(STATES)
            due = received + timedelta(days=rng.randint(1, 25)) if state in ACTIVE else NO_DUE
            batch.append(
                {
                    "case_no": f"GX-B-{i:07d}",
                    "query_code": f"q{i:011d}",
                    "workflow": "standard",
                    "state": state,
                    "version": 1,
                    "state_changed_at": received,
                    "channel": "hotline",
                    "case_type": "help",
                    "urgency": "normal",
                    "title": title,
                    "description": description,
                    "location": place,
                    "petitioner_name": "测试",
                    "petitioner_phone": f"139{rng.randint(0, 99999999):08d}",
                    "petitioner_id_no": "",
                    "petitioner_kind": "resident",
                    "department_id": rng.choice(departments) if state != "received" else None,
                    "confidential": False,
                    "received_at": received,
                    "occurred_at": received,
                    "dispatch_count": 1,
                    "urge_count": 0,
                    "supervised": False,
                    "reply": "",
                    "pending_extension_reason": "",
                    "next_due_at": due,
                    "next_warn_at": due,
                    "search_terms": search.search_terms(title, description, place),
                }
            )
            if len(batch) == 10000:
                conn.execute(insert(Case), batch)
                batch.clear()
                print(f"\r  loaded {i:,} cases ({i / (time.perf_counter() - t0):,.0f}/s)", end="", flush=True)
        if batch:
            conn.execute(insert(Case), batch)
    with engine.begin() as conn:
        conn.execute(text("ANALYZE"))
    print(f"\r  loaded {cases:,} cases in {time.perf_counter() - t0:.0f} s" + " " * 20)
    engine.dispose()


def timed(label: str, fn, repeat: int = 15) -> None:  # type: ignore[no-untyped-def]
    fn()  # warm caches
    samples = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        samples.append((time.perf_counter() - t0) * 1000)
    print(f"  {label:<52} median {statistics.median(samples):7.2f} ms  max {max(samples):7.2f} ms  ({result})")


def run(backend: str, cases: int, keep: bool) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        tmp = tempfile.mkdtemp(prefix="grievance-bench-") if keep else scratch
        url = make_database(backend, Path(tmp))
        try:
            settings = prepare(url, Path(tmp))
            engine = make_engine(url)
            sessions = make_sessionmaker(engine)
            with transaction(sessions) as session:
                departments = list(session.exec(select(Department.id)).all())
                handler = get_user(session, "demo_handler")
                supervisor = get_user(session, "demo_supervisor")
                intake = get_user(session, "demo_intake")
            print(f"{backend}: loading {cases:,} cases")
            load(url, cases, departments)
            runtime = Runtime(settings=settings, workflows=load_workflows(settings.workflows_dir))
            with transaction(sessions) as session:
                phone = session.execute(text("SELECT petitioner_phone FROM cases WHERE id = 4242")).scalar()

            def page(user, **kw):  # type: ignore[no-untyped-def]
                with transaction(sessions) as session:
                    items, _cursor = list_cases(session, runtime, user, CaseFilter(**kw))
                    return f"{len(items)} rows"

            def second_page(user, **kw):  # type: ignore[no-untyped-def]
                with transaction(sessions) as session:
                    _, cursor = list_cases(session, runtime, user, CaseFilter(**kw))
                    items, _ = list_cases(session, runtime, user, CaseFilter(cursor=cursor, **kw))
                    return f"{len(items)} rows"

            timed("department queue, active, by due time (handler)", lambda: page(handler, state=ACTIVE, sort="due"))
            timed("department queue, pages 1+2", lambda: second_page(handler, state=ACTIVE, sort="due"))
            timed("department, all cases, newest first", lambda: page(handler))
            timed("overdue board (supervisor)", lambda: page(supervisor, overdue=True, sort="due"))
            timed("search q=路灯 (newest first)", lambda: page(supervisor, q="路灯"))
            timed("search q=青桐路 漏水", lambda: page(supervisor, q="青桐路 漏水"))
            timed("phone lookup", lambda: page(supervisor, phone=phone))

            def one_intake() -> str:
                with transaction(sessions) as session:
                    case_in = CaseCreate(
                        channel="hotline", case_type="help", title="青桐路18号路灯不亮", petitioner={"phone": phone}
                    )
                    result = intake_case(session, runtime, case_in=case_in, actor=intake)
                    return f"{len(result.duplicates)} duplicate hints"

            timed("one intake with duplicate hints", one_intake, repeat=10)
            engine.dispose()
        finally:
            if keep:
                print(f"  kept: {url}")
            else:
                drop_database(url)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--backend", default="both", choices=["sqlite", "postgresql", "both"])
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    for backend in ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]:
        run(backend, args.cases, args.keep)


if __name__ == "__main__":
    main()
