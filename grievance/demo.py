"""Demo data for a fictional zone (invented names only) and one demo account per role: the articles' 2025
(grievance.demo_year) and the time since, up to the moment of loading (grievance.demo_now).

Demo accounts have published passwords: they exist only when someone runs `grievance demo`.
"""

from __future__ import annotations

import contextlib
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from sqlmodel import Session, select

from grievance import demo_keycases, demo_now, demo_year
from grievance.cases.models import Case
from grievance.config import Settings
from grievance.db import utcnow
from grievance.glossary import Role
from grievance.ledger.importer import run_import
from grievance.reference import service
from grievance.reference.models import Category
from grievance.reference.schemas import DepartmentIn, EnterpriseIn, MeetingIn, StationIn
from grievance.users.models import User
from grievance.users.service import create_token, create_user
from grievance.workflow.engine import Runtime, fire
from grievance.workflow.loader import load_workflows

DEPARTMENTS = [
    ("ZX", "高新区诉求服务中心", None),
    ("CGJ", "城市管理局", None),
    ("QFJ", "企业服务局", None),
    ("SSJ", "社会事务局", None),
    ("ZFB", "政法办（矛盾纠纷调处中心）", None),
    ("ZQB", "征迁办", None),
    ("JD1", "青桐街道", None),
    ("JD2", "白沙街道", None),
]

# username, role, department code, display name
ACCOUNTS = [
    ("demo_intake", Role.intake, "ZX", "前台受理员 王敏"),
    ("demo_dispatcher", Role.dispatcher, "ZX", "派单员 李强"),
    ("demo_handler", Role.handler, "CGJ", "城管局承办人 张伟"),
    ("demo_dept_head", Role.dept_head, "CGJ", "城管局负责人 刘洋"),
    ("demo_supervisor", Role.supervisor, "ZX", "督办员 陈静"),
    ("demo_leader", Role.leader, None, "分管领导 赵刚"),
    ("demo_admin", Role.admin, None, "系统管理员"),
    ("demo_liaison", Role.handler, "QFJ", "包保干部 孙丽"),
]
DEMO_PASSWORD = "demo-{role}-2025"
LIAISON_CADRES = 20


def seed_demo(
    session: Session,
    settings: Settings,
    *,
    if_empty: bool,
    out: TextIO,
    now: datetime | None = None,
    address: str = "http://127.0.0.1:8000",
) -> None:
    """Load the demo into an empty database and print the demo accounts with a fresh API token each; on a
    database that has it already, load nothing, issue and revoke no token (the tokens printed by the first
    load keep working) and print the accounts with how to get another token. With `if_empty`, a database
    that has users but not the demo is left alone. `now` (aware UTC, default the present) is the moment the
    demo's present ends at (grievance.demo_now). `address` is where `grievance serve` listens (cli.serve_address),
    printed in the example and the hint to open."""
    seeded = session.exec(select(User).where(User.username == "demo_admin")).first() is not None
    has_users = session.exec(select(User)).first() is not None
    if if_empty and has_users and not seeded:
        out.write("数据库已有用户，未载入演示数据 (the database has users; demo not loaded)\n")
        return
    if not seeded:
        _seed(session, settings, out, now or utcnow())
        out.write("已载入演示数据 (demo data loaded)\n")
        out.write("\n演示账号（仅供演示）Demo accounts (demo only) — password / API token (shown once):\n")
        for username, role, _dept, display in ACCOUNTS:
            user = session.exec(select(User).where(User.username == username)).one()
            token = create_token(session, user, name="demo")
            password = DEMO_PASSWORD.format(role=role.value)
            out.write(f"  {username:<16} {role.value:<11} {password:<24} {token}  {display}\n")
        out.write(f'\n例 (example): curl -H "Authorization: Bearer <token>" {address}/api/v1/me\n')
        out.write(f"打开 (open) {address}/ 并以上面的账号登录 (and sign in with an account above)\n\n")
        return
    out.write("演示数据已载入，未改动 (the demo is already loaded; nothing changed)\n")
    out.write("\n演示账号（仅供演示）Demo accounts (demo only) — password:\n")
    for username, role, _dept, display in ACCOUNTS:
        out.write(f"  {username:<16} {role.value:<11} {DEMO_PASSWORD.format(role=role.value):<24} {display}\n")
    out.write(
        "\n首次载入时打印的 API 令牌仍然有效；另取一个令牌 (the API tokens printed by the first load still work; "
        f"for another one): {_program()} token create demo_admin\n"
    )
    out.write(f"打开 (open) {address}/ 并以上面的账号登录 (and sign in with an account above)\n\n")


def _program() -> str:
    """How the person ran this command (`.venv/bin/grievance` after `make run`), for a command to copy."""
    argv0 = Path(sys.argv[0]) if sys.argv and sys.argv[0] else None
    if argv0 is None or argv0.name != "grievance":
        return "grievance"
    with contextlib.suppress(ValueError):
        return str(argv0.resolve().relative_to(Path.cwd().resolve()))
    return str(argv0)


