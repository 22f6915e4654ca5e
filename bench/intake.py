"""Intake throughput: how many cases per second the service records, end to end.

Two measurements, each on SQLite and PostgreSQL:
  service  intake_case() in its own transaction per case, one process (the cost of the domain + DB);
  http     POST /api/v1/cases against a real uvicorn server, from concurrent client threads.
The bar the team set is ten times django-helpdesk's ~90 cases/s on this machine: 900/s (see bench/README.md).

Usage: .venv/bin/python bench/intake.py [--cases 2000] [--backend sqlite|postgresql|both] [--mode service|http|both]
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import httpx
from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from grievance.cases.schemas import CaseCreate  # noqa: E402
from grievance.cases.service import intake_case  # noqa: E402
from grievance.config import Settings  # noqa: E402
from grievance.db import make_engine, make_sessionmaker, transaction  # noqa: E402
from grievance.demo import seed_demo  # noqa: E402
from grievance.migrations import upgrade  # noqa: E402
from grievance.users.service import create_token, get_user  # noqa: E402
from grievance.workflow.engine import Runtime  # noqa: E402
from grievance.workflow.loader import load_workflows  # noqa: E402

PG_ADMIN = os.environ.get("GRIEVANCE_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
TITLES = [
    "小区门口路灯不亮",
    "道路破损影响通行",
    "垃圾清运不及时",
    "企业用工招聘需求",
    "噪音扰民请求处理",
    "物业纠纷请求调解",
]


def body(i: int) -> dict:
    return {
        "channel": "meeting" if i % 3 else "hotline",
        "case_type": "help",
        "title": f"{TITLES[i % len(TITLES)]}{i}",
        "description": f"青桐路{i % 200}号附近，{TITLES[(i * 7) % len(TITLES)]}，已持续{i % 9 + 1}天，请尽快处理",
        "meeting": 1 if i % 3 else None,
        "category": "010101",
        "petitioner": {"name": "测试", "phone": f"138{i:08d}"},
    }


def make_database(backend: str, workdir: Path) -> str:
    if backend == "sqlite":
        return f"sqlite:///{workdir / 'bench.db'}"
    name = f"grievance_bench_{uuid.uuid4().hex[:6]}"
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name} TEMPLATE template0 ENCODING 'UTF8' LOCALE 'C.UTF-8'"))
    admin.dispose()
    return PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"


def drop_database(url: str) -> None:
    if url.startswith("postgresql"):
        admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {url.rsplit('/', 1)[1]} WITH (FORCE)"))
        admin.dispose()


def prepare(url: str, workdir: Path) -> Settings:
    settings = Settings(database_url=url, data_dir=workdir / "data")
    engine = make_engine(url)
    upgrade(engine)
    with transaction(make_sessionmaker(engine)) as session, open(os.devnull, "w") as quiet:
        seed_demo(session, settings, if_empty=False, out=quiet)
    engine.dispose()
    return settings


def bench_service(settings: Settings, cases: int) -> float:
    engine = make_engine(settings.database_url)
    sessions = make_sessionmaker(engine)
    runtime = Runtime(settings=settings, workflows=load_workflows(settings.workflows_dir))
    with transaction(sessions) as session:
        actor = get_user(session, "demo_intake")
    payloads = [CaseCreate.model_validate(body(i)) for i in range(cases)]
    start = time.perf_counter()
    for case_in in payloads:
        with transaction(sessions) as session:
            intake_case(session, runtime, case_in=case_in, actor=actor)
    elapsed = time.perf_counter() - start
    engine.dispose()
    return cases / elapsed


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def bench_http(settings: Settings, cases: int, workers: int, clients: int) -> tuple[float, float]:
    with transaction(make_sessionmaker(make_engine(settings.database_url))) as session:
        token = create_token(session, get_user(session, "demo_intake"))
    port = free_port()
    env = {**os.environ, "GRIEVANCE_DATABASE_URL": settings.database_url, "GRIEVANCE_DATA_DIR": str(settings.data_dir)}
    server = subprocess.Popen(
        [
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
        ],
        cwd=ROOT,
        env=env,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                if httpx.get(f"{base}/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        latencies: list[float] = []
        lock = threading.Lock()
        counter = iter(range(cases))

        def client_loop() -> None:
            with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=30) as http:
                while True:
                    with lock:
                        i = next(counter, None)
                    if i is None:
                        return
                    t0 = time.perf_counter()
                    r = http.post("/api/v1/cases", json=body(i))
                    r.raise_for_status()
                    with lock:
                        latencies.append(time.perf_counter() - t0)

        threads = [threading.Thread(target=client_loop) for _ in range(clients)]
        start = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - start
        return cases / elapsed, statistics.quantiles(latencies, n=100)[94] * 1000
    finally:
        server.terminate()
        server.wait(10)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=2000)
    parser.add_argument("--backend", default="both", choices=["sqlite", "postgresql", "both"])
    parser.add_argument("--mode", default="both", choices=["service", "http", "both"])
    parser.add_argument("--workers", type=int, default=2, help="uvicorn worker processes (http mode)")
    parser.add_argument("--clients", type=int, default=8, help="concurrent client threads (http mode)")
    args = parser.parse_args()
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    for backend in backends:
        for mode in ["service", "http"] if args.mode == "both" else [args.mode]:
            with tempfile.TemporaryDirectory() as tmp:
                url = make_database(backend, Path(tmp))
                try:
                    settings = prepare(url, Path(tmp))
                    if mode == "service":
                        rate = bench_service(settings, args.cases)
                        print(f"{backend:<10} service  {args.cases} cases: {rate:7.0f} cases/s")
                    else:
                        workers = 1 if backend == "sqlite" else args.workers
                        rate, p95 = bench_http(settings, args.cases, workers, args.clients)
                        print(
                            f"{backend:<10} http     {args.cases} cases, {workers} worker(s), {args.clients} clients: "
                            f"{rate:7.0f} cases/s, p95 {p95:.1f} ms"
                        )
                finally:
                    drop_database(url)


if __name__ == "__main__":
    main()
