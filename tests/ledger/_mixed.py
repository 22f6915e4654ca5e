"""A mixed ledger for the tests of the streaming import (tests/ledger/test_import_streaming.py), and a canonical
picture of everything an import writes, comparable across runs and databases.

The ledger mixes every shape the importer handles, spread over several chunks: title, blank, 小计, 合计 and
footer rows; an ignored column and an unnamed one; references found by code, by name and by path, and new ones
of every kind (departments with and without a usable code, a station, a meeting, enterprises, categories);
cases received only, dispatched (with and without 派单时间), in hand, extended, answered on the spot, resolved
with and without 签收/响应, called back (with inferred answers and times), reopened, closed, merged into an
earlier case, a later one, and one already in the database; reports with and without an accused department;
petitions; the template's example row; numbers in the service's own pattern (the year counters advance).

`snapshot` reads every row the import wrote with its ids replaced by natural keys (case numbers, codes,
usernames), without the columns the clock or chance fills (recorded_at, query_code, enterprises.created_at).
"""

from __future__ import annotations

import hashlib
import json
import random
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from grievance.cases.models import Case, CaseClock, CaseEvent, CaseNumberCounter, CaseState
from grievance.db import transaction
from grievance.identifiers import with_credit_check_digit
from grievance.ledger.template import EXAMPLE_CASE_NO
from grievance.reference.models import Category, Department, Enterprise, Meeting, Station
from grievance.users.models import User
from tests.factories import World
from tests.ledger._support import csv_bytes

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
    "经办人",  # not a ledger column: ignored
    "",  # no header, some values: ignored
]
DEPARTMENTS = [
    ("CGJ", "城市管理局"),
    ("QFJ", "企业服务局"),
    ("JD1", "青桐街道"),
    ("新区建设局", "新区建设局"),
    ("WSJ", "WSJ"),
]
STATIONS = ["ZS01", "青桐驿站", "白沙驿站"]
MEETINGS = [("2025-09-28", "第一期阳光恳谈会"), ("2025-06-12", "第二期阳光恳谈会")]
ENTERPRISES = [
    ("云帆光电科技有限公司", "91420100MA4K00001U"),
    ("星河新材料有限公司", with_credit_check_digit("91420100MA4K90001")),
    ("青桐精密制造有限公司", with_credit_check_digit("91420100MA4K90002")),
]
CATEGORIES = ["010101", "路灯照明", "城市管理/市容环境/占道经营", "城市管理/市政设施/窨井盖", "社会事务/教育/入学咨询"]
CHANNELS = {
    "hotline": ["12345热线", "电话", "12345"],
    "online": ["网络", "网上留言"],
    "walk_in": ["走访", "来访"],
    "station": ["城市驿站"],
    "meeting": ["阳光恳谈会"],
    "enterprise": ["企业包保"],
}
TYPES = {
    "help": "求助",
    "consult": "咨询",
    "complaint": "投诉",
    "dispute": "矛盾纠纷",
    "report": "举报",
    "petition": "信访",
}
PRE_IMPORTED = 3  # the first data rows are imported first: already in the database for the whole file


def categories(world: World) -> None:
    """The category tree the ledger names by code, name and path (the rest is created by the import)."""
    with transaction(world.app.state.sessions) as session:
        top = Category(code="01", name="城市管理", level=1)
        session.add(top)
        session.flush()
        mid = Category(code="0101", name="市政设施", level=2, parent_id=top.id)
        city = Category(code="0102", name="市容环境", level=2, parent_id=top.id)
        session.add_all([mid, city])
        session.flush()
        session.add(Category(code="010101", name="路灯照明", level=3, parent_id=mid.id))
        session.add(Category(code="010201", name="占道经营", level=3, parent_id=city.id))


def _time(rng: random.Random, moment: datetime) -> str:
    if rng.random() < 0.3:
        return f"{moment.year}/{moment.month}/{moment.day} {moment.hour}:{moment.minute:02d}"
    return moment.strftime("%Y-%m-%d %H:%M")