def _seed(session: Session, settings: Settings, out: TextIO, now: datetime) -> None:
    for code, name, parent in DEPARTMENTS:
        service.create_department(session, department_in=DepartmentIn(code=code, name=name, parent=parent))
    demo = demo_year.zone()
    for code, name, address, community, dept in demo.stations:
        service.create_station(
            session,
            station_in=StationIn(code=code, name=name, address=address, community=community, department=dept),
        )
    service.load_categories(session, settings.categories_file)
    runtime = Runtime(settings=settings, workflows=load_workflows(settings.workflows_dir), now=lambda: now)
    calendar = runtime.calendar(session)
    leaves: dict[str, list[str]] = {}
    for code in session.exec(select(Category.code).where(Category.level == 3)):
        leaves.setdefault(code[:2], []).append(code)
    rows = demo_year.year_ledger(runtime.workflows, calendar, leaves, demo)
    demo_now.finish_year(rows, runtime.workflows, calendar, leaves, now)
    present = demo_now.present(runtime.workflows, calendar, leaves, demo, now)
    referrals = demo_keycases.year_referrals(rows, calendar, now)  # 2025's key cases, worked by actions
    for day, title, venue, attendees, station in [*demo.meetings, *present.meetings]:
        service.create_meeting(
            session,
            meeting_in=MeetingIn(
                title=title, held_on=day, venue=venue, hosts="高新区管委会", attendee_count=attendees, station=station
            ),
        )
    for username, role, dept, display in ACCOUNTS:
        create_user(
            session,
            username=username,
            role=role.value,
            password=DEMO_PASSWORD.format(role=role.value),
            display_name=display,
            department=dept,
        )
    # Two more handlers of 城管局, so its head has people to give cases to (no password: not demo accounts).
    for n, name in ((2, "周杰"), (3, "吴敏")):
        create_user(
            session,
            username=f"cgj_handler{n:02d}",
            role="handler",
            password=None,
            display_name=f"城管局承办人 {name}",
            department="CGJ",
        )
    # Lead leaders and department heads of the key cases (grievance/demo_keycases.py; no password).
    for username, display in demo_keycases.LEADERS:
        if display:
            create_user(session, username=username, role="leader", password=None, display_name=display)
    for dept, (username, display) in demo_keycases.DEPARTMENT_HEADS.items():
        if display:
            create_user(
                session, username=username, role="dept_head", password=None, display_name=display, department=dept
            )
    # Liaison cadres (包保干部) of the large enterprises: the demo one and twenty colleagues (no password).
    cadres = ["demo_liaison"]
    for n in range(1, LIAISON_CADRES + 1):
        cadres.append(f"liaison{n:02d}")
        create_user(
            session,
            username=cadres[-1],
            role="handler",
            password=None,
            display_name=f"包保干部{n:02d}",
            department="QFJ",
        )
    since = datetime(demo_year.YEAR - 1, 12, 31, 16, tzinfo=UTC)  # 2025-01-01 00:00 in Beijing
    for n, (name, code, large) in enumerate(demo.enterprises):
        service.create_enterprise(
            session,
            enterprise_in=EnterpriseIn(
                name=name, credit_code=code, is_large=large, liaison=cadres[n % len(cadres)] if large else None
            ),
            now=since,
        )
    everything = rows + present.rows
    for number, row in enumerate(everything, start=2):
        row["_row"] = number
    summary = run_import(session, runtime, everything)
    _take_live_actions(session, runtime, referrals + present.actions)
    later = len(present.rows)
    out.write(
        f"已载入 {demo_year.YEAR} 年演示数据：{summary['created'] - later} 件诉求 "
        f"(demo year loaded: {summary['created'] - later} cases)\n"
    )
    if later:
        since_day = present.rows[0]["received_at"].astimezone(demo_now.LOCAL).date()
        out.write(
            f"以及 {since_day} 至今的 {later} 件，{len(present.actions)} 个办理动作 "
            f"(and {later} cases since {since_day}, with {len(present.actions)} live actions)\n"
        )


def _take_live_actions(session: Session, runtime: Runtime, actions: list[demo_now.LiveAction]) -> None:
    """The steps a ledger does not record, taken through the engine as the demo accounts, at their moments."""
    if not actions:
        return
    actors = {a.actor for a in actions}
    users = {u.username: u for u in session.exec(select(User).where(User.username.in_(actors)))}  # type: ignore[attr-defined]
    numbers = {a.case_no for a in actions}
    cases = {c.case_no: c for c in session.exec(select(Case).where(Case.case_no.in_(numbers)))}  # type: ignore[attr-defined]
    for action in actions:
        fire(
            session,
            runtime,
            case=cases[action.case_no],
            action=action.action,
            actor=users[action.actor],
            payload={**action.payload, "into": action.into["case_no"]} if action.into else action.payload,
            now=action.at,
        )
