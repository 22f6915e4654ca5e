"""The `grievance` command: database, server, users and tokens, workflows, calendar, reference data."""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from sqlalchemy.exc import SQLAlchemyError

from grievance.config import Settings, get_settings
from grievance.db import make_engine, make_sessionmaker, transaction, utcnow
from grievance.errors import DomainError, field_errors
from grievance.workflow.loader import WorkflowErrors, load_file


def _session_factory(settings: Settings):  # type: ignore[no-untyped-def]
    return make_sessionmaker(make_engine(settings.database_url))


def cmd_db_upgrade(args: argparse.Namespace, settings: Settings) -> int:
    from grievance.migrations import upgrade

    engine = make_engine(settings.database_url)
    upgrade(engine)
    print(f"数据库已是最新 (database is up to date): {engine.url.render_as_string(hide_password=True)}")
    return 0


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    from web.app import create_app

    print(f"grievance 服务地址 (serving at): http://{args.host}:{args.port}/  API 文档 (docs): /docs")
    if args.workers > 1:
        # Each worker process builds its own app from the same GRIEVANCE_* environment.
        uvicorn.run("web.app:create_app", factory=True, host=args.host, port=args.port, workers=args.workers)
    else:
        uvicorn.run(create_app(settings), host=args.host, port=args.port, log_level="info")
    return 0


def _read_password(args: argparse.Namespace) -> str | None:
    if args.no_password:
        return None
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\n")
    if not sys.stdin.isatty():
        raise DomainError(
            "没有终端可输入密码：请用 --password-stdin 或 --no-password (no terminal to ask the password)"
        )
    first = getpass.getpass("密码 (password, at least 10 characters): ")
    if first != getpass.getpass("再次输入 (again): "):
        raise DomainError("两次输入的密码不一致 (the passwords differ)")
    return first


def cmd_user_add(args: argparse.Namespace, settings: Settings) -> int:
    from grievance.users.service import create_user

    password = _read_password(args)
    with transaction(_session_factory(settings)) as session:
        user = create_user(
            session,
            username=args.username,
            role=args.role,
            password=password,
            display_name=args.name or "",
            department=args.department,
        )
        print(f"已创建用户 (created) {user.username} [{user.role}] id={user.id}")
    return 0


def cmd_user_list(args: argparse.Namespace, settings: Settings) -> int:
    from sqlmodel import select

    from grievance.users.models import User

    with transaction(_session_factory(settings)) as session:
        for user in session.exec(select(User).order_by(User.username)):
            print(f"{user.id}\t{user.username}\t{user.role}\t{user.department_id or '-'}\t{user.display_name}")
    return 0


def cmd_token_create(args: argparse.Namespace, settings: Settings) -> int:
    from grievance.users.service import create_token, get_user

    with transaction(_session_factory(settings)) as session:
        user = get_user(session, args.user)
        token = create_token(session, user, name=args.name or "cli")
    print(token)
    print(f"# {user.username} 的 API 令牌，只显示这一次 (shown once): Authorization: Bearer <token>", file=sys.stderr)
    return 0


def cmd_token_revoke(args: argparse.Namespace, settings: Settings) -> int:
    from grievance.users.service import get_user, revoke_tokens

    with transaction(_session_factory(settings)) as session:
        count = revoke_tokens(session, get_user(session, args.user), name=args.name)
    print(f"已吊销 {count} 个令牌 (revoked {count} token(s))")
    return 0


def cmd_workflows_check(args: argparse.Namespace, settings: Settings) -> int:
    directory = Path(args.directory or settings.workflows_dir)
    files = sorted(directory.glob("*.yaml"))
    if not files:
        print(f"{directory}: 没有流程文件 (no *.yaml files)", file=sys.stderr)
        return 1
    failed = False
    for path in files:
        try:
            wf = load_file(path)
        except WorkflowErrors as exc:
            failed = True
            for problem in exc.problems:
                print(f"ERROR {problem}", file=sys.stderr)
            continue
        finals = [s for s, d in wf.states.items() if d.final]
        print(
            f"ok  {path.name}: {wf.name} ({wf.label}) — {len(wf.states)} states, {len(wf.actions)} actions, "
            f"clocks {', '.join(wf.clocks) or 'none'}; final: {', '.join(finals)}"
        )
    return 1 if failed else 0


