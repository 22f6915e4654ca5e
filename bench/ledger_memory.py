"""Ledger import memory: whether importing an office's ledger (台账) of 100,000 rows runs in bounded memory.

It writes a realistic ledger (CSV or XLSX: a title row, Chinese headers, open and resolved cases with callbacks,
extensions, reopened and merged cases, every department and category of the demo, a 合计 row) and runs the
real CLI, `.venv/bin/grievance import FILE [--dry-run]`, as a subprocess under `/usr/bin/time -v` against a
fresh copy of a database holding the demo (a SQLite file, or a PostgreSQL database it creates and drops).
For each size it reports the peak RSS (/usr/bin/time's maximum resident set size), the RSS at the CLI's first
progress line (the first 500 cases inserted: the first pass, checking and replaying the file into a temporary
file, is done then), the wall time, the time from that line to the exit (mostly the write transaction), the rows
the CLI reports and the cases and events found in the database afterwards, for the dry run and the real import;
then the growth of the peak per 1,000 rows. Bounded memory shows a flat peak. Measured 2026-12-01 (SQLite, CSV):
before the streaming import, linear, 387 MB at 20,000 rows and 1.6 GB at 100,000 (about 15 KB per row); with it,
96 MB and 113 MB (about 0.2 KB per row: the file's case numbers), at the same speed.

`--profile ROWS` instead runs the CLI's steps in this process (read_ledger on the file's path, then
import_ledger's read-only first pass spilling to its temporary file, and its write transaction) under
tracemalloc (one frame per trace) and prints where the memory is: traced MB held and peak after each phase, the
size of the temporary file, the top 10 allocating lines still held after the first pass (what the import keeps
per row), and what each of those structures holds (the traced memory freed when it is dropped). 20,000 rows take
about 3.5 minutes (tracemalloc slows the replay ~4x).

The CLI is run as the repository's own .venv/bin/grievance, with GRIEVANCE_LEDGER_MAX_ROWS raised past the
largest size (the default cap is 20,000 rows). Each run is killed after --timeout seconds.

Usage: .venv/bin/python bench/ledger_memory.py [--rows 10000 50000 100000] [--backend sqlite|postgresql|both]
           [--format csv|xlsx] [--timeout 900] [--keep-files]
       .venv/bin/python bench/ledger_memory.py --profile 20000 [--backend sqlite|postgresql]
"""

from __future__ import annotations

import argparse
import csv
import gc
import os
import random
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import tracemalloc
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from intake import PG_ADMIN, drop_database, make_database, prepare  # noqa: E402

from grievance import demo_year  # noqa: E402
from grievance.demo import DEPARTMENTS  # noqa: E402

CLI = ROOT / ".venv" / "bin" / "grievance"
TIME = Path("/usr/bin/time")
PREFIX = "TZ"  # not the service's own GX: the import leaves the case-number counter alone
DEFAULT_ROWS = [10_000, 50_000, 100_000]

