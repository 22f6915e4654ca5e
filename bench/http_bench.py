"""Our grievance service and the peer django-helpdesk side by side over HTTP, in one run, under the same generator
(wrk), on the same machine, with the same durability, on SQLite and on PostgreSQL: the issue's targets (intake at
least ten times the peer's, its latencies, reads while writing, every action at 500 req/s, server memory) checked
against figures taken minutes apart, not against a table from another day.

Per database: a fresh database for each system (ours: migrated + demo data; the peer: its kit's setup.sh with
PEER_RESET=1), both servers started once; then
  raw      the driver's own limit: a minimal sqlite3 (1 connection, WAL, synchronous=FULL) or psycopg (8 threads,
           a connection each) loop inserting one case-like and one event-like row per transaction (scratch tables);
  intake   --reps interleaved runs of ours and the peer's (the order alternates), wrk -t2 -c8 for --seconds each;
           after each, every acknowledged request is looked for in the database (ours: cases titled "wrk RUNID-",
           the peer: its verify.py); server RSS (VmRSS summed over the server's processes) sampled every 0.5 s;
  reads    GET /api/v1/cases?limit=50 as demo_dispatcher (wrk -t1 -c2): while our intake runs at full rate, then
           alone;
  actions  a chain of workflow actions (dispatch, accept, respond, note, resolve, callback, close) over the cases
           the intake runs logged, each case once per action, wrk -t2 -c8 for up to --action-seconds each.
Prints a markdown table per database (figure | ours | peer | ratio | target) and the wrk command lines; writes one
JSON line per measurement, and one summary line per database, to --out.

Usage: .venv/bin/python bench/http_bench.py [--db sqlite|postgresql|both] [--reps 5] [--seconds 20] [--quick] [--out F]
Default run: about 14 minutes for both databases (7 per database); --quick (1 rep of 5 s) about 4.
(Not named bench/http.py: Python puts a script's folder first on sys.path, so a bench/http.py would shadow the
standard library's `http` package for every script run from bench/, intake.py included: httpx imports http.client.)
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import shlex
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TextIO

import httpx
import psycopg
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from intake import drop_database, make_database, prepare  # noqa: E402  (bench/intake.py)

from grievance.db import make_engine, make_sessionmaker, transaction  # noqa: E402
from grievance.users.service import create_token, get_user  # noqa: E402

KIT = Path("/work/shared/peers/django-helpdesk")
PEER_ROOT = Path("/tmp/peer-dh")
PEER_PY = PEER_ROOT / "venv" / "bin" / "python"
PEER_DB = {"sqlite": "sqlite", "postgresql": "postgres"}
WORKERS = {"sqlite": 1, "postgresql": 2}
PORTS = range(19000, 20000)  # the house rule for our own servers
LIST_PATH = "/api/v1/cases?limit=50"
WRK_TIMEOUT = "10s"  # wrk's default 2 s would count a slow answer as an error, not as a latency

# The chain of actions (workflows/standard.yaml), each fired once on every case in its `from` state:
# (action, user, from state, extra SQL condition, the action's fields besides `version`).
CHAIN: list[tuple[str, str, str, str, dict[str, Any]]] = [
    ("dispatch", "demo_dispatcher", "received", "", {"department_id": None}),  # CGJ's id, filled in at run time
    ("accept", "demo_handler", "dispatched", "", {}),
    ("respond", "demo_handler", "accepted", "", {"note": "已电话联系诉求人，约定次日现场查看"}),
    ("note", "demo_handler", "handling", "", {"note": "已到现场查看，已安排维修班组"}),
    ("resolve", "demo_handler", "handling", "", {"outcome": "solved", "reply": "路灯已修复，诉求人现场确认"}),
    (
        "callback",
        "demo_dispatcher",
        "resolved",
        "AND callback_at IS NULL",
        {"reached": True, "solved": True, "satisfaction": "satisfied", "note": "回访满意"},
    ),
    ("close", "demo_dispatcher", "resolved", "AND callback_at IS NOT NULL", {"note": "回访满意，归档"}),
]

SCRATCH_SQLITE = """
CREATE TABLE scratch_cases (
  id INTEGER PRIMARY KEY, case_no TEXT NOT NULL UNIQUE, query_code TEXT NOT NULL UNIQUE, workflow TEXT NOT NULL,
  state TEXT NOT NULL, version INTEGER NOT NULL, channel TEXT NOT NULL, case_type TEXT NOT NULL, title TEXT NOT NULL,
  description TEXT NOT NULL, petitioner_name TEXT NOT NULL, petitioner_phone TEXT NOT NULL, department_id INTEGER,
  received_at TEXT NOT NULL, next_due_at TEXT NOT NULL);
CREATE TABLE scratch_events (
  id INTEGER PRIMARY KEY, case_id INTEGER NOT NULL REFERENCES scratch_cases(id), action TEXT NOT NULL,
  from_state TEXT, to_state TEXT NOT NULL, actor_id INTEGER, at TEXT NOT NULL, payload TEXT NOT NULL);