def cmd_calendar(args: argparse.Namespace, settings: Settings) -> int:
    from grievance.workflow import calendar_service
    from grievance.workflow.calendar import WorkCalendar
    from grievance.workflow.engine import load_calendar

    with transaction(_session_factory(settings)) as session:
        if args.calendar_command == "list":
            for row in calendar_service.list_overrides(session, args.year):
                print(f"{row.day}\t{'workday' if row.is_workday else 'holiday'}\t{row.note}")
        elif args.calendar_command == "add":
            day = calendar_service.parse_day(args.day)
            is_workday = calendar_service.parse_kind(args.kind)
            moved = calendar_service.change_overrides(
                session, [(day, is_workday, args.note or "")], timezone=settings.timezone, now=utcnow()
            )
            print(f"{day} -> {'workday 上班' if is_workday else 'holiday 休息'}; due times moved on {moved} case(s)")
        elif args.calendar_command == "remove":
            day = calendar_service.parse_day(args.day)
            moved = calendar_service.change_overrides(
                session, [(day, None, "")], timezone=settings.timezone, now=utcnow()
            )
            print(f"removed {args.day}; due times moved on {moved} case(s)")
        elif args.calendar_command == "import":
            text = Path(args.file).read_text(encoding="utf-8")
            count = calendar_service.import_overrides(session, text, timezone=settings.timezone, now=utcnow())
            print(f"imported {count} days from {args.file}")
        elif args.calendar_command == "due":
            calendar: WorkCalendar = load_calendar(session, settings)
            start = calendar_service.parse_moment(args.start, calendar.tz, "start")
            due = calendar.add(start, calendar_service.check_amount(args.amount, args.unit), args.unit)
            print(due.astimezone(calendar.tz).isoformat())
        elif args.calendar_command == "show":
            calendar = load_calendar(session, settings)
            day = calendar_service.parse_day(args.day)
            known = "" if calendar.knows_year(day.year) else " (no statutory data for this year: weekends + overrides)"
            print(f"{day} {'workday 工作日' if calendar.is_workday(day) else 'day off 休息日'}{known}")
    return 0


def _reference(args: argparse.Namespace, settings: Settings) -> int:
    from grievance.reference import schemas, service

    with transaction(_session_factory(settings)) as session:
        kind = args.reference_kind
        if kind == "department":
            row: Any = service.create_department(
                session, department_in=schemas.DepartmentIn(code=args.code, name=args.name, parent=args.parent)
            )
        elif kind == "station":
            row = service.create_station(
                session,
                station_in=schemas.StationIn(
                    code=args.code,
                    name=args.name,
                    address=args.address,
                    community=args.community,
                    department=args.department,
                ),
            )
        elif kind == "meeting":
            row = service.create_meeting(
                session,
                meeting_in=schemas.MeetingIn(
                    title=args.title,
                    held_on=date.fromisoformat(args.date),
                    venue=args.venue,
                    hosts=args.hosts,
                    attendee_count=args.attendees,
                    station=args.station,
                ),
            )
        elif kind == "enterprise":
            row = service.create_enterprise(
                session,
                enterprise_in=schemas.EnterpriseIn(
                    name=args.name, credit_code=args.credit_code, is_large=args.large, liaison=args.liaison
                ),
            )
        else:
            counts = service.load_categories(session, Path(args.file or settings.categories_file))
            print(f"categories: {counts['created']} created, {counts['updated']} updated")
            return 0
        print(f"已创建 (created) {kind} id={row.id}")
    return 0