HEADER = [
    "序号",
    "工单编号",
    "登记时间",
    "渠道",
    "类型",
    "紧急程度",
    "诉求标题",
    "诉求内容",
    "诉求人",
    "联系电话",
    "企业名称",
    "统一社会信用代码",
    "城市驿站",
    "恳谈会日期",
    "恳谈会名称",
    "业务分类",
    "承办单位",
    "被举报单位",
    "派单时间",
    "签收时间",
    "响应时间",
    "办结时限",
    "延期后时限",
    "办结时间",
    "办理结果",
    "答复内容",
    "回访时间",
    "是否联系到",
    "是否解决",
    "满意度",
    "重办时间",
    "归档时间",
    "合并到",
    "备注",
]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程魏苏吕丁任沈姚卢"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红建国志文辉鹏飞宇浩然子轩欣怡梓涵雨桐"
MOBILE = [f"13{d}" for d in range(10)] + [f"15{d}" for d in "0123789"] + [f"18{d}" for d in range(10)]
PLACES = ["青桐路", "白沙大道", "科创一路", "光谷二路", "高新大道", "青年路", "沙湖路", "东湖路", "长江路", "汉阳街"]
SITES = ["小区", "号楼", "菜市场", "公交站", "学校门口", "十字路口", "停车场", "商业街", "工地", "公园"]
DETAILS = [
    "多次反映未果",
    "影响周边居民正常生活",
    "夜间尤为严重",
    "老人小孩出行不便",
    "已向物业反映，物业称无权处理",
    "雨天积水更加严重",
    "存在安全隐患",
    "周边商户意见较大",
    "此前12345已受理过类似诉求",
    "希望尽快派人到现场查看",
]
REPLIES = [
    "已安排人员到现场核实处理，问题已解决",
    "已联系相关单位维修，并电话告知诉求人处理结果",
    "经核实，诉求人反映情况属实，已责令整改完毕",
    "已向诉求人解释相关政策规定，诉求人表示理解",
    "经调解，双方达成一致意见，签订调解协议",
    "该事项不属于本单位职责，已告知诉求人向有关部门反映",
    "已纳入年度计划，预计下月完成施工",
]
NOTES = ["群众反映较急", "重复来电", "领导批示件", "媒体关注", "已电话回访", "涉及多个部门"]
CHANNEL_WORDS = {
    "hotline": ["12345热线", "电话", "12345", "来电"],
    "online": ["网络", "网上留言", "微信"],
    "walk_in": ["走访", "来访"],
    "letter": ["来信", "信件"],
    "mobile_desk": ["流动办公桌", "流动服务"],
    "station": ["城市驿站"],
    "meeting": ["阳光恳谈会"],
    "enterprise": ["企业包保"],
}
TYPE_WORDS = {
    "help": "求助",
    "consult": "咨询",
    "complaint": "投诉",
    "suggestion": "建议",
    "dispute": "矛盾纠纷",
    "report": "举报",
    "praise": "表扬",
    "petition": "信访",
}


# --- the reference data a ledger names (the demo's) -----------------------------------------------------------


@dataclass
class Reference:
    """What the rows refer to, as the demo loads it: departments (code, name, routing of a top category),
    category leaves (code, name, path of names, the department of its top), stations, meetings, enterprises."""

    departments: list[tuple[str, str]]
    leaves: list[tuple[str, str, str, str | None]]
    unique_leaf_names: set[str]
    stations: list[tuple[str, str]]
    meetings: list[tuple[date, str]]
    enterprises: list[tuple[str, str]]

    @classmethod
    def demo(cls) -> Reference:
        tree = yaml.safe_load((ROOT / "config" / "categories.yaml").read_text(encoding="utf-8"))
        leaves: list[tuple[str, str, str, str | None]] = []

        def walk(nodes: list[dict[str, Any]], path: list[str], department: str | None) -> None:
            for node in nodes:
                here = [*path, node["name"]]
                owner = node.get("department", department)
                if node.get("children"):
                    walk(node["children"], here, owner)
                else:
                    leaves.append((str(node["code"]), node["name"], "/".join(here), owner))

        walk(tree, [], None)
        names = [name for _code, name, _path, _dept in leaves]
        zone = demo_year.zone()
        return cls(
            departments=[(code, name) for code, name, _parent in DEPARTMENTS],
            leaves=leaves,
            unique_leaf_names={n for n in names if names.count(n) == 1},
            stations=[(code, name) for code, name, *_rest in zone.stations],
            meetings=[(day, title) for day, title, *_rest in zone.meetings],
            enterprises=[(name, code) for name, code, _large in zone.enterprises],
        )


# --- the ledger ------------------------------------------------------------------------------------------------


@dataclass
class _Row:
    cells: dict[str, str] = field(default_factory=dict)

    def __setitem__(self, key: str, value: str) -> None:
        self.cells[key] = value


def _time(rng: random.Random, moment: datetime) -> str:
    """A local time as offices write it: mostly ISO, some in Excel's slash form (2025/3/5 9:05)."""
    if rng.random() < 0.3:
        return f"{moment.year}/{moment.month}/{moment.day} {moment.hour}:{moment.minute:02d}"
    return moment.strftime("%Y-%m-%d %H:%M")


