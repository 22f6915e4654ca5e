"""Reports at a million cases: the year's rates, grouped by department, one drill-down list and the monthly
report, through the same service functions the API calls, against the same figures computed by raw SQL.

The database is the demo year (about 4,500 cases with their events and case states, imported through the
ledger importer) copied with SQL until it holds --cases cases, so every case has a real history.

Usage: .venv/bin/python bench/reports.py [--cases 1000000] [--backend sqlite|postgresql|both] [--keep]
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from intake import drop_database, make_database, prepare  # noqa: E402

from grievance.config import Settings  # noqa: E402
from grievance.db import make_engine, make_sessionmaker, transaction  # noqa: E402
from grievance.reports import queries, service  # noqa: E402
from grievance.reports.periods import Period  # noqa: E402

AS_OF = datetime(2026, 1, 10, tzinfo=UTC)


def _columns(conn, table: str) -> list[str]:  # type: ignore[no-untyped-def]
    if conn.dialect.name == "sqlite":
        return [row[1] for row in conn.execute(text(f"PRAGMA table_info({table})"))]
    rows = conn.execute(
        text(
            "SELECT column_name FROM information_schema.columns WHERE table_name = :t "
            "AND is_generated = 'NEVER' ORDER BY ordinal_position"
        ),
        {"t": table},
    )
    return [row[0] for row in rows]


def grow(url: str, cases: int) -> int:
    """Copy the demo year's cases, events and clock changes with shifted ids until there are `cases`."""
    engine = make_engine(url)
    with engine.begin() as conn:
        base = conn.execute(text("SELECT max(id) FROM cases")).scalar_one()
        base_events = conn.execute(text("SELECT max(id) FROM case_events")).scalar_one()
        base_states = conn.execute(text("SELECT max(id) FROM case_states")).scalar_one()
        tables = {t: _columns(conn, t) for t in ("cases", "case_events", "case_states")}
    rounds = max(0, cases // base - 1)
    # The full-text index makes a bulk copy slow (GIN with fastupdate off; FTS5 triggers): drop it for the
    # copy and build it again afterwards, as a bulk load would. Reports do not read it.
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            search_index = conn.execute(
                text("SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_cases_search_vector'")
            ).scalar_one()
            conn.execute(text("DROP INDEX ix_cases_search_vector"))
        else:
            triggers = [
                row[0]
                for row in conn.execute(
                    text("SELECT sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'cases'")
                )
            ]
            for name in (
                conn.execute(text("SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'cases'"))
                .scalars()
                .all()
            ):
                conn.execute(text(f"DROP TRIGGER {name}"))
    for k in range(1, rounds + 1):
        with engine.begin() as conn:
            shift = {
                "cases": {
                    "id": f"id + {k * base}",
                    "case_no": f"case_no || '-{k}'",
                    "query_code": f"query_code || '-{k}'",
                    "duplicate_of_id": f"duplicate_of_id + {k * base}",
                    "idempotency_key": "NULL",
                },
                "case_events": {"id": f"id + {k * base_events}", "case_id": f"case_id + {k * base}"},
                "case_states": {"id": f"id + {k * base_states}", "case_id": f"case_id + {k * base}"},
            }
            for table in ("cases", "case_events", "case_states"):
                columns = tables[table]
                select = ", ".join(shift[table].get(c, c) for c in columns)
                limit = f"WHERE id <= {base if table == 'cases' else (base_events if table == 'case_events' else base_states)}"
                conn.execute(text(f"INSERT INTO {table} ({', '.join(columns)}) SELECT {select} FROM {table} {limit}"))
        if k % 20 == 0:
            print(f"  {(k + 1) * base} cases", file=sys.stderr)
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text(search_index))
        else:
            for sql in triggers:
                conn.execute(text(sql))
            conn.execute(text("INSERT INTO case_search(case_search) VALUES ('rebuild')"))
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            for table in ("cases", "case_events", "case_states"):
                conn.execute(
                    text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
                )
            conn.execute(text("ANALYZE"))
        else:
            conn.execute(text("ANALYZE"))
        total = conn.execute(text("SELECT count(*) FROM cases")).scalar_one()
    engine.dispose()
    return int(total)


def timed(fn, repeat: int = 5) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def publish_trend(sessions: Any, settings: Any) -> None:
    """Publish the 11 months before June 2025 (issue 13's published months) as publish_month stores them, their
    figures from one grouped query (a month without cases with empty figures, as a zone publishes every month);
    the document is left empty: the trend reads the figures only. Publishing twice is harmless (skipped)."""
    from sqlalchemy import select

    from grievance.reports import published
    from grievance.reports.models import PublishedMonth
    from grievance.reports.periods import month, months_between
    from grievance.users.models import User

    with transaction(sessions) as session:
        if session.execute(select(PublishedMonth.id).limit(1)).first() is not None:
            return
        by = session.execute(select(User.id).order_by(User.id).limit(1)).scalar_one()
        start, end = month("2024-07", 1).start, month("2025-05", 1).end
        q = service.report_query(settings, Period(start, end, AS_OF))
        computed = {row["key"]: row for row in service._rows(session, q, "month")}
        for found in months_between(start, end, settings.report_period_start_day):
            row = computed.get(found.key) or {
                "key": found.key,
                "label": found.label,
                "metrics": service.metric_values({}, zone=False),
            }
            session.add(
                PublishedMonth(
                    month=found.key,
                    version=1,
                    period_start=found.start,
                    period_end=found.end,
                    as_of=AS_OF,
                    published_at=AS_OF,
                    published_by_id=by,
                    document="{}",
                    figures={"key": row["key"], "label": row["label"], "metrics": row["metrics"]},
                    content_hash=published.content_hash("{}"),
                )
            )