def case_rows(n: int, seed: int = 13) -> list[dict[str, str]]:
    """`n` case rows as {header: cell}, in file order."""
    rng = random.Random(seed)
    rows: list[dict[str, str]] = []
    start = datetime(2025, 1, 2, 8)
    numbers: list[str] = []
    for i in range(n):
        received = start + timedelta(days=rng.randrange(240), minutes=rng.randrange(600))
        number = f"GX-2025-{100 + i:06d}" if i % 3 == 0 else f"L-{i:05d}"
        r = {name: "" for name in HEADER}
        channel = rng.choice(list(CHANNELS))
        case_type = rng.choices(list(TYPES), [30, 15, 15, 10, 8, 6])[0]
        shape = rng.random()
        if i < PRE_IMPORTED:  # imported beforehand: plain, so that the new references come with the whole file
            channel, case_type = "hotline", "help"
        if channel == "enterprise" and case_type == "petition":
            case_type = "help"
        if case_type == "petition" and shape >= 0.2:
            shape = rng.random() * 0.2  # 信访 has no on-the-spot answer, reopening or merge
        r["序号"] = str(i + 1)
        r["工单编号"] = number
        r["渠道"] = rng.choice(CHANNELS[channel])
        r["类型"] = TYPES[case_type]
        r["紧急程度"] = rng.choice(["一般", "", "紧急"])
        r["诉求标题"] = f"诉求{i}：{rng.choice(['路灯不亮', '噪音扰民', '占道经营', '入学咨询', '奖补兑现'])}"
        r["诉求内容"] = "青桐路" * rng.randrange(1, 5)
        r["诉求人"] = rng.choice(["张三", "李四", "王五", ""])
        r["联系电话"] = rng.choice(["13812341234", "138-1234-5678", "+86 13912345678", "无", ""])
        r["业务分类"] = rng.choice([*CATEGORIES, ""]) if i >= PRE_IMPORTED else ""
        r["备注"] = rng.choice(["", "", "", "群众反映较急"])
        r["经办人"] = rng.choice(["", "小王"])
        r[""] = rng.choice(["", "", "x"])
        if channel == "enterprise":
            r["企业名称"], r["统一社会信用代码"] = rng.choice(ENTERPRISES)
        elif channel == "station":
            r["城市驿站"] = rng.choice(STATIONS)
        elif channel == "meeting":
            day, title = rng.choice(MEETINGS)
            r["恳谈会日期"], r["恳谈会名称"] = day, title
            held = date.fromisoformat(day)
            received = datetime(held.year, held.month, held.day, 9) + timedelta(minutes=rng.randrange(150))
        r["登记时间"] = _time(rng, received)
        code, name = rng.choice(DEPARTMENTS) if i >= PRE_IMPORTED else DEPARTMENTS[0]
        if case_type == "report" and rng.random() < 0.8:
            r["被举报单位"] = rng.choice([d for d in DEPARTMENTS if d[0] != code])[rng.randrange(2)]
        elif case_type == "consult" and rng.random() < 0.2:
            r["被举报单位"] = "JD1" if code != "JD1" else "CGJ"  # not an accusing type: ignored, with a warning
        rows.append(r)
        numbers.append(number)
        if 0.30 <= shape < 0.34 and len(numbers) > PRE_IMPORTED + 1:  # merged into an earlier case
            r["合并到"] = rng.choice(numbers[:-1])
            if rng.random() < 0.5:
                r["归档时间"] = _time(rng, received + timedelta(hours=rng.randrange(1, 8)))
            continue
        if shape < 0.05:  # received only
            continue
        if 0.20 <= shape < 0.24 and case_type in ("consult", "help"):  # answered on the spot
            r["办理结果"] = "当场答复"
            r["办结时间"] = _time(rng, received + timedelta(minutes=rng.randrange(5, 40)))
            r["答复内容"] = "已当场解释"
            if rng.random() < 0.5:
                r["满意度"] = "满意"  # a callback inferred at the resolution time
            continue
        r["承办单位"] = name if rng.random() < 0.6 else code
        dispatched = received + timedelta(minutes=rng.randrange(20, 240))
        if rng.random() < 0.8:
            r["派单时间"] = _time(rng, dispatched)
        if shape < 0.10:
            continue
        accepted = dispatched + timedelta(minutes=rng.randrange(30, 600))
        responded = accepted + timedelta(minutes=rng.randrange(30, 600))
        resolved = responded + timedelta(hours=rng.randrange(4, 200))
        if rng.random() < 0.75 or shape < 0.19:
            r["签收时间"] = _time(rng, accepted)
            r["响应时间"] = _time(rng, responded)
        if shape < 0.16:
            continue
        if shape < 0.19:  # extended, in hand
            due = received + timedelta(days=15)
            r["办结时限"] = _time(rng, due)
            r["延期后时限"] = _time(rng, due + timedelta(days=rng.randrange(3, 9)))
            continue
        r["办结时间"] = _time(rng, resolved)
        if case_type == "dispute":
            r["办理结果"] = rng.choice(["已化解", "未化解", "已解释说明"])
        else:
            r["办理结果"] = rng.choice(["已解决", "已解释说明", "不予支持", ""])
        r["答复内容"] = rng.choice(["", "已处理"])
        callback = resolved + timedelta(hours=rng.randrange(2, 48))
        if 0.24 <= shape < 0.27 and case_type != "petition":  # unsatisfied, reopened
            r["回访时间"] = _time(rng, callback)
            r["是否联系到"], r["是否解决"], r["满意度"] = "是", "否", "不满意"
            r["重办时间"] = _time(rng, callback + timedelta(hours=3))
            continue
        answer = rng.random()
        if answer < 0.5:
            r["回访时间"] = _time(rng, callback)
            reached = rng.random() < 0.85
            r["是否联系到"] = "是" if reached else "否"
            if reached:
                r["是否解决"] = rng.choice(["是", "否", ""])
                r["满意度"] = rng.choice(["满意", "基本满意", "不满意"])
            elif rng.random() < 0.3:
                r["满意度"] = "满意"  # not reached, yet an answer: kept as a remark
        elif answer < 0.7:
            r["满意度"] = rng.choice(["满意", "基本满意"])  # no 回访时间: inferred
        if rng.random() < 0.5:
            r["归档时间"] = _time(rng, callback + timedelta(days=1))
    # A duplicate of a later row, and of a row imported beforehand.
    rows[n - 5]["合并到"] = rows[n - 2]["工单编号"]
    rows[n - 7]["合并到"] = rows[1]["工单编号"]
    for later in (rows[n - 5], rows[n - 7]):
        for name in ("承办单位", "派单时间", "签收时间", "响应时间", "办结时间", "办理结果", "答复内容", "回访时间"):
            later[name] = ""
        for name in ("是否联系到", "是否解决", "满意度", "重办时间", "办结时限", "延期后时限"):
            later[name] = ""
    if rows[n - 2]["合并到"]:
        rows[n - 2]["合并到"] = rows[n - 2]["归档时间"] = ""
    early = rows[PRE_IMPORTED + 4]  # received before 2000: a warning to check the year
    for name in HEADER[HEADER.index("承办单位") :]:
        early[name] = ""
    early["登记时间"] = "1999-12-30 09:00"
    return rows