def _phone(rng: random.Random) -> str:
    form = rng.random()
    if form < 0.03:
        return f"027-{rng.randrange(8, 9)}{rng.randrange(10**6):06d}{rng.randrange(10)}"  # a Wuhan landline
    if form < 0.04:
        return rng.choice(["无", "不详", "同上"])  # kept as written, with a warning
    digits = f"{rng.choice(MOBILE)}{rng.randrange(10**8):08d}"
    if form < 0.15:
        return f"{digits[:3]}-{digits[3:7]}-{digits[7:]}"
    if form < 0.25:
        return f"+86 {digits}"
    if form < 0.3:
        return f"{digits[:3]} {digits[3:7]} {digits[7:]}"
    return digits


def ledger_rows(n: int, ref: Reference, seed: int = 20261201) -> Iterator[list[str]]:
    """The title row, a blank row, the header, `n` case rows and a 合计 row, as lists of cell texts.

    The cases, by shape (fractions of n): 4 % received only; 6 % dispatched; 6 % accepted and responded;
    3 % extended (due times given); 4 % answered on the spot; 3 % resolved, called back unsatisfied and
    reopened; 2 % merged into an earlier case; the rest (~72 %) resolved, most called back (some answers
    without 回访时间 or 是否联系到, inferred), some without 签收/响应 (inferred), about half of them closed.
    Received between 2024-01-01 and 2026-09-30, every time after it within 40 days."""
    rng = random.Random(seed)
    yield ["高新区2024—2026年诉求办理台账（12345、来访、驿站、恳谈会、企业包保）"] + [""] * (len(HEADER) - 1)
    yield [""] * len(HEADER)
    yield HEADER
    start = datetime(2024, 1, 1, 8)
    span_days = (datetime(2026, 9, 30) - start).days
    mergeable: list[str] = []  # case numbers of earlier plain rows, targets of duplicates
    dept_names = dict(ref.departments)
    for i in range(1, n + 1):
        r = _Row({name: "" for name in HEADER})
        received = start + timedelta(days=rng.randrange(span_days), minutes=rng.randrange(10 * 60))
        case_no = f"{PREFIX}-{received.year}-{i:06d}"
        shape = rng.random()
        channel = rng.choices(
            ["hotline", "online", "walk_in", "letter", "mobile_desk", "station", "meeting", "enterprise"],
            [40, 15, 10, 5, 3, 10, 7, 10],
        )[0]
        case_type = rng.choices(
            ["help", "consult", "complaint", "suggestion", "dispute", "report", "praise", "petition"],
            [33, 20, 15, 7, 10, 5, 2, 8],
        )[0]
        merged = 0.30 <= shape < 0.32 and mergeable
        if case_type == "petition" and (0.20 <= shape < 0.32 or channel == "enterprise"):
            case_type = "help"  # 信访 has no on-the-spot answer, reopening or merge; enterprises have their own
        code, leaf, path, owner = rng.choice(ref.leaves)
        if channel == "enterprise":
            code, leaf, path, owner = rng.choice([x for x in ref.leaves if x[0].startswith("02")])
            name, credit = rng.choice(ref.enterprises)
            r["企业名称"], r["统一社会信用代码"] = name, credit
        elif channel == "station":
            r["城市驿站"] = rng.choice(ref.stations)[rng.randrange(2)]
        elif channel == "meeting":
            day, title = rng.choice(ref.meetings)
            r["恳谈会日期"], r["恳谈会名称"] = day.isoformat(), title
            received = datetime(day.year, day.month, day.day, 9) + timedelta(minutes=rng.randrange(150))
            case_no = f"{PREFIX}-{received.year}-{i:06d}"
        pick = rng.random()
        r["业务分类"] = code if pick < 0.4 else (leaf if pick < 0.8 and leaf in ref.unique_leaf_names else path)
        place = f"{rng.choice(PLACES)}{rng.randrange(1, 300)}号{rng.choice(SITES)}"
        r["序号"] = str(i)
        r["工单编号"] = case_no
        r["登记时间"] = _time(rng, received)
        r["渠道"] = rng.choice(CHANNEL_WORDS[channel])
        r["类型"] = TYPE_WORDS[case_type]
        r["紧急程度"] = rng.choices(["一般", "", "紧急", "特急"], [60, 25, 12, 3])[0]
        r["诉求标题"] = rng.choice([f"{place}{leaf}问题", f"关于{place}{leaf}的诉求", f"反映{place}{leaf}"])
        r["诉求内容"] = (
            f"诉求人反映：{place}附近{leaf}问题已持续{rng.randrange(1, 60)}天，{rng.choice(DETAILS)}，"
            f"{rng.choice(DETAILS)}，希望相关部门尽快核实处理并给予答复。"
        )
        r["诉求人"] = rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))
        r["联系电话"] = _phone(rng)
        if rng.random() < 0.08:
            r["备注"] = rng.choice(NOTES)
        department = owner if owner and rng.random() < 0.8 else rng.choice(ref.departments)[0]
        handler = dept_names[department] if rng.random() < 0.7 else department
        if case_type == "report":
            accused = rng.choice([c for c, _n in ref.departments if c not in (department, "ZX")])
            r["被举报单位"] = dept_names[accused] if rng.random() < 0.5 else accused
        if merged:
            r["合并到"] = rng.choice(mergeable[-200:])
            if rng.random() < 0.5:
                r["归档时间"] = _time(rng, received + timedelta(hours=rng.randrange(1, 8)))
            yield [r.cells[name] for name in HEADER]
            continue
        if shape < 0.04:  # received only
            yield [r.cells[name] for name in HEADER]
            continue
        if 0.20 <= shape < 0.24 and case_type in ("consult", "help", "suggestion", "praise"):  # answered on the spot
            r["办理结果"] = "当场答复"
            r["办结时间"] = _time(rng, received + timedelta(minutes=rng.randrange(5, 40)))
            r["答复内容"] = "已当场向诉求人解释说明相关政策"
            yield [r.cells[name] for name in HEADER]
            continue
        r["承办单位"] = handler
        dispatched = received + timedelta(minutes=rng.randrange(20, 240))
        if rng.random() < 0.85:
            r["派单时间"] = _time(rng, dispatched)
        if shape < 0.10:  # dispatched, not yet taken up
            yield [r.cells[name] for name in HEADER]
            continue
        accepted = dispatched + timedelta(minutes=rng.randrange(30, 20 * 60))
        responded = accepted + timedelta(minutes=rng.randrange(30, 24 * 60))
        resolved = responded + timedelta(hours=rng.randrange(4, 10 * 24))
        skip_stages = rng.random() < 0.2  # a resolved row without 签收/响应: inferred at the resolve time
        if not skip_stages or shape < 0.19:
            r["签收时间"] = _time(rng, accepted)
            r["响应时间"] = _time(rng, responded)
        if shape < 0.16:  # accepted and responded, in hand
            yield [r.cells[name] for name in HEADER]
            continue
        if shape < 0.19:  # extended, in hand
            due = received + timedelta(days=15)
            r["办结时限"] = _time(rng, due)
            r["延期后时限"] = _time(rng, due + timedelta(days=rng.randrange(3, 11)))
            yield [r.cells[name] for name in HEADER]
            continue
        r["办结时间"] = _time(rng, resolved)
        if case_type == "dispute":
            r["办理结果"] = rng.choices(["已化解", "未化解"], [9, 1])[0]
        else:
            r["办理结果"] = rng.choices(["已解决", "已解释说明", "不予支持", ""], [70, 20, 5, 5])[0]
        if rng.random() < 0.9:
            r["答复内容"] = rng.choice(REPLIES)
        callback = resolved + timedelta(hours=rng.randrange(2, 72))
        if 0.24 <= shape < 0.27:  # called back unsatisfied, reopened
            r["回访时间"] = _time(rng, callback)
            r["是否联系到"], r["是否解决"], r["满意度"] = "是", "否", "不满意"
            r["重办时间"] = _time(rng, callback + timedelta(hours=rng.randrange(2, 48)))
            yield [r.cells[name] for name in HEADER]
            continue
        answer = rng.random()
        reached = False
        if answer < 0.70:  # a full callback
            r["回访时间"] = _time(rng, callback)
            reached = rng.random() < 0.92
            r["是否联系到"] = "是" if reached else "否"
            if reached:
                r["是否解决"] = rng.choices(["是", "否"], [88, 12])[0]
                r["满意度"] = rng.choices(["满意", "基本满意", "不满意"], [70, 22, 8])[0]
        elif answer < 0.85:  # answers without 回访时间 (and sometimes without 是否联系到): inferred
            reached = True
            r["是否联系到"] = "是" if rng.random() < 0.5 else ""
            r["满意度"] = rng.choices(["满意", "基本满意"], [3, 1])[0]
        if reached and rng.random() < 0.6:
            r["归档时间"] = _time(rng, callback + timedelta(hours=rng.randrange(1, 48)))
        if case_type != "petition":
            mergeable.append(case_no)
        yield [r.cells[name] for name in HEADER]
    yield ["", "合计", f"{n} 件"] + [""] * (len(HEADER) - 3)


