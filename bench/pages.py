"""Pages at a million cases, as a browser gets them: the server-side latency of the work pages over HTTP (a real
uvicorn server, signed in through the sign-in form), so the README can state what a person waits for, not only
what the list queries cost (bench/lists.py).

Measured, one at a time with wrk -t1 -c1 (no queueing: each request waits for nothing but itself):
  - a handler's work queue (工作台) of the department that leads the most cases: the default view and 本单位 (all);
  - one case page: an open case of that department, the one with the longest history among those with clocks;
  - the dispatcher's pool (待派单), the supervisor's board (督办看板);
  - the case list's search as the supervisor: one common word, and two words;
  - GET /api/v1/cases?limit=50 as the same handler with a Bearer token: the issue's bar is a queue page at most
    1.5x the API list.
Then, in-process (TestClient, a SQLAlchemy event counter), how many SQL statements one request of each runs.

The database is the demo (seeded as bench/intake.py does) grown to --cases by bench/reports.py's grow() (the demo
year copied with SQL, every case with its events; the copies have no clocks, so the case page is a demo case),
or with --loader synthetic by bench/lists.py's load() (random cases, no history, no assignee).

Usage: .venv/bin/python bench/pages.py [--cases 1000000] [--backend sqlite|postgresql|both] [--keep]
       [--url DATABASE_URL (already loaded: no load, not dropped)] [--seconds 10] [--loader copy|synthetic]
Servers: 2 uvicorn workers on PostgreSQL, 1 on SQLite, on a free port in 19000-19999.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import re
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlencode

import httpx
from sqlalchemy import event, text
from sqlalchemy.engine import Engine
from sqlmodel import select

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from intake import drop_database, make_database, prepare  # noqa: E402

from grievance.config import Settings  # noqa: E402
from grievance.db import make_engine, make_sessionmaker, transaction  # noqa: E402
from grievance.demo import DEMO_PASSWORD  # noqa: E402
from grievance.reference.models import Department  # noqa: E402
from grievance.users.models import User  # noqa: E402
from grievance.users.service import create_token, create_user  # noqa: E402
from web.pages.common import LOGIN_CSRF_COOKIE, SESSION_COOKIE  # noqa: E402

LUA = ROOT / "bench" / "wrk_page.lua"
TARGET_MS = 50.0
OPEN_STATES = ("accepted", "handling", "suspended", "review_requested", "dispatched")
ONE_WORD = "路灯"  # about 6% of the demo's cases
TWO_WORDS = "咨询 路灯"  # about 22% and 6%; both in about 1.4%
BENCH_HANDLER = ("bench_handler", "bench-handler-2025")  # only if demo_handler is not in the busiest department


@dataclass
class Page:
    label: str
    who: str  # whose header signs the request: handler, dispatcher, supervisor (a Cookie) or api (a Bearer token)
    path: str  # URL-encoded


@dataclass
class Subjects:
    """Who and what the pages are measured with, found in (or added to) the loaded database."""

    department: str
    handler: str
    handler_password: str
    case_no: str
    api_token: str


def pages_for(case_no: str) -> list[Page]:
    return [
        Page("work queue, handler (default view)", "handler", "/queue"),
        Page("work queue, whole department (view=all)", "handler", "/queue?view=all"),
        Page("case page (open case of that department)", "handler", f"/cases/{quote(case_no)}"),
        Page("dispatcher's pool (待派单)", "dispatcher", "/pool"),
        Page("supervisor's board (督办看板)", "supervisor", "/board"),
        Page(f"search q={ONE_WORD} (supervisor)", "supervisor", "/cases?" + urlencode({"q": ONE_WORD})),
        Page(f"search q={TWO_WORDS} (supervisor)", "supervisor", "/cases?" + urlencode({"q": TWO_WORDS})),
        Page("API GET /api/v1/cases?limit=50 (handler)", "api", "/api/v1/cases?limit=50"),
    ]


def subjects(url: str) -> Subjects:
    """The department leading the most cases, a handler of it who can sign in (demo_handler, or a bench_handler
    added with a password), its open case with the most events among those with clocks, and an API token."""
    engine = make_engine(url)
    with transaction(make_sessionmaker(engine)) as session:
        top = session.execute(
            text(
                "SELECT department_id FROM cases WHERE department_id IS NOT NULL "
                "GROUP BY department_id ORDER BY count(*) DESC LIMIT 1"
            )
        ).scalar_one()
        department = session.get(Department, top)
        handler = session.exec(select(User).where(User.username == "demo_handler")).one()
        password = DEMO_PASSWORD.format(role="handler")
        if handler.department_id != top:
            username, password = BENCH_HANDLER
            found = session.exec(select(User).where(User.username == username)).first()
            handler = found or create_user(
                session, username=username, role="handler", password=password, display_name="压测承办人", department=top
            )
            handler.department_id = top
        states = ", ".join(f"'{s}'" for s in OPEN_STATES)
        case_no = session.execute(
            text(
                "SELECT c.case_no FROM cases c JOIN case_events e ON e.case_id = c.id "
                f"WHERE c.department_id = :top AND c.state IN ({states}) "
                "AND EXISTS (SELECT 1 FROM case_clocks k WHERE k.case_id = c.id) "
                "GROUP BY c.id, c.case_no ORDER BY count(*) DESC, c.id LIMIT 1"
            ),
            {"top": top},
        ).scalar()
        if case_no is None:  # no history (the synthetic loader): any open case of the department
            case_no = session.execute(
                text(f"SELECT case_no FROM cases WHERE department_id = :top AND state IN ({states}) LIMIT 1"),
                {"top": top},
            ).scalar_one()
        token = create_token(session, handler, name="bench")
        found = Subjects(department.name if department else str(top), handler.username, password, case_no, token)
    engine.dispose()
    return found


def sign_in(client: httpx.Client, username: str, password: str) -> str:
    """Sign in through the form like a browser (GET /login for its form cookie, POST /login with it); returns the
    Cookie header value of the session ("gv_session=..."). The client's cookie jar is left empty."""
    client.cookies.clear()
    client.get("/login").raise_for_status()
    form_token = client.cookies.get(LOGIN_CSRF_COOKIE)
    answer = client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": form_token or "", "next": "/"},
        follow_redirects=False,
    )
    session = answer.cookies.get(SESSION_COOKIE)
    client.cookies.clear()
    if answer.status_code != 303 or not session:
        raise RuntimeError(f"sign-in as {username} failed: {answer.status_code} {excerpt(answer.text)}")
    return f"{SESSION_COOKIE}={session}"