def load(backend: str, cases: int, workdir: Path) -> tuple[str, Settings]:
    """A new database of `backend` with the demo grown to about `cases` cases: (its URL, its settings)."""
    url = make_database(backend, workdir)
    started = time.perf_counter()
    settings = prepare(url, workdir)
    total = grow(url, cases)
    print(f"{backend}: {total} cases loaded in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    return url, settings


def run(backend: str, cases: int, keep: bool, url: str | None = None, load_only: bool = False) -> None:
    """Load (unless `url` names a database already loaded, which is then kept) and measure (unless `load_only`:
    the database is kept and its URL printed, for a later run with --url at a quiet moment)."""
    # A kept SQLite database lives in a folder that outlives the run.
    kept = keep or load_only
    with (
        contextlib.nullcontext(tempfile.mkdtemp(prefix="grievance-reports-"))
        if kept
        else tempfile.TemporaryDirectory() as tmp
    ):
        workdir = Path(tmp)
        given = url is not None
        if url is None:
            url, settings = load(backend, cases, workdir)
        else:
            settings = Settings(database_url=url, data_dir=workdir / "data")
        if load_only:
            print(url)
            return
        try:
            engine = make_engine(url)
            sessions = make_sessionmaker(engine)
            period = Period(datetime(2025, 1, 1).date(), datetime(2026, 1, 1).date(), AS_OF)
            q = service.report_query(settings, period)

            def rates() -> None:
                with transaction(sessions) as session:
                    service.rates(session, settings, period=period)

            def by_department() -> None:
                with transaction(sessions) as session:
                    service.rates(session, settings, period=period, group_by=["department"])

            def drill_down() -> None:
                with transaction(sessions) as session:
                    service.explain(session, settings, period=period, metric_key="on_time_resolution_rate", limit=100)

            def monthly() -> None:
                with transaction(sessions) as session:
                    service.monthly_report(session, settings, month_key="2025-06", as_of=AS_OF)

            # Raw SQL: the very statement the service runs for the totals, as text through the driver
            # (no SQLAlchemy construction, no Python around it).
            from sqlalchemy import func, select

            facts = queries.facts(q)
            statement = select(*[func.sum(facts.c[k]) for k in queries.CASE_FACTS])
            raw_sql = str(statement.compile(engine, compile_kwargs={"literal_binds": True}))

            def raw() -> None:
                with engine.connect() as conn:
                    conn.exec_driver_sql(raw_sql).all()

            # A floor, not the same figures: current-state counts over the cases table alone (no as-of).
            naive = (
                "SELECT count(*), sum(CASE WHEN responded_at IS NOT NULL THEN 1 ELSE 0 END), "
                "sum(CASE WHEN resolved_at IS NOT NULL THEN 1 ELSE 0 END) FROM cases "
                f"WHERE received_at >= '{period.start_utc:%Y-%m-%d %H:%M:%S}' AND received_at < '{period.end_utc:%Y-%m-%d %H:%M:%S}'"
            )

            def floor() -> None:
                with engine.connect() as conn:
                    conn.exec_driver_sql(naive).all()

            for label, fn in (
                ("rates of the year (all metrics)", rates),
                ("same figures, raw SQL through the driver", raw),
                ("rates of the year by department", by_department),
                ("drill-down: first 100 cases of a numerator", drill_down),
                ("monthly report (13 months of figures)", monthly),
                ("floor: current-state counts, cases table only", floor),
            ):
                print(f"{backend:<10} {label:<48} {timed(fn, 3):9.0f} ms", flush=True)
            publish_trend(sessions, settings)
            label = "monthly report, the 11 months before published"
            print(f"{backend:<10} {label:<48} {timed(monthly, 3):9.0f} ms", flush=True)
            engine.dispose()
        finally:
            if not keep and not given:
                drop_database(url)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--url", help="measure this database, loaded before (kept); --backend is ignored")
    parser.add_argument("--load-only", action="store_true", help="load, keep the database and print its URL")
    args = parser.parse_args()
    if args.url:
        run("postgresql" if args.url.startswith("postgresql") else "sqlite", args.cases, True, url=args.url)
        return
    for backend in ("sqlite", "postgresql") if args.backend == "both" else (args.backend,):
        run(backend, args.cases, args.keep, load_only=args.load_only)


if __name__ == "__main__":
    main()