def write_ledger(path: Path, n: int, ref: Reference) -> float:
    """Write the ledger of `n` rows to `path` (.csv in UTF-8 with BOM, or .xlsx); returns its size in MB."""
    if path.suffix == ".csv":
        with path.open("w", encoding="utf-8-sig", newline="") as out:
            csv.writer(out).writerows(ledger_rows(n, ref))
    else:
        from openpyxl import Workbook

        book = Workbook(write_only=True)
        sheet = book.create_sheet("台账")
        for row in ledger_rows(n, ref):
            sheet.append(row)
        book.save(path)
    return path.stat().st_size / 1e6


# --- databases -------------------------------------------------------------------------------------------------


def seed(backend: str, workdir: Path) -> str:
    """A database of this backend holding the demo (bench/intake.py's prepare); returns its URL."""
    url = make_database(backend, workdir)
    prepare(url, workdir)
    return url


def clone(backend: str, seeded: str, workdir: Path, name: str) -> str:
    """A fresh copy of the seeded database: a copy of the SQLite file, or a PostgreSQL database made from it
    as a template."""
    if backend == "sqlite":
        target = workdir / f"{name}.db"
        source = sqlite3.connect(seeded.removeprefix("sqlite:///"))
        copy = sqlite3.connect(target)
        source.backup(copy)
        copy.close()
        source.close()
        return f"sqlite:///{target}"
    db = f"grievance_ledger_{uuid.uuid4().hex[:6]}"
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {db} TEMPLATE {seeded.rsplit('/', 1)[1]}"))
    admin.dispose()
    return PG_ADMIN.rsplit("/", 1)[0] + f"/{db}"