def headers_for(client: httpx.Client, found: Subjects) -> dict[str, tuple[str, str]]:
    """who -> (header name, value) for every Page.who."""
    return {
        "handler": ("Cookie", sign_in(client, found.handler, found.handler_password)),
        "dispatcher": ("Cookie", sign_in(client, "demo_dispatcher", DEMO_PASSWORD.format(role="dispatcher"))),
        "supervisor": ("Cookie", sign_in(client, "demo_supervisor", DEMO_PASSWORD.format(role="supervisor"))),
        "api": ("Authorization", f"Bearer {found.api_token}"),
    }


def excerpt(body: str, size: int = 300) -> str:
    """The text of an HTML or JSON body, tags and runs of blanks removed, cut at `size` characters."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", body)).strip()[:size]


def free_port() -> int:
    """A free TCP port in 19000-19999 (the range the house rules give benchmarks)."""
    for port in random.sample(range(19000, 20000), 1000):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port in 19000-19999")


@contextmanager
def server(url: str, data_dir: Path, workers: int) -> Iterator[str]:
    """A uvicorn server of the app on `url` (as bench/intake.py starts it); yields its base URL, stopped after."""
    port = free_port()
    env = {**os.environ, "GRIEVANCE_DATABASE_URL": url, "GRIEVANCE_DATA_DIR": str(data_dir)}
    command = [sys.executable, "-m", "uvicorn", "web.app:create_app", "--factory", "--port", str(port)]
    command += ["--workers", str(workers), "--log-level", "warning", "--no-access-log"]
    process = subprocess.Popen(command, cwd=ROOT, env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            if process.poll() is not None:
                raise RuntimeError(f"the server stopped at start (exit {process.returncode})")
            try:
                if httpx.get(f"{base}/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        else:
            raise RuntimeError("the server did not answer /healthz in 30 s")
        yield base
    finally:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def check(base: str, page: Page, header: tuple[str, str]) -> str | None:
    """None when the page answers 200 (three times: a warm-up); else "status: body excerpt"."""
    for _ in range(3):
        answer = httpx.get(base + page.path, headers=dict([header]), timeout=300, follow_redirects=False)
        if answer.status_code != 200:
            where = f" -> {answer.headers['location']}" if "location" in answer.headers else ""
            return f"{answer.status_code}{where}: {excerpt(answer.text)}"
    return None


def wrk(base: str, page: Page, header: tuple[str, str], seconds: int) -> dict:
    """One wrk run, one thread, one connection; the WRKJSON line of wrk_page.lua (latencies in ms)."""
    done = subprocess.run(
        ["wrk", "-t1", "-c1", f"-d{seconds}s", "--timeout", "60s", "--latency", "-s", str(LUA), base, "--",
         page.path, *header],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    line = next((row for row in done.stdout.splitlines() if row.startswith("WRKJSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk printed no figures: {done.stdout[-500:]} {done.stderr[-500:]}")
    return json.loads(line.removeprefix("WRKJSON "))


def count_statements(settings: Settings, found: Subjects, pages: list[Page]) -> dict[str, int | None]:
    """label -> SQL statements one request runs (after a warm-up request), in-process through TestClient; None
    for a page that did not answer 200."""
    from fastapi.testclient import TestClient

    from web.app import create_app

    counter = [0]

    def tick(*_args: object) -> None:
        counter[0] += 1

    counts: dict[str, int | None] = {}
    event.listen(Engine, "before_cursor_execute", tick)
    try:
        with TestClient(create_app(settings, background=False)) as client:
            logging.getLogger("httpx").setLevel(logging.WARNING)  # not a line per request
            headers = headers_for(client, found)
            for page in pages:
                header = dict([headers[page.who]])
                client.get(page.path, headers=header)
                before = counter[0]
                answer = client.get(page.path, headers=header, follow_redirects=False)
                counts[page.label] = counter[0] - before if answer.status_code == 200 else None
    finally:
        event.remove(Engine, "before_cursor_execute", tick)
    return counts


def measure(url: str, data_dir: Path, backend: str, seconds: int, statements: bool) -> None:
    """Find the subjects, start the server, check and time every page, count statements; print the table."""
    found = subjects(url)
    engine = make_engine(url)
    with engine.connect() as conn:
        total = conn.execute(text("SELECT count(*) FROM cases")).scalar_one()
    engine.dispose()
    pages = pages_for(found.case_no)
    results: dict[str, dict] = {}
    errors: dict[str, str] = {}
    workers = 1 if backend == "sqlite" else 2
    with server(url, data_dir, workers) as base:
        with httpx.Client(base_url=base, timeout=60) as client:
            headers = headers_for(client, found)
        for page in pages:
            problem = check(base, page, headers[page.who])
            if problem:
                errors[page.label] = problem
                print(f"  {page.label}: GET {page.path} answered {problem}", file=sys.stderr)
                continue
            results[page.label] = wrk(base, page, headers[page.who], seconds)
            r = results[page.label]
            print(f"  {page.label:<44} p50 {r['p50_ms']:7.1f}  p95 {r['p95_ms']:7.1f}  ({r['requests']} requests)",
                  file=sys.stderr, flush=True)  # fmt: skip
    counts = count_statements(Settings(database_url=url, data_dir=data_dir), found, pages) if statements else {}

    print(f"\n### {backend}: {total:,} cases, {workers} worker(s), wrk -t1 -c1 -d{seconds}s\n")
    print(f"Handler `{found.handler}` of {found.department} (the department leading the most cases); "
          f"case page {found.case_no}.\n")  # fmt: skip
    print("| page | p50 | p95 | p99 | requests | SQL statements | target (p95 < 50 ms) |")
    print("|---|---|---|---|---|---|---|")
    for page in pages:
        sql = counts.get(page.label)
        sql_text = str(sql) if sql is not None else "—"
        if page.label in errors:
            print(f"| {page.label} | error | | | | {sql_text} | {errors[page.label][:80]} |")
            continue
        r = results[page.label]
        verdict = "met" if r["p95_ms"] < TARGET_MS else "**not met**"
        errs = f" ({r['errors'] + r['non2xx']} errors)" if r["errors"] or r["non2xx"] else ""
        print(f"| {page.label} | {r['p50_ms']:.1f} ms | {r['p95_ms']:.1f} ms | {r['p99_ms']:.1f} ms | "
              f"{r['requests']}{errs} | {sql_text} | {verdict} |")  # fmt: skip
    api = results.get(pages[-1].label)
    if api:
        for page in pages[:2]:
            if page.label in results:
                ratio = results[page.label]["p50_ms"] / api["p50_ms"]
                print(f"\n{page.label} / API list, p50: {ratio:.2f}x (bar: 1.5x)", end="")
        print()
    print("\nPaths: " + "; ".join(f"`{p.path}` ({p.who})" for p in pages))


def load(url: str, workdir: Path, cases: int, loader: str) -> None:
    """The demo, then grown to `cases` (copy: bench/reports.py grow) or `cases` random ones added (synthetic:
    bench/lists.py load)."""
    started = time.perf_counter()
    prepare(url, workdir)
    if loader == "copy":
        from reports import grow

        grow(url, cases)
    else:
        from lists import load as load_synthetic

        engine = make_engine(url)
        with transaction(make_sessionmaker(engine)) as session:
            departments = [d for d in session.exec(select(Department.id)).all() if d is not None]
        engine.dispose()
        load_synthetic(url, cases, departments)
    print(f"  loaded in {time.perf_counter() - started:.0f} s", file=sys.stderr)


def run(backend: str, args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        workdir = Path(tempfile.mkdtemp(prefix="grievance-pages-") if args.keep else scratch)
        url = args.url or make_database(backend, workdir)
        try:
            if not args.url:
                print(f"{backend}: loading {args.cases:,} cases ({args.loader})", file=sys.stderr)
                load(url, workdir, args.cases, args.loader)
            measure(url, workdir / "data", backend, args.seconds, not args.no_statements)
        finally:
            if args.url:
                pass
            elif args.keep:
                print(f"  kept: {url}", file=sys.stderr)
            else:
                drop_database(url)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--keep", action="store_true", help="keep the database (and, for SQLite, its directory)")
    parser.add_argument("--url", help="an already loaded database: no load, not dropped (--backend is ignored)")
    parser.add_argument("--seconds", type=int, default=10, help="wrk duration per page")
    parser.add_argument("--loader", choices=["copy", "synthetic"], default="copy")
    parser.add_argument("--no-statements", action="store_true", help="skip the in-process SQL statement count")
    args = parser.parse_args()
    if args.url:
        run("sqlite" if args.url.startswith("sqlite") else "postgresql", args)
        return
    for backend in ("sqlite", "postgresql") if args.backend == "both" else (args.backend,):
        run(backend, args)


if __name__ == "__main__":
    main()