CREATE INDEX ix_scratch_events_case ON scratch_events (case_id, id);
"""
SCRATCH_PG = """
DROP TABLE IF EXISTS scratch_events, scratch_cases;
CREATE TABLE scratch_cases (
  id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, case_no TEXT NOT NULL UNIQUE,
  query_code TEXT NOT NULL UNIQUE, workflow TEXT NOT NULL, state TEXT NOT NULL, version INTEGER NOT NULL,
  channel TEXT NOT NULL, case_type TEXT NOT NULL, title TEXT NOT NULL, description TEXT NOT NULL,
  petitioner_name TEXT NOT NULL, petitioner_phone TEXT NOT NULL, department_id INTEGER,
  received_at TIMESTAMPTZ NOT NULL, next_due_at TIMESTAMPTZ NOT NULL);
CREATE TABLE scratch_events (
  id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, case_id BIGINT NOT NULL REFERENCES scratch_cases(id),
  action TEXT NOT NULL, from_state TEXT, to_state TEXT NOT NULL, actor_id INTEGER, at TIMESTAMPTZ NOT NULL,
  payload JSONB NOT NULL);
CREATE INDEX ix_scratch_events_case ON scratch_events (case_id, id);
"""
INSERT_CASE = (
    "INSERT INTO scratch_cases (case_no, query_code, workflow, state, version, channel, case_type, title, description,"
    " petitioner_name, petitioner_phone, department_id, received_at, next_due_at)"
    " VALUES ({p}, {p}, 'standard', 'received', 1, 'walk_in', 'help', {p}, {p}, '测试', {p}, NULL, {now}, {now})"
)
INSERT_EVENT = (
    "INSERT INTO scratch_events (case_id, action, from_state, to_state, actor_id, at, payload)"
    " VALUES ({p}, 'intake', NULL, 'received', 1, {now}, {p})"
)


def log(message: str) -> None:
    """Progress on stderr (the table goes to stdout)."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# --- wrk ------------------------------------------------------------------------------------------------------


def wrk_cmd(url: str, script: str, seconds: float, threads: int, connections: int, *args: str) -> list[str]:
    """A wrk command line: `threads` threads, `connections` connections, for `seconds`, with a Lua script."""
    return [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{seconds:g}s",
        "--latency",
        "--timeout",
        WRK_TIMEOUT,
        "-s",
        script,
        url,
        "--",
        *args,
    ]


def start_wrk(cmd: list[str]) -> subprocess.Popen[str]:
    return subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish_wrk(proc: subprocess.Popen[str], cmd: list[str]) -> dict[str, Any]:
    """Wait for a wrk process; its WRKJSON line as a dict (requests, ok, rps, p50_ms... in ms and seconds), plus
    the command line as run (`cmd`, from the project's root). Raises if wrk printed none."""
    out, err = proc.communicate()
    for line in out.splitlines():
        if line.startswith("WRKJSON "):
            result = json.loads(line[len("WRKJSON ") :])
            result["cmd"] = shlex.join(cmd)
            if "ok" not in result:  # the kit's wrk_post.lua: one count of non-2xx answers and socket errors
                result["ok"] = result["requests"] - result.get("non2xx_or_errors", 0)
            return result
    raise RuntimeError(f"wrk printed no WRKJSON line: {shlex.join(cmd)}\n{out}\n{err}")


def run_wrk(cmd: list[str]) -> dict[str, Any]:
    return finish_wrk(start_wrk(cmd), cmd)


# --- processes and memory ---------------------------------------------------------------------------------------


def process_tree(roots: list[int]) -> list[int]:
    """The pids of `roots` and of all their descendants that are alive now (read from /proc)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError, ValueError):
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
                children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], list(roots)
    while todo:
        pid = todo.pop()
        if Path(f"/proc/{pid}").exists():
            found.append(pid)
            todo.extend(children.get(pid, []))
    return found


def rss_mb(pids: list[int]) -> float:
    """VmRSS summed over `pids`, in MB (2**20 bytes); a process gone meanwhile counts 0."""
    total_kb = 0
    for pid in pids:
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total_kb += int(line.split()[1])
    return total_kb / 1024


class RssSampler:
    """Samples the summed VmRSS of a process tree every `interval` seconds while in a `with` block: `max_mb`, and
    `parts_mb`, each process's MB in the sample that had the largest sum (largest first)."""

    def __init__(self, root: int, interval: float = 0.5) -> None:
        self.root, self.interval, self.max_mb, self.samples = root, interval, 0.0, 0
        self.parts_mb: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while True:
            parts = sorted((rss_mb([pid]) for pid in process_tree([self.root])), reverse=True)
            if sum(parts) > self.max_mb:
                self.max_mb, self.parts_mb = sum(parts), parts
            self.samples += 1
            if self._stop.wait(self.interval):
                return

    def fields(self) -> dict[str, Any]:
        return {"rss_max_mb": self.max_mb, "rss_parts_mb": [round(x, 1) for x in self.parts_mb]}

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def pick_port(avoid: set[int]) -> int:
    """A free TCP port on 127.0.0.1 in 19000-19999, not in `avoid`."""
    start = uuid.uuid4().int % len(PORTS)
    for k in range(len(PORTS)):
        port = PORTS[(start + k) % len(PORTS)]
        if port in avoid:
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port in 19000-19999")