def discard(url: str) -> None:
    if url.startswith("sqlite"):
        for suffix in ("", "-wal", "-shm"):
            Path(url.removeprefix("sqlite:///") + suffix).unlink(missing_ok=True)
    else:
        drop_database(url)


def imported_counts(url: str) -> tuple[int, int]:
    """(cases, events) of the ledger's case numbers in the database."""
    engine = create_engine(url)
    with engine.connect() as conn:
        cases = conn.execute(text(f"SELECT count(*) FROM cases WHERE case_no LIKE '{PREFIX}-%'")).scalar_one()
        events = conn.execute(
            text(
                f"SELECT count(*) FROM case_events e JOIN cases c ON c.id = e.case_id WHERE c.case_no LIKE '{PREFIX}-%'"
            )
        ).scalar_one()
    engine.dispose()
    return cases, events


# --- one measured run ------------------------------------------------------------------------------------------


@dataclass
class Run:
    backend: str
    fmt: str
    rows: int
    mode: str
    file_mb: float
    exit_code: int = 0
    peak_mb: float = 0.0  # /usr/bin/time's maximum resident set size
    before_write_mb: float | None = None  # RSS at the first progress line (first 500 cases inserted)
    wall_s: float = 0.0
    write_s: float | None = None  # from the first progress line to the process's exit
    imported: int | None = None  # the CLI's own count (would import / imported)
    in_db: tuple[int, int] | None = None  # (cases, events) found afterwards
    error: str = ""