def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    from grievance.demo import seed_demo

    with transaction(_session_factory(settings)) as session:
        seed_demo(session, settings, if_empty=args.if_empty, out=sys.stdout)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="grievance", description="诉求办理服务 (case management for appeals)")
    sub = parser.add_subparsers(dest="command", required=True)

    db = sub.add_parser("db", help="database").add_subparsers(dest="db_command", required=True)
    db.add_parser("upgrade", help="create or migrate the schema (Alembic)").set_defaults(handler=cmd_db_upgrade)

    serve = sub.add_parser("serve", help="run the web service")
    serve.add_argument("--host", default=os.environ.get("GRIEVANCE_HOST", "127.0.0.1"))
    serve.add_argument("--port", type=int, default=int(os.environ.get("GRIEVANCE_PORT", "8000")))
    serve.add_argument("--workers", type=int, default=1, help="worker processes (PostgreSQL; SQLite wants 1)")
    serve.set_defaults(handler=cmd_serve)

    user = sub.add_parser("user", help="staff accounts").add_subparsers(dest="user_command", required=True)
    add = user.add_parser("add", help="create an account")
    add.add_argument("username")
    add.add_argument("--role", required=True, help="intake, dispatcher, handler, dept_head, supervisor, leader, admin")
    add.add_argument("--department", help="department code or id (required for handler and dept_head)")
    add.add_argument("--name", help="display name")
    add.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    add.add_argument("--no-password", action="store_true", help="API token only, no web login")
    add.set_defaults(handler=cmd_user_add)
    user.add_parser("list", help="list accounts").set_defaults(handler=cmd_user_list)

    token = sub.add_parser("token", help="API tokens").add_subparsers(dest="token_command", required=True)
    create = token.add_parser("create", help="issue a token for a user (shown once)")
    create.add_argument("user", help="username or id")
    create.add_argument("--name", help="what the token is for")
    create.set_defaults(handler=cmd_token_create)
    revoke = token.add_parser("revoke", help="revoke a user's tokens")
    revoke.add_argument("user", help="username or id")
    revoke.add_argument("--name", help="only the tokens with this name")
    revoke.set_defaults(handler=cmd_token_revoke)

    wf = sub.add_parser("workflows", help="workflow files").add_subparsers(dest="wf_command", required=True)
    check = wf.add_parser("check", help="validate every workflows/*.yaml")
    check.add_argument("directory", nargs="?")
    check.set_defaults(handler=cmd_workflows_check)

    cal = sub.add_parser("calendar", help="working-day calendar and local overrides")
    cal_sub = cal.add_subparsers(dest="calendar_command", required=True)
    cal_list = cal_sub.add_parser("list", help="list local overrides")
    cal_list.add_argument("--year", type=int)
    cal_add = cal_sub.add_parser("add", help="add or change an override")
    cal_add.add_argument("day", help="YYYY-MM-DD")
    cal_add.add_argument("kind", help="workday (上班/补班) or holiday (休息/放假)")
    cal_add.add_argument("--note")
    cal_rm = cal_sub.add_parser("remove", help="remove an override")
    cal_rm.add_argument("day")
    cal_imp = cal_sub.add_parser("import", help="import lines 'YYYY-MM-DD,workday|holiday[,note]'")
    cal_imp.add_argument("file")
    cal_due = cal_sub.add_parser("due", help="the due time of a limit from a start")
    cal_due.add_argument("start", help="ISO time; without a zone it is Asia/Shanghai")
    cal_due.add_argument("amount", type=float)
    cal_due.add_argument("--unit", default="working_days", choices=["working_days", "days", "hours"])
    cal_show = cal_sub.add_parser("show", help="is a day a working day?")
    cal_show.add_argument("day")
    cal.set_defaults(handler=cmd_calendar)

    for kind, help_text in (
        ("department", "add a department"),
        ("station", "add an urban station"),
        ("meeting", "add a dialogue meeting"),
        ("enterprise", "add an enterprise"),
        ("categories", "load the category tree from its file"),
    ):
        p = sub.add_parser(kind, help=help_text).add_subparsers(dest="verb", required=True)
        q = p.add_parser("load" if kind == "categories" else "add", help=help_text)
        q.set_defaults(handler=_reference, reference_kind=kind)
        if kind == "department":
            q.add_argument("code")
            q.add_argument("name")
            q.add_argument("--parent")
        elif kind == "station":
            q.add_argument("code")
            q.add_argument("name")
            q.add_argument("--address", default="")
            q.add_argument("--community", default="")
            q.add_argument("--department")
        elif kind == "meeting":
            q.add_argument("title")
            q.add_argument("--date", required=True, help="YYYY-MM-DD")
            q.add_argument("--venue", default="")
            q.add_argument("--hosts", default="")
            q.add_argument("--attendees", type=int, default=0)
            q.add_argument("--station")
        elif kind == "enterprise":
            q.add_argument("name")
            q.add_argument("credit_code")
            q.add_argument("--large", action="store_true", help="规上企业")
            q.add_argument("--liaison", help="username of the liaison cadre")
        else:
            q.add_argument("file", nargs="?")

    demo = sub.add_parser("demo", help="load demo data and demo accounts (demo only)")
    demo.add_argument("--if-empty", action="store_true", help="only when the database has no users yet")
    demo.set_defaults(handler=cmd_demo)
    return parser


def _report(exc: DomainError) -> None:
    print(f"错误 (error): {exc.message}", file=sys.stderr)
    for err in exc.detail.get("errors", []):
        print(f"  - {err['field']}: {err['message']} | {err['message_en']}", file=sys.stderr)
    for key, value in exc.detail.items():
        if key != "errors":
            print(f"  {key}: {value}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    settings = get_settings()
    try:
        return int(args.handler(args, settings))
    except DomainError as exc:
        _report(exc)
        return 2
    except WorkflowErrors as exc:
        for problem in exc.problems:
            print(f"ERROR {problem}", file=sys.stderr)
        return 2
    except ValidationError as exc:
        for err in field_errors(list(exc.errors()), skip_body=False):
            print(f"错误 (error): {err['message']} | {err['message_en']}", file=sys.stderr)
        return 2
    except (OSError, ValueError) as exc:
        print(f"错误 (error): {exc}", file=sys.stderr)
        return 2
    except SQLAlchemyError as exc:
        from grievance.migrations import pending_migration

        try:
            hint = pending_migration(make_engine(settings.database_url))
        except SQLAlchemyError:
            hint = None
        print(f"错误 (error): {hint or exc.__class__.__name__ + ': ' + str(exc).splitlines()[0]}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