def wait_http(url: str, seconds: float = 60) -> None:
    """Wait until GET `url` answers 200, for at most `seconds`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(url, timeout=2).status_code == 200:
                return
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer 200 within {seconds:g} s")


# --- our service ------------------------------------------------------------------------------------------------


class OurServer:
    """uvicorn serving web.app on `port` with `workers` processes, SQLite synchronous=FULL; stop() ends it."""

    def __init__(self, url: str, data_dir: Path, workers: int, port: int, logfile: Path) -> None:
        self.port, self.workers, self.logfile = port, workers, logfile
        self.cmd = [
            sys.executable,
            "-m",
            "uvicorn",
            "web.app:create_app",
            "--factory",
            "--port",
            str(port),
            "--workers",
            str(workers),
            "--log-level",
            "warning",
            "--no-access-log",
        ]
        env = {
            **os.environ,
            "GRIEVANCE_DATABASE_URL": url,
            "GRIEVANCE_DATA_DIR": str(data_dir),
            "GRIEVANCE_SQLITE_SYNCHRONOUS": "FULL",
        }
        self._log = logfile.open("w")
        self.proc = subprocess.Popen(self.cmd, cwd=ROOT, env=env, stdout=self._log, stderr=subprocess.STDOUT)
        try:
            wait_http(f"http://127.0.0.1:{port}/healthz")
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """SIGTERM to uvicorn (it stops its workers), then SIGKILL to whatever of its tree is left after 15 s."""
        pids = process_tree([self.proc.pid])
        self.proc.terminate()
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
        for pid in pids:
            with contextlib.suppress(OSError):
                os.kill(pid, 9)
        self._log.close()

    def log_tail(self, lines: int = 20) -> str:
        return "\n".join(self.logfile.read_text(errors="replace").splitlines()[-lines:])


def make_tokens(url: str, usernames: list[str]) -> dict[str, str]:
    """A fresh API token for each demo user: {username: token}."""
    engine = make_engine(url)
    with transaction(make_sessionmaker(engine)) as session:
        tokens = {name: create_token(session, get_user(session, name), name="bench-http") for name in usernames}
    engine.dispose()
    return tokens


def count_ours(engine: Engine, runid: str) -> dict[str, int]:
    """Cases titled "wrk RUNID-..." and their events: {"rows": cases, "distinct": distinct titles, "events": n}."""
    like = f"wrk {runid}-%"
    with engine.connect() as conn:
        rows, distinct = conn.execute(
            text("SELECT count(*), count(DISTINCT title) FROM cases WHERE title LIKE :p"), {"p": like}
        ).one()
        events = conn.execute(
            text("SELECT count(*) FROM case_events e JOIN cases c ON c.id = e.case_id WHERE c.title LIKE :p"),
            {"p": like},
        ).scalar_one()
    return {"rows": int(rows), "distinct": int(distinct), "events": int(events)}


def count_events(engine: Engine, action: str) -> int:
    """Events of `action` on the cases that wrk runs logged (titles "wrk ...")."""
    with engine.connect() as conn:
        return int(
            conn.execute(
                text(
                    "SELECT count(*) FROM case_events e JOIN cases c ON c.id = e.case_id "
                    "WHERE c.title LIKE 'wrk %' AND e.action = :a"
                ),
                {"a": action},
            ).scalar_one()
        )


def settled(read: Callable[[], Any], pause: float = 0.3, limit: float = 15) -> Any:
    """`read()` again every `pause` seconds until two reads in a row agree (at most `limit` s): the database once
    the server has finished the requests that were in flight when wrk stopped (their answers never counted)."""
    last = read()
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        time.sleep(pause)
        now = read()
        if now == last:
            return now
        last = now
    return last


# --- the peer ---------------------------------------------------------------------------------------------------


class Peer:
    """The django-helpdesk kit (/work/shared/peers/django-helpdesk), driven through its own scripts."""

    def __init__(self, db: str, pg_url: str, logfile: Path) -> None:
        self.db, self.logfile = PEER_DB[db], logfile
        self.env = {**os.environ, "PEER_DB": self.db, "PEER_PG_URL": pg_url, "PEER_SQLITE_SYNC": "FULL"}
        self.port: int | None = None
        self.pid: int | None = None

    @staticmethod
    def running_pid() -> int | None:
        """The pid of a gunicorn started by the kit's serve.sh that is alive now, if any."""
        pidfile = PEER_ROOT / "gunicorn.pid"
        with contextlib.suppress(OSError, ValueError):
            pid = int(pidfile.read_text().strip())
            os.kill(pid, 0)
            return pid
        return None

    def start_setup(self) -> subprocess.Popen[bytes]:
        """setup.sh with PEER_RESET=1 (a fresh database) in the background; its output goes to the log file."""
        log_handle = self.logfile.open("w")
        return subprocess.Popen(
            ["./setup.sh"], cwd=KIT, env={**self.env, "PEER_RESET": "1"}, stdout=log_handle, stderr=subprocess.STDOUT
        )

    def serve(self, port: int) -> None:
        self.pid = -1  # from here on stop() runs stop.sh, even if serve.sh fails half-way
        done = subprocess.run(
            ["./serve.sh"], cwd=KIT, env={**self.env, "PORT": str(port)}, capture_output=True, text=True, check=False
        )
        if done.returncode != 0:
            raise RuntimeError(f"peer serve.sh failed: {done.stdout}{done.stderr}")
        self.port, self.pid = port, int(done.stdout.strip().splitlines()[-1])

    def stop(self) -> None:
        if self.pid is not None:  # only a gunicorn this run started (none ran before: bench_database checks)
            subprocess.run(["./stop.sh"], cwd=KIT, capture_output=True, check=False)
            self.pid = None

    def token(self) -> str:
        return (PEER_ROOT / f"token.{self.db}").read_text().strip()

    def verify(self, runid: str) -> dict[str, Any]:
        """The kit's verify.py for titles "wrk RUNID-": {"tickets", "followups", "distinct_titles", ...}."""
        env = dict(self.env)
        for line in (PEER_ROOT / f"env.{self.db}").read_text().splitlines():
            if line.startswith("export ") and "=" in line:
                key, value = line[len("export ") :].split("=", 1)
                env[key] = value
        done = subprocess.run(
            [str(PEER_PY), str(KIT / "verify.py"), "--prefix", f"wrk {runid}-"],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        return dict(json.loads(done.stdout.strip().splitlines()[-1]))


# --- the driver's own limit -------------------------------------------------------------------------------------


def raw_row(k: int, n: int) -> tuple[str, str, str, str, str]:
    """The varying values of one scratch case: (case_no, query_code, title, description, phone)."""
    return (
        f"RAW-{k}-{n:08d}",
        f"Q{k}{n:010d}",
        f"小区门口路灯不亮{n}",
        f"青桐路{n % 200}号附近，小区门口路灯不亮，已持续{n % 9 + 1}天，请尽快处理",
        f"139{k:04d}{n % 10000:04d}",
    )


def raw_sqlite(path: Path, seconds: float) -> dict[str, Any]:
    """One sqlite3 connection (WAL, synchronous=FULL) committing a case row + an event row per transaction for
    `seconds`: {"tx", "seconds", "tps", "p95_ms"} (per-transaction latency in ms)."""
    con = sqlite3.connect(path, isolation_level=None)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=FULL")
    con.executescript(SCRATCH_SQLITE)
    now = "strftime('%Y-%m-%d %H:%M:%f', 'now')"
    insert_case, insert_event = INSERT_CASE.format(p="?", now=now), INSERT_EVENT.format(p="?", now=now)
    payload = json.dumps({"channel": "walk_in", "title": "小区门口路灯不亮"}, ensure_ascii=False)
    latencies: list[float] = []
    start = time.perf_counter()
    end = start + seconds
    n = 0
    while time.perf_counter() < end:
        t0 = time.perf_counter()
        case_no, query_code, title, description, phone = raw_row(0, n)
        con.execute("BEGIN IMMEDIATE")
        cur = con.execute(insert_case, (case_no, query_code, title, description, phone))
        con.execute(insert_event, (cur.lastrowid, payload))
        con.execute("COMMIT")
        latencies.append(time.perf_counter() - t0)
        n += 1
    elapsed = time.perf_counter() - start
    con.close()
    return {"tx": n, "seconds": elapsed, "tps": n / elapsed, "p95_ms": quantile(latencies, 0.95) * 1000}


def raw_postgres(dsn: str, seconds: float, threads: int = 8) -> dict[str, Any]:
    """`threads` threads, a psycopg connection each, committing a case row + an event row per transaction for
    `seconds`: {"tx", "seconds", "tps", "p95_ms"}. The scratch tables are dropped afterwards."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(SCRATCH_PG)  # type: ignore[arg-type]
    insert_case = INSERT_CASE.format(p="%s", now="now()") + " RETURNING id"
    insert_event = INSERT_EVENT.format(p="%s", now="now()")
    payload = json.dumps({"channel": "walk_in", "title": "小区门口路灯不亮"}, ensure_ascii=False)
    counts = [0] * threads
    latencies: list[list[float]] = [[] for _ in range(threads)]
    barrier = threading.Barrier(threads + 1)
    end = [0.0]

    def worker(k: int) -> None:
        with psycopg.connect(dsn) as conn:
            barrier.wait()
            n = 0
            while time.perf_counter() < end[0]:
                t0 = time.perf_counter()
                case_id = conn.execute(insert_case, raw_row(k, n)).fetchone()[0]  # type: ignore[index]
                conn.execute(insert_event, (case_id, payload))
                conn.commit()
                latencies[k].append(time.perf_counter() - t0)
                n += 1
            counts[k] = n

    pool = [threading.Thread(target=worker, args=(k,)) for k in range(threads)]
    for t in pool:
        t.start()
    start = time.perf_counter()
    end[0] = start + seconds
    barrier.wait()
    for t in pool:
        t.join()
    elapsed = time.perf_counter() - start
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS scratch_events, scratch_cases")
    total = sum(counts)
    every = [x for lat in latencies for x in lat]
    return {"tx": total, "seconds": elapsed, "tps": total / elapsed, "p95_ms": quantile(every, 0.95) * 1000}


# --- figures ----------------------------------------------------------------------------------------------------


def quantile(values: list[float], q: float) -> float:
    """Nearest-rank quantile (q in 0..1) of `values`; 0 for none."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]


def median_of(runs: list[dict[str, Any]], key: str) -> float:
    return float(statistics.median(r[key] for r in runs)) if runs else float("nan")


def fmt(value: float, digits: int = 0) -> str:
    if value != value:  # NaN: not measured
        return "—"
    return f"{value:,.{digits}f}"


def spread(runs: list[dict[str, Any]], key: str, digits: int = 0) -> str:
    """ "median (min–max)" of `key` over the runs, or the one value."""
    if not runs:
        return "—"
    values = [r[key] for r in runs]
    if len(values) == 1:
        return fmt(values[0], digits)
    return f"{fmt(statistics.median(values), digits)} ({fmt(min(values), digits)}–{fmt(max(values), digits)})"


def ratio(ours: float, peer: float) -> str:
    if ours != ours or peer != peer or peer == 0:
        return "—"
    return f"{ours / peer:.2f}×"


def rss_parts(rec: dict[str, Any] | None) -> str:
    """ "(141 + 141 + 26)": each process's MB in the largest sample, or nothing for one process."""
    parts = (rec or {}).get("rss_parts_mb") or []
    return f" ({' + '.join(fmt(x) for x in parts)})" if len(parts) > 1 else ""


def verdict(ok: bool, what: str) -> str:
    return f"{what}: {'met' if ok else '**not met**'}"


# --- one database -----------------------------------------------------------------------------------------------


class Run:
    """Everything measured on one database: the JSON records (`records`) and the command lines (`commands`)."""

    def __init__(self, db: str, out: TextIO) -> None:
        self.db, self.out = db, out
        self.records: list[dict[str, Any]] = []
        self.commands: dict[str, str] = {}

    def record(self, figure: str, system: str, **fields: Any) -> dict[str, Any]:
        rec = {"db": self.db, "figure": figure, "system": system, "at": time.strftime("%Y-%m-%dT%H:%M:%S"), **fields}
        self.records.append(rec)
        self.out.write(json.dumps(rec, ensure_ascii=False) + "\n")
        self.out.flush()
        if "cmd" in fields:
            self.commands.setdefault(f"{system} {figure}", fields["cmd"])
        return rec

    def find(self, figure: str, system: str) -> list[dict[str, Any]]:
        return [r for r in self.records if r["figure"] == figure and r["system"] == system]


def new_runid(tag: str) -> str:
    return f"{tag}{uuid.uuid4().hex[:8]}"


def bench_database(db: str, args: argparse.Namespace, out: TextIO) -> Run:
    """All figures of one database (sqlite or postgresql); servers stopped and our database dropped on the way
    out, whatever happens."""
    run = Run(db, out)
    run.record("loadavg", "machine", loadavg=Path("/proc/loadavg").read_text().split()[:3])
    with contextlib.ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix=f"bench-http-{db}-")))
        if Peer.running_pid() is not None:
            raise RuntimeError(
                f"a peer gunicorn (pid {Peer.running_pid()}, {PEER_ROOT / 'gunicorn.pid'}) is already running: "
                "someone else is using the kit; not touching it"
            )
        log(f"{db}: creating our database and the peer's (setup.sh, PEER_RESET=1) in parallel")
        url = make_database(db, workdir)
        stack.callback(drop_database, url)
        log(f"{db}: our database {url.rsplit('/', 1)[1]} (dropped at the end)")
        peer = Peer(db, args.peer_pg_url, workdir / "peer-setup.log")
        setup = peer.start_setup()
        stack.callback(setup.wait)
        settings = prepare(url, workdir)
        if setup.wait() != 0:
            raise RuntimeError(f"peer setup.sh failed:\n{(workdir / 'peer-setup.log').read_text()[-3000:]}")
        tokens = make_tokens(url, ["demo_intake", "demo_dispatcher", "demo_handler"])
        engine = create_engine(url)
        stack.callback(engine.dispose)

        log(f"{db}: raw-driver limit, {args.raw_seconds:g} s")
        if db == "sqlite":
            raw = raw_sqlite(workdir / "scratch.db", args.raw_seconds)
            raw["how"] = "sqlite3, 1 connection, WAL, synchronous=FULL, 1 case + 1 event row per transaction"
        else:
            raw = raw_postgres(url.replace("postgresql+psycopg://", "postgresql://"), args.raw_seconds)
            raw["how"] = "psycopg, 8 threads x 1 connection, 1 case + 1 event row per transaction"
        run.record("raw_driver", "raw", **raw)

        ours_port = pick_port(set())
        peer_port = pick_port({ours_port})
        ours = OurServer(url, settings.data_dir, WORKERS[db], ours_port, workdir / "uvicorn.log")
        stack.callback(ours.stop)
        stack.callback(peer.stop)
        peer.serve(peer_port)
        ours_url, peer_url = f"http://127.0.0.1:{ours_port}", f"http://127.0.0.1:{peer_port}"
        peer_script = str(KIT / "wrk_post.lua")
        log(f"{db}: ours on {ours_url} ({WORKERS[db]} worker(s)), peer on {peer_url} (gunicorn, 2 sync workers)")

        def ours_intake_cmd(runid: str, seconds: float) -> list[str]:
            return wrk_cmd(ours_url, "bench/wrk_intake.lua", seconds, 2, 8, tokens["demo_intake"], runid)

        def peer_intake_cmd(runid: str, seconds: float) -> list[str]:
            return wrk_cmd(peer_url, peer_script, seconds, 2, 8, peer.token(), runid)

        # Warm-up: the first requests of a fresh process pay for imports, caches and connections.
        run_wrk(ours_intake_cmd(new_runid("warm"), args.warmup))
        run_wrk(peer_intake_cmd(new_runid("warm"), args.warmup))

        def intake_ours(rep: int) -> None:
            runid = new_runid("o")
            cmd = ours_intake_cmd(runid, args.seconds)
            with RssSampler(ours.proc.pid) as rss:
                result = run_wrk(cmd)
            counted = settled(lambda: count_ours(engine, runid))
            run.record("intake", "ours", rep=rep, runid=runid, **rss.fields(), **result, **counted)
            log(
                f"{db} rep {rep} ours: {result['rps']:.0f} req/s, p95 {result['p95_ms']:.0f} ms, "
                f"{counted['rows']} rows / {result['ok']} acknowledged, RSS {rss.max_mb:.0f} MB"
            )

        def intake_peer(rep: int) -> None:
            runid = new_runid("p")
            cmd = peer_intake_cmd(runid, args.seconds)
            assert peer.pid is not None
            with RssSampler(peer.pid) as rss:
                result = run_wrk(cmd)
            time.sleep(1)  # the requests in flight when wrk stopped (never acknowledged) end first
            counted = peer.verify(runid)
            run.record(
                "intake",
                "peer",
                rep=rep,
                runid=runid,
                **rss.fields(),
                rows=counted["tickets"],
                events=counted["followups"],
                distinct=counted["distinct_titles"],
                **result,
            )
            log(
                f"{db} rep {rep} peer: {result['rps']:.0f} req/s, p95 {result['p95_ms']:.0f} ms, "
                f"{counted['tickets']} rows / {result['ok']} acknowledged, RSS {rss.max_mb:.0f} MB"
            )

        for rep in range(1, args.reps + 1):
            order: list[Callable[[int], None]] = [intake_ours, intake_peer]
            for step in order if rep % 2 else reversed(order):
                step(rep)

        log(f"{db}: list while our intake writes, then alone ({args.seconds:g} s each)")
        get_cmd = wrk_cmd(
            ours_url, "bench/wrk_get.lua", args.seconds, 1, 2, f"Bearer {tokens['demo_dispatcher']}", LIST_PATH
        )
        runid = new_runid("r")
        intake_cmd = ours_intake_cmd(runid, args.seconds)
        with RssSampler(ours.proc.pid) as rss:
            reader, writer = start_wrk(get_cmd), start_wrk(intake_cmd)
            read_result, write_result = finish_wrk(reader, get_cmd), finish_wrk(writer, intake_cmd)
        run.record("list_while_writing", "ours", **read_result)
        run.record(
            "intake_while_reading",
            "ours",
            runid=runid,
            rss_max_mb=rss.max_mb,
            **write_result,
            **count_ours(engine, runid),
        )
        run.record("list_alone", "ours", **run_wrk(get_cmd))

        with engine.connect() as conn:
            department = conn.execute(text("SELECT id FROM departments WHERE code = 'CGJ'")).scalar_one()
        for action, user, state, extra, fields in CHAIN:
            with engine.connect() as conn:
                rows = conn.execute(
                    text(
                        f"SELECT case_no, version FROM cases WHERE title LIKE 'wrk %' AND state = :s {extra} ORDER BY id"
                    ),
                    {"s": state},
                ).all()
            if not rows:
                log(f"{db}: action {action}: no case in state {state}; skipped")
                run.record(f"action_{action}", "ours", skipped=f"no case in state {state}")
                continue
            casefile = workdir / f"cases-{action}.tsv"
            with casefile.open("w") as f:
                for case_no, version in rows:
                    body = {**fields, "version": version}
                    if action == "dispatch":
                        body["department_id"] = department
                    f.write(f"{case_no}\t{json.dumps(body, ensure_ascii=False)}\n")
            cmd = wrk_cmd(
                ours_url, "bench/wrk_action.lua", args.action_seconds, 2, 8, tokens[user], action, str(casefile), "2"
            )
            result = run_wrk(cmd)
            # Wait for the requests in flight when wrk stopped, or the next action would read stale versions.
            fired = settled(lambda action=action: count_events(engine, action))
            run.record(f"action_{action}", "ours", user=user, cases=len(rows), events=int(fired), **result)
            log(
                f"{db}: action {action}: {result['rps']:.0f} req/s, p95 {result['p95_ms']:.0f} ms, "
                f"{result['ok']} ok of {result['requests']}, {fired} events ({len(rows)} cases offered)"
            )
            if result["non2xx"] or result["errors"]:
                log(
                    f"{db}: action {action}: {result['non2xx']} non-2xx (by status: {result.get('statuses')}), "
                    f"{result['errors']} socket errors"
                )
        run.record("durability", "both", **durability(db, engine))
        ours_failures = ours.log_tail(40)
        if "Traceback" in ours_failures or "ERROR" in ours_failures:
            run.record("server_log_tail", "ours", text=ours_failures)
    return run