def _line(row: dict[str, str]) -> list[str]:
    return [row[name] for name in HEADER]


def mixed_ledger(n: int, *, first: int | None = None) -> bytes:
    """The mixed ledger of `n` case rows as a CSV (UTF-8 with BOM), or of its first `first` rows only."""
    rows = case_rows(n)
    if first is not None:
        return csv_bytes(HEADER, [_line(r) for r in rows[:first]], bom=True)
    return ledger_csv(rows)


def ledger_csv(rows: list[dict[str, str]]) -> bytes:
    """Case rows as an office's CSV: a title and a blank row above the header, a blank row every 97 rows, a
    小计 row and the template's example row in the middle, a 合计 row, a note and blank rows at the end."""
    n = len(rows)
    blank = [""] * len(HEADER)
    body: list[list[str]] = []
    for i, row in enumerate(rows):
        if i and i % 97 == 0:
            body.append(blank)
        if i == n // 2:
            body.append(["小计", *[""] * (len(HEADER) - 1)])
            example = {name: "" for name in HEADER}
            example.update(
                {"工单编号": EXAMPLE_CASE_NO, "登记时间": "2025-01-01 09:00", "渠道": "电话", "类型": "求助"}
            )
            example["诉求标题"] = "模板示例"
            body.append(_line(example))
        body.append(_line(row))
    body.append(["合计", f"{n} 件", *[""] * (len(HEADER) - 2)])
    body.append(["制表人：张三", *[""] * (len(HEADER) - 1)])
    body += [blank, blank]
    title = ["高新区诉求办理台账（测试）", *[""] * (len(HEADER) - 1)]
    return csv_bytes(title, [blank, HEADER, *body], bom=True)