def _rss_kb(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def _child_of(pid: int) -> int | None:
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return None
    return int(children[0]) if children else None


def measure(url: str, data_dir: Path, ledger: Path, run: Run, max_rows: int, timeout: float) -> Run:
    """Run `grievance import LEDGER [--dry-run]` under /usr/bin/time -v; fills in `run`. The CLI's stderr is
    read as it comes: its first progress line (printed once the first 500 cases are inserted) marks the write
    transaction, and the RSS sampled (every 50 ms) then is that of the checked and replayed ledger."""
    env = {
        **os.environ,
        "GRIEVANCE_DATABASE_URL": url,
        "GRIEVANCE_DATA_DIR": str(data_dir),
        "GRIEVANCE_LEDGER_MAX_ROWS": str(max_rows),
        "GRIEVANCE_LEDGER_MAX_BYTES": str(2 * 1024**3),
    }
    report = ledger.with_suffix(".time")
    command = [str(CLI), "import", str(ledger)] + (["--dry-run"] if run.mode == "dry run" else [])
    command = [str(TIME), "-v", "-o", str(report), *command]
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    marks: dict[str, float] = {}
    samples: list[tuple[float, int]] = []
    err_chunks: list[bytes] = []

    def read_stderr() -> None:
        assert process.stderr is not None
        while chunk := process.stderr.read1(4096):  # type: ignore[attr-defined]
            err_chunks.append(chunk)
            if "write" not in marks and "导入中".encode() in b"".join(err_chunks[-2:]):  # a read may split it
                marks["write"] = time.perf_counter()

    def sample() -> None:
        child = None
        while process.poll() is None:
            child = child or _child_of(process.pid)
            if child is not None and (kb := _rss_kb(child)) is not None:
                samples.append((time.perf_counter(), kb))
            time.sleep(0.05)

    threads = [threading.Thread(target=read_stderr, daemon=True), threading.Thread(target=sample, daemon=True)]
    for t in threads:
        t.start()
    try:
        out, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()  # /usr/bin/time; its child is killed with the same group below
        child = _child_of(process.pid)
        if child:
            os.kill(child, 9)
        out, _ = process.communicate()
        run.error = f"timed out after {timeout:.0f} s"
    for t in threads:
        t.join(timeout=5)
    ended = time.perf_counter()
    run.exit_code = process.returncode
    stdout = out.decode("utf-8", "replace")
    stderr = b"".join(err_chunks).decode("utf-8", "replace")
    timing = report.read_text() if report.exists() else ""
    report.unlink(missing_ok=True)
    if m := re.search(r"Maximum resident set size \(kbytes\): (\d+)", timing):
        run.peak_mb = int(m.group(1)) / 1024
    if m := re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (?:(\d+):)?(\d+):([\d.]+)", timing):
        run.wall_s = int(m.group(1) or 0) * 3600 + int(m.group(2)) * 60 + float(m.group(3))
    else:
        run.wall_s = ended - started
    if m := re.search(r"(?:将导入|已导入) \((?:would import|imported)\) (\d+) 件", stdout):
        run.imported = int(m.group(1))
    if "write" in marks:
        run.write_s = ended - marks["write"]
        before = [kb for at, kb in samples if at <= marks["write"]]
        run.before_write_mb = before[-1] / 1024 if before else None
    if run.exit_code != 0 and not run.error:
        run.error = (stderr.strip().splitlines() or ["?"])[-1][:300]
    return run


# --- the table -------------------------------------------------------------------------------------------------


def table(runs: list[Run]) -> str:
    lines = [
        "| backend | format | rows | file MB | mode | imported | in db (cases / events) | peak RSS MB "
        "| RSS at 1st write MB | wall s | 1st write to exit s |",
        "|---|---|---:|---:|---|---:|---|---:|---:|---:|---:|",
    ]
    for r in runs:
        in_db = f"{r.in_db[0]:,} / {r.in_db[1]:,}" if r.in_db else "—"
        lines.append(
            f"| {r.backend} | {r.fmt} | {r.rows:,} | {r.file_mb:.1f} | {r.mode} | "
            f"{'—' if r.imported is None else f'{r.imported:,}'} | {in_db} | {r.peak_mb:,.0f} | "
            f"{'—' if r.before_write_mb is None else f'{r.before_write_mb:,.0f}'} | {r.wall_s:.1f} | "
            f"{'—' if r.write_s is None else f'{r.write_s:.1f}'} |" + (f" **{r.error}**" if r.error else "")
        )
    return "\n".join(lines)


def slopes(runs: list[Run]) -> list[str]:
    """Peak RSS growth per 1,000 rows between the smallest and largest size of each (backend, format, mode)."""
    out = []
    groups: dict[tuple[str, str, str], list[Run]] = {}
    for r in runs:
        if not r.error:
            groups.setdefault((r.backend, r.fmt, r.mode), []).append(r)
    for (backend, fmt, mode), items in groups.items():
        items.sort(key=lambda r: r.rows)
        if len(items) < 2:
            continue
        low, high = items[0], items[-1]
        per_k = (high.peak_mb - low.peak_mb) / ((high.rows - low.rows) / 1000)
        out.append(
            f"{backend} {fmt} {mode}: peak RSS {low.peak_mb:,.0f} MB at {low.rows:,} rows -> {high.peak_mb:,.0f} MB "
            f"at {high.rows:,}: {per_k:.1f} MB per 1,000 rows (~{per_k * 1024 / 1000:.0f} KB per row)"
        )
    return out


def bench(backends: list[str], sizes: list[int], fmt: str, timeout: float, keep_files: bool) -> None:
    ref = Reference.demo()
    workdir = Path(tempfile.mkdtemp(prefix="ledger_memory_"))
    files: dict[int, tuple[Path, float]] = {}
    runs: list[Run] = []
    try:
        for n in sizes:
            path = workdir / f"ledger_{n}.{fmt}"
            started = time.perf_counter()
            files[n] = (path, write_ledger(path, n, ref))
            print(f"# wrote {path.name}: {files[n][1]:.1f} MB in {time.perf_counter() - started:.1f} s", flush=True)
        for backend in backends:
            started = time.perf_counter()
            seeded = seed(backend, workdir / backend if backend == "sqlite" else workdir)
            print(f"# {backend}: demo loaded in {time.perf_counter() - started:.0f} s", flush=True)
            try:
                for n in sizes:
                    path, size = files[n]
                    url = clone(backend, seeded, workdir, f"run_{n}")
                    try:
                        for mode in ("dry run", "import"):
                            run = measure(
                                url, workdir / "data", path, Run(backend, fmt, n, mode, size), max(sizes) + 100, timeout
                            )
                            if mode == "import" and not run.error:
                                run.in_db = imported_counts(url)
                            runs.append(run)
                            print(table([run]).splitlines()[-1], flush=True)
                    finally:
                        discard(url)
            finally:
                discard(seeded)
    finally:
        if keep_files:
            print(f"# files kept in {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    print()
    print(table(runs))
    print()
    for line in slopes(runs):
        print(f"- {line}")


# --- the in-process profile ------------------------------------------------------------------------------------


def _mb(n: float) -> str:
    return f"{n / 1e6:,.1f} MB"


def _top(snapshot: tracemalloc.Snapshot, title: str, limit: int = 10) -> None:
    print(f"\n{title}: top {limit} by allocating line")
    for s in snapshot.statistics("lineno")[:limit]:
        frame = s.traceback[0]
        where = frame.filename.split("/work/main/")[-1].split("site-packages/")[-1]
        print(
            f"  {_mb(s.size):>10}  {s.count:>10,} blocks  {s.size / max(s.count, 1):>5.0f} B each  {where}:{frame.lineno}"
        )


def _freed(label: str, drop: Any, n: int) -> None:
    """Run `drop` (which lets go of one structure) and print what tracemalloc saw freed: the memory held by
    that structure alone."""
    before = tracemalloc.get_traced_memory()[0]
    drop()
    gc.collect()
    freed = before - tracemalloc.get_traced_memory()[0]
    print(f"  {_mb(freed):>10}  {freed / n / 1e3:>5.1f} KB per row  {label}")


def profile(backend: str, n: int) -> None:
    """The CLI's import (cli.cmd_import: read_ledger on the file's path, then import_ledger's read-only first
    pass, spilling the replayed cases, and its write transaction) in this process under tracemalloc (one frame
    per trace): traced MB held and peak after each phase, the top allocations by line still held once the first
    pass is done (what the import keeps per row), and what each of those structures holds (freed when dropped)."""
    from grievance.config import Settings
    from grievance.db import make_engine, make_sessionmaker, read_only, transaction
    from grievance.ledger.importer import prepare_import, read_ledger, spill_directory, write_import
    from grievance.ledger.spill import Spill
    from grievance.workflow.engine import Runtime
    from grievance.workflow.loader import load_workflows

    workdir = Path(tempfile.mkdtemp(prefix="ledger_profile_"))
    seeded = url = ""
    try:
        path = workdir / f"ledger_{n}.csv"
        write_ledger(path, n, Reference.demo())
        seeded = seed(backend, workdir)
        url = clone(backend, seeded, workdir, "profile")
        settings = Settings(database_url=url, data_dir=workdir / "data", ledger_max_rows=n + 100)
        engine = make_engine(url)
        sessions = make_sessionmaker(engine)
        runtime = Runtime(settings=settings, workflows=load_workflows(settings.workflows_dir))
        gc.collect()
        tracemalloc.start(1)
        base = tracemalloc.get_traced_memory()[0]
        started = time.perf_counter()

        def phase(label: str) -> None:
            current, peak = tracemalloc.get_traced_memory()
            print(
                f"{label:<44} held {_mb(current - base):>10} ({(current - base) / n / 1e3:4.2f} KB per row)  "
                f"peak {_mb(peak - base):>10}  at {time.perf_counter() - started:.0f} s",
                flush=True,
            )

        print(f"{n:,} rows, {backend}, tracemalloc on (1 frame)")
        ledger = read_ledger(path.name, path, max_rows=settings.ledger_max_rows)
        phase("read_ledger (the header; rows streamed)")
        with Spill(spill_directory(runtime)) as spill:
            with read_only(sessions) as session:
                prepared = prepare_import(session, runtime, ledger, spill=spill)
            phase("+ prepare_import (check, replay, spill)")
            size = spill.file.tell() if spill.file is not None else 0
            print(f"  spilled {spill.rows:,} cases in {spill.batches} batches: {_mb(size)} on disk")
            held = tracemalloc.take_snapshot().filter_traces([tracemalloc.Filter(False, tracemalloc.__file__)])
            tracemalloc.reset_peak()
            with transaction(sessions) as session:
                write_import(session, runtime, prepared)
            phase("+ write_import (committed)")
        print(f"imported {prepared.plan.created:,} cases")
        _top(held, "held after the first pass (what the import keeps per row)")
        del held
        print("\nwhat each structure holds (traced memory freed when it is dropped, in this order):")
        _freed("Prepared.seen (case number -> row)", lambda: prepared.seen.clear(), n)
        _freed("Prepared.existing (numbers already there)", lambda: prepared.existing.clear(), n)
        _freed("Plan.warnings (the rows of each warning)", lambda: prepared.plan.warnings.clear(), n)
        phase("left after dropping all of it")
        tracemalloc.stop()
        engine.dispose()
    finally:
        if url:
            discard(url)
        if seeded:
            discard(seeded)
        shutil.rmtree(workdir, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, nargs="+", default=DEFAULT_ROWS)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="sqlite")
    parser.add_argument("--format", choices=["csv", "xlsx"], default="csv")
    parser.add_argument("--timeout", type=float, default=900, help="seconds one CLI run may take")
    parser.add_argument("--keep-files", action="store_true", help="keep the ledgers written (printed folder)")
    parser.add_argument("--profile", type=int, metavar="ROWS", help="profile one in-process import of ROWS rows")
    args = parser.parse_args()
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    if args.profile:
        profile(backends[0], args.profile)
        return
    if not TIME.exists():
        sys.exit("/usr/bin/time is missing: apt-get install -y time")
    bench(backends, sorted(args.rows), args.format, args.timeout, args.keep_files)


if __name__ == "__main__":
    main()