def durability(db: str, engine: Engine) -> dict[str, Any]:
    """What a commit waits for on this database, for the output: {"ours", "peer"} (and PG's settings)."""
    if db == "sqlite":
        return {
            "ours": "SQLite WAL, synchronous=FULL (GRIEVANCE_SQLITE_SYNCHRONOUS=FULL)",
            "peer": "SQLite WAL, synchronous=FULL (PEER_SQLITE_SYNC=FULL)",
        }
    with engine.connect() as conn:
        settings = {
            name: conn.execute(text(f"SHOW {name}")).scalar_one()
            for name in ("synchronous_commit", "fsync", "server_version")
        }
    same = f"PostgreSQL {settings['server_version']} on 127.0.0.1:5432, synchronous_commit={settings['synchronous_commit']}, fsync={settings['fsync']}"
    return {"ours": same, "peer": same + " (the same server)", **settings}


# --- output -----------------------------------------------------------------------------------------------------


def table(run: Run, args: argparse.Namespace) -> Iterator[str]:
    """The markdown lines of one database's table, then its notes and command lines."""
    db = run.db
    ours, peer = run.find("intake", "ours"), run.find("intake", "peer")
    n = len(ours)
    yield f"### {db}: ours vs django-helpdesk, wrk, {args.reps} interleaved rep(s) of {args.seconds:g} s"
    yield ""
    dur = run.find("durability", "both")
    if dur:
        yield f"Durability: ours {dur[0]['ours']}; peer {dur[0]['peer']} — equal durability."
    yield (
        f"Processes: ours uvicorn with {WORKERS[db]} worker(s); the peer gunicorn with 2 sync workers; "
        "wrk, the servers and PostgreSQL share the machine's cores."
    )
    load = run.find("loadavg", "machine")
    if load:
        yield (
            f"Load average when this database's run began: {' '.join(load[0]['loadavg'])} on {os.cpu_count()} cores "
            "(anything else running slows every figure). Generator: wrk for every figure (no Python client)."
        )
    yield ""
    yield "| figure | ours | peer | ratio (ours/peer) | target |"
    yield "|---|---:|---:|---:|---|"
    o_rps, p_rps = median_of(ours, "rps"), median_of(peer, "rps")
    label = f"median of {n} (min–max)" if n > 1 else "1 run"
    yield (
        f"| intake `POST`, req/s, {label} | {spread(ours, 'rps')} | {spread(peer, 'rps')} | {ratio(o_rps, p_rps)} | "
        f"{verdict(o_rps >= 10 * p_rps, '≥ 10× peer')} |"
    )
    for key, target in (("p50_ms", None), ("p95_ms", 50.0), ("p99_ms", 100.0 if db == "sqlite" else None)):
        o, p = median_of(ours, key), median_of(peer, key)
        goal = verdict(o < target, f"< {target:g} ms") if target else "—"
        yield f"| intake {key[:3]}, ms | {spread(ours, key)} | {spread(peer, key)} | {ratio(o, p)} | {goal} |"
    o_rows, o_ok = sum(r["rows"] for r in ours), sum(r["ok"] for r in ours)
    p_rows, p_ok = sum(r["rows"] for r in peer), sum(r["ok"] for r in peer)
    yield (
        f"| intake rows in the DB / acknowledged by wrk (all runs) | {o_rows:,} / {o_ok:,} | {p_rows:,} / {p_ok:,} | — "
        f"| {verdict(o_rows >= o_ok and p_rows >= p_ok, 'every acknowledgement a row')} |"
    )
    o_err = sum(r.get("non2xx", 0) + r.get("errors", 0) for r in ours)
    p_err = sum(r.get("non2xx_or_errors", 0) for r in peer)
    yield f"| intake non-2xx answers + socket errors (all runs) | {o_err:,} | {p_err:,} | — | 0 |"
    o_top = max(ours, key=lambda r: r["rss_max_mb"], default=None)
    p_top = max(peer, key=lambda r: r["rss_max_mb"], default=None)
    o_rss = o_top["rss_max_mb"] if o_top else float("nan")
    p_rss = p_top["rss_max_mb"] if p_top else float("nan")
    yield (
        f"| server RSS during intake, MB: max of the sum over its processes (each process) | {fmt(o_rss)}"
        f"{rss_parts(o_top)} | {fmt(p_rss)}{rss_parts(p_top)} | {ratio(o_rss, p_rss)} | "
        f"{verdict(o_rss < 200, '< 200 MB')} |"
    )
    raw = run.find("raw_driver", "raw")
    if raw:
        share = f"our intake = {o_rps / raw[0]['tps']:.0%} of it" if raw[0]["tps"] else "—"
        yield f"| raw-driver limit, tx/s ({raw[0]['how']}) | {fmt(raw[0]['tps'])} | — | {share} | — |"
    alone, during = run.find("list_alone", "ours"), run.find("list_while_writing", "ours")
    writing = run.find("intake_while_reading", "ours")
    if alone:
        a = alone[0]
        yield (
            f"| list `GET {LIST_PATH}` alone (demo_dispatcher, -t1 -c2): req/s; p50 / p95 / p99 ms | "
            f"{fmt(a['rps'])}; {fmt(a['p50_ms'], 1)} / {fmt(a['p95_ms'], 1)} / {fmt(a['p99_ms'], 1)} | — | — | — |"
        )
    if during:
        d = during[0]
        yield (
            f"| same list while our intake writes: req/s; p50 / p95 / p99 ms | {fmt(d['rps'])}; "
            f"{fmt(d['p50_ms'], 1)} / {fmt(d['p95_ms'], 1)} / {fmt(d['p99_ms'], 1)} | — | — | "
            f"{verdict(d['p95_ms'] < 50, 'p95 < 50 ms')} |"
        )
    if writing:
        w = writing[0]
        yield (
            f"| our intake during those reads: req/s; p95 ms; rows / acknowledged | {fmt(w['rps'])}; "
            f"{fmt(w['p95_ms'], 1)}; {w['rows']:,} / {w['ok']:,} | — | — | — |"
        )
    for action, *_ in CHAIN:
        for r in run.find(f"action_{action}", "ours"):
            if "skipped" in r:
                yield f"| action `{action}` | skipped: {r['skipped']} | — | — | — |"
                continue
            goal = verdict(r["rps"] >= 500, "≥ 500 req/s") if db == "postgresql" else "— (PostgreSQL: ≥ 500 req/s)"
            bad = (
                f"; {r['non2xx']} non-2xx {json.dumps(r.get('statuses', {}))}, {r['errors']} socket errors"
                if r["non2xx"] or r["errors"]
                else ""
            )
            yield (
                f"| action `{action}` ({r['user']}): req/s; p95 ms; events / ok | {fmt(r['rps'])}; "
                f"{fmt(r['p95_ms'], 1)}; {r['events']:,} / {r['ok']:,}{bad} | — | — | {goal} |"
            )
    yield ""
    yield (
        "Notes: the peer commits 5 times per ticket (Django autocommit), ours once per case; the bodies differ (each "
        "system's own API). Each action fires once per case on the cases the intake runs logged (their current "
        "version read just before), so a run ends early when the cases run out; `events` counts the action's rows, "
        "including the up to 8 requests still in flight when wrk stopped (never acknowledged). Rows ≥ acknowledged "
        "means no acknowledged request was lost."
    )
    yield ""
    yield (
        "Commands (run from /work/main; the reps differ only in their RUNID; the case files are written into a "
        "temporary folder, deleted at the end):"
    )
    yield ""
    yield "```"
    for name, cmd in run.commands.items():
        yield f"# {name}"
        yield cmd
    yield "```"
    for r in run.find("server_log_tail", "ours"):
        yield ""
        yield "Our server's log ended with errors:"
        yield "```"
        yield r["text"]
        yield "```"
    yield ""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", default="both", choices=["sqlite", "postgresql", "both"])
    parser.add_argument("--sqlite-workers", type=int, default=WORKERS["sqlite"], help="our uvicorn workers on SQLite")
    parser.add_argument("--reps", type=int, default=5, help="interleaved intake runs per system and database")
    parser.add_argument("--seconds", type=float, default=20, help="each intake run and each list run, s")
    parser.add_argument("--action-seconds", type=float, default=10, help="each action's run at most, s")
    parser.add_argument("--raw-seconds", type=float, default=10, help="the raw-driver loop, s")
    parser.add_argument("--warmup", type=float, default=3, help="an uncounted intake run per server first, s")
    parser.add_argument("--quick", action="store_true", help="1 rep, 5 s runs (to try it out)")
    parser.add_argument("--out", default="/tmp/bench-http.jsonl", help="JSON lines, one per measurement")
    parser.add_argument("--peer-pg-url", default="postgresql://postgres@127.0.0.1:5432/peer")
    args = parser.parse_args()
    WORKERS["sqlite"] = args.sqlite_workers
    if args.quick:
        args.reps, args.seconds, args.action_seconds, args.raw_seconds, args.warmup = 1, 5, 5, 5, 1
    dbs = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    started = time.monotonic()
    with open(args.out, "w") as out:
        env = {
            "figure": "environment",
            "nproc": os.cpu_count(),
            "loadavg_at_start": Path("/proc/loadavg").read_text().split()[:3],
            "python": platform.python_version(),
            "sqlite": sqlite3.sqlite_version,
            "wrk": subprocess.run(["wrk", "-v"], capture_output=True, text=True).stdout.splitlines()[0],
            "args": vars(args),
        }
        out.write(json.dumps(env, ensure_ascii=False) + "\n")
        log(f"load average at start: {' '.join(env['loadavg_at_start'])} on {os.cpu_count()} cores")
        runs = []
        for db in dbs:
            run = bench_database(db, args, out)
            runs.append(run)
            lines = list(table(run, args))
            out.write(
                json.dumps({"db": db, "figure": "table", "markdown": "\n".join(lines)}, ensure_ascii=False) + "\n"
            )
            print("\n".join(lines), flush=True)
    log(f"done in {time.monotonic() - started:.0f} s; JSON lines in {args.out}")


if __name__ == "__main__":
    main()