def refused_ledgers(n: int) -> dict[str, bytes]:
    """The mixed ledger spoiled three ways: errors spread over every chunk (the last row names an unknown case
    to merge into); every row wrong (more than MAX_ERRORS problems: the check stops reading); a NUL in the last
    row's title besides a wrong channel (the unreadable cell is what is reported)."""
    spread = case_rows(n)
    spread[10]["渠道"] = "飞鸽传书"
    spread[n // 2 - 40]["登记时间"] = "2099-01-01 09:00"
    later = HEADER[HEADER.index("企业名称") :]
    spread[n - 80].update({name: "" for name in later})
    spread[n - 80].update({"登记时间": "2025-02-27 09:00", "派单时间": "2025-03-01 10:00"})  # to no department
    spread[n - 40].update({name: "" for name in later})
    spread[n - 40].update(  # 信访 is never reopened: its workflow has no such step
        {"登记时间": "2025-08-01 09:00", "类型": "信访", "渠道": "来信", "承办单位": "CGJ"}
        | {"办结时间": "2025-09-01 10:00", "办理结果": "已解决", "重办时间": "2025-09-02 10:00"}
    )
    spread[n - 1]["合并到"] = "NOPE-1"
    every = case_rows(n)
    for row in every:
        row["登记时间"] = "昨天"
    every[n - 1]["合并到"] = "NOPE-2"
    nul = case_rows(n)
    nul[5]["渠道"] = "飞鸽传书"
    nul[n - 1]["诉求标题"] = "井盖\x00缺失"
    return {"spread": ledger_csv(spread), "every": ledger_csv(every), "nul": ledger_csv(nul)}


# --- what an import wrote --------------------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return value


def snapshot(engine: Engine) -> dict[str, Any]:
    """Everything in the database that a ledger import writes, ids replaced by natural keys: the references
    (with their parents), the year counters, and per case number its columns, events, clocks and states."""

    with Session(engine) as session:

        def table(model: Any, *order: Any) -> list[dict[str, Any]]:
            return [
                {c.name: _plain(getattr(row, c.name)) for c in model.__table__.columns}
                for row in session.execute(select(model).order_by(*order)).scalars()
            ]

        users = {u["id"]: u["username"] for u in table(User, User.id)}
        departments = table(Department, Department.code)
        dept = {d["id"]: d["code"] for d in departments}
        stations = table(Station, Station.code)
        station = {s["id"]: s["code"] for s in stations}
        meetings = table(Meeting, Meeting.held_on, Meeting.title)
        meeting = {m["id"]: f"{m['held_on']} {m['title']}" for m in meetings}
        enterprises = table(Enterprise, Enterprise.credit_code)
        enterprise = {e["id"]: e["credit_code"] for e in enterprises}
        cats = table(Category, Category.code)
        category = {c["id"]: c["code"] for c in cats}
        counters = table(CaseNumberCounter, CaseNumberCounter.year)
        case_no = dict(session.execute(select(Case.id, Case.case_no)).all())
    keyed = {
        "department_id": dept,
        "accused_department_id": dept,
        "parent_id": None,  # per table below
        "station_id": station,
        "meeting_id": meeting,
        "enterprise_id": enterprise,
        "category_id": category,
        "duplicate_of_id": case_no,
        "created_by_id": users,
        "assignee_id": users,
        "lead_leader_id": users,
        "actor_id": users,
        "liaison_user_id": users,
    }

    def named(row: dict[str, Any], parents: dict[int, str] | None = None, drop: tuple[str, ...] = ()) -> dict[str, Any]:
        out = {}
        for key, value in row.items():
            if key in ("id", "case_id", *drop):
                continue
            if key == "parent_id":
                out[key] = parents.get(value) if parents and value is not None else value
            elif key in keyed and value is not None:
                out[key] = keyed[key][value]  # type: ignore[index]
            else:
                out[key] = value
        return out

    cases: dict[str, dict[str, Any]] = {}
    with Session(engine) as session:
        for case in session.execute(select(Case)).scalars():
            record = named(
                {c.name: _plain(getattr(case, c.name)) for c in Case.__table__.columns}, drop=("query_code",)
            )
            events = session.execute(
                select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(CaseEvent.at, CaseEvent.id)
            ).scalars()
            record["events"] = []
            for e in events:
                payload = dict(e.payload or {})
                if isinstance(payload.get("department_id"), int):
                    payload["department_id"] = dept[payload["department_id"]]
                row = {c.name: _plain(getattr(e, c.name)) for c in CaseEvent.__table__.columns}
                row["payload"] = payload
                record["events"].append(named(row, drop=("recorded_at",)))
            record["clocks"] = [
                named({c.name: _plain(getattr(k, c.name)) for c in CaseClock.__table__.columns})
                for k in session.execute(
                    select(CaseClock).where(CaseClock.case_id == case.id).order_by(CaseClock.name, CaseClock.id)
                ).scalars()
            ]
            record["states"] = [
                named({c.name: _plain(getattr(s, c.name)) for c in CaseState.__table__.columns})
                for s in session.execute(
                    select(CaseState).where(CaseState.case_id == case.id).order_by(CaseState.valid_from, CaseState.id)
                ).scalars()
            ]
            cases[case.case_no] = record
    return {
        "departments": [named(d, dept) for d in departments],
        "stations": [named(s) for s in stations],
        "meetings": [named(m) for m in meetings],
        "enterprises": [named(e, drop=("created_at",)) for e in enterprises],
        "categories": [named(c, category) for c in cats],
        "counters": counters,
        "cases": cases,
    }


def digest(value: Any) -> str:
    """A short fingerprint of a JSON-able value."""
    return hashlib.sha256(json.dumps(value, sort_keys=True, ensure_ascii=False).encode()).hexdigest()[:16]
