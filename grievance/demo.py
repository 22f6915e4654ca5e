"""Demo data for a fictional zone (invented names only) and one demo account per role.

Demo accounts have published passwords: they exist only when someone runs `grievance demo`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TextIO

from sqlmodel import Session, select

from grievance import demo_year
from grievance.config import Settings
from grievance.glossary import Role
from grievance.ledger.importer import run_import
from grievance.reference import service
from grievance.reference.models import Category
from grievance.reference.schemas import DepartmentIn, EnterpriseIn, MeetingIn, StationIn
from grievance.users.models import User
from grievance.users.service import create_token, create_user, revoke_tokens
from grievance.workflow.engine import Runtime
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


def seed_demo(session: Session, settings: Settings, *, if_empty: bool, out: TextIO) -> None:
    seeded = session.exec(select(User).where(User.username == "demo_admin")).first() is not None
    has_users = session.exec(select(User)).first() is not None
    if not seeded and not (if_empty and has_users):
        _seed(session, settings, out)
        out.write("已载入演示数据 (demo data loaded)\n")
    elif if_empty and has_users and not seeded:
        out.write("数据库已有用户，未载入演示数据 (the database has users; demo not loaded)\n")
        return
    out.write("\n演示账号（仅供演示）Demo accounts (demo only) — password / fresh API token:\n")
    for username, role, _dept, display in ACCOUNTS:
        user = session.exec(select(User).where(User.username == username)).one()
        revoke_tokens(session, user, name="demo")  # each run replaces the last run's demo tokens
        token = create_token(session, user, name="demo")
        out.write(f"  {username:<16} {role.value:<11} {DEMO_PASSWORD.format(role=role.value):<24} {token}  {display}\n")
    out.write('\n例 (example): curl -H "Authorization: Bearer <token>" http://127.0.0.1:8000/api/v1/me\n\n')


def _seed(session: Session, settings: Settings, out: TextIO) -> None:
    for code, name, parent in DEPARTMENTS:
        service.create_department(session, department_in=DepartmentIn(code=code, name=name, parent=parent))
    demo = demo_year.zone()
    for code, name, address, community, dept in demo.stations:
        service.create_station(
            session,
            station_in=StationIn(code=code, name=name, address=address, community=community, department=dept),
        )
    for day, title, venue, attendees, station in demo.meetings:
        service.create_meeting(
            session,
            meeting_in=MeetingIn(
                title=title, held_on=day, venue=venue, hosts="高新区管委会", attendee_count=attendees, station=station
            ),
        )
    service.load_categories(session, settings.categories_file)
    for username, role, dept, display in ACCOUNTS:
        create_user(
            session,
            username=username,
            role=role.value,
            password=DEMO_PASSWORD.format(role=role.value),
            display_name=display,
            department=dept,
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
    runtime = Runtime(settings=settings, workflows=load_workflows(settings.workflows_dir))
    calendar = runtime.calendar(session)
    leaves: dict[str, list[str]] = {}
    for code in session.exec(select(Category.code).where(Category.level == 3)):
        leaves.setdefault(code[:2], []).append(code)
    rows = demo_year.year_ledger(runtime.workflows, calendar, leaves, demo)
    for number, row in enumerate(rows, start=2):
        row["_row"] = number
    summary = run_import(session, runtime, rows)
    out.write(
        f"已载入 {demo_year.YEAR} 年演示数据：{summary['created']} 件诉求 (demo year loaded: {summary['created']} cases)\n"
    )
