"""The `grievance` command: database, server, users and tokens, workflows, calendar, reference data, reports,
ledger import and export, demo."""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from grievance import cli_errors
from grievance.cli_errors import write_file
from grievance.config import Settings, get_settings
from grievance.db import engine_for, make_sessionmaker, transaction, utcnow
from grievance.errors import DomainError, InvalidInput
from grievance.textfiles import read_file
from grievance.workflow.loader import WorkflowErrors, load_file


def _engine(settings: Settings):  # type: ignore[no-untyped-def]
    return engine_for(settings)


def _session_factory(settings: Settings):  # type: ignore[no-untyped-def]
    return make_sessionmaker(_engine(settings))


def _pending_migration(settings: Settings) -> str | None:
    from grievance.migrations import pending_migration

    return pending_migration(_engine(settings))


def cmd_db_upgrade(args: argparse.Namespace, settings: Settings) -> int:
    from grievance.migrations import upgrade, upgrade_report

    engine = _engine(settings)
    before, after = upgrade(engine)
    print(upgrade_report(before, after, engine.url.render_as_string(hide_password=True)))
    return 0


SERVE_DEFAULTS = {"host": "127.0.0.1", "port": "8000"}


def serve_setting(name: str) -> str:
    """`grievance serve`'s default --host or --port (name "host" or "port") as text: GRIEVANCE_HOST or
    GRIEVANCE_PORT from the environment, else from the `.env` file Settings reads (in the working directory, as
    pydantic-settings reads it: the environment wins), else SERVE_DEFAULTS. Not a Settings field, so that a bad
    GRIEVANCE_PORT is refused by `serve` as a bad --port (exit 2) and does not stop every other command."""
    variable = f"GRIEVANCE_{name.upper()}"
    if variable in os.environ:
        return os.environ[variable]
    env_file = Settings.model_config.get("env_file")
    if isinstance(env_file, str) and Path(env_file).is_file():
        from dotenv import dotenv_values

        try:
            found = dotenv_values(env_file).get(variable)
        except (OSError, UnicodeDecodeError):
            found = None  # Settings reports an unreadable .env when the command loads it
        if found:
            return found
    return SERVE_DEFAULTS[name]


def serve_address() -> str:
    """The address `grievance serve` without options listens at, for a person to open: http://HOST:PORT (a
    wildcard host, 0.0.0.0 or ::, shown as 127.0.0.1)."""
    host = serve_setting("host")
    host = "127.0.0.1" if host in ("0.0.0.0", "::", "") else f"[{host}]" if ":" in host else host
    return f"http://{host}:{serve_setting('port').strip()}"


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    from web.app import create_app

    # Checked here, so that each is one clear message rather than the server's traceback.
    problem = _pending_migration(settings)
    if problem:
        raise DomainError(problem)
    cli_errors.check_can_listen(args.host, args.port)
    print(f"grievance 服务地址 (serving at): http://{args.host}:{args.port}/  API 文档 (docs): /docs")
    from web.background import SERVE_ENV, serve_flag

    # The outbox worker and the sweeper run in the served process(es) (web/background.py); every worker
    # process reads the flag from the environment.
    os.environ[SERVE_ENV] = serve_flag(settings, args.workers)
    if settings.background_jobs and os.environ[SERVE_ENV] != "1":
        print("SQLite 多进程：请另行运行 grievance outbox run 与 grievance sweep (run them as their own processes)")
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
            "没有终端可输入密码：请用 --password-stdin 或 --no-password", "no terminal to ask the password"
        )
    first = getpass.getpass("密码 (password, at least 10 characters): ")
    if first != getpass.getpass("再次输入 (again): "):
        raise DomainError("两次输入的密码不一致", "the passwords differ")
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
    """Exit 0 when every file is valid, 1 when a file has errors (each printed as file:line), 2 when there is
    nothing to check (no such folder, no *.yaml in it)."""
    directory = Path(args.directory or settings.workflows_dir)
    if directory.is_file():
        files = [directory]
    elif not directory.is_dir():
        raise InvalidInput.field("directory", f"文件夹不存在：{directory}", f"no such folder: {directory}")
    else:
        files = sorted(directory.glob("*.yaml"))
    if not files:
        raise InvalidInput.field(
            "directory", f"{directory} 中没有流程文件（*.yaml）", f"no workflow files (*.yaml) in {directory}"
        )
    failed = False
    for path in files:
        try:
            wf = load_file(path)
        except WorkflowErrors as exc:
            failed = True
            for problem in exc.problems:
                print(f"ERROR {problem}", file=sys.stderr)
            continue
        except (OSError, UnicodeDecodeError) as exc:
            failed = True
            problem = cli_errors.user_error(exc, lock_timeout=settings.db_lock_timeout_seconds)
            print(f"ERROR {path}: {cli_errors.one_line(problem) if problem else exc}", file=sys.stderr)
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
            kind = "上班 (workday)" if is_workday else "休息 (holiday)"
            print(f"{day} -> {kind}；{moved} 件诉求的期限随之调整 (due times moved on {moved} case(s))")
        elif args.calendar_command == "remove":
            day = calendar_service.parse_day(args.day)
            moved = calendar_service.change_overrides(
                session, [(day, None, "")], timezone=settings.timezone, now=utcnow()
            )
            print(
                f"已删除 {day} 的本地调整；{moved} 件诉求的期限随之调整 "
                f"(removed the override of {day}; due times moved on {moved} case(s))"
            )
        elif args.calendar_command == "import":
            data = read_file(Path(args.file))
            done = calendar_service.import_overrides(
                session, data, timezone=settings.timezone, now=utcnow(), dry_run=args.dry_run
            )
            kind = {True: "工作日 (workday)", False: "休息日 (holiday)"}
            for change in done.changes:
                print(f"{change.day}\t{kind[change.was_workday]} -> {kind[change.is_workday]}\t{change.note}")
            n, same, moved = len(done.changes), len(done.unchanged), done.moved
            if args.dry_run:
                print(
                    f"检查 {args.file}：将调整 {n} 天，{same} 天已是如此；{moved} 件诉求的期限将随之调整；未写入任何数据 "
                    f"(checked {args.file}: {n} day(s) would change, {same} already so; "
                    f"due times would move on {moved} case(s); nothing written)"
                )
            else:
                print(
                    f"已从 {args.file} 导入 {n} 天，{same} 天已是如此未改动；{moved} 件诉求的期限随之调整 "
                    f"(imported {n} day(s) from {args.file}, {same} already so; due times moved on {moved} case(s))"
                )
        elif args.calendar_command == "due":
            calendar: WorkCalendar = load_calendar(session, settings)
            start = calendar_service.parse_moment(args.start, calendar.tz, "start")
            due = calendar_service.preview_due(calendar, start, args.amount, args.unit)
            print(due.astimezone(calendar.tz).isoformat())
        elif args.calendar_command == "show":
            calendar = load_calendar(session, settings)
            day = calendar_service.parse_day_in_range(args.day)
            known = (
                ""
                if calendar.knows_year(day.year)
                else f"（{day.year} 年尚无法定节假日数据：按周末和本地调整计算）"
                "(no statutory data for this year: weekends + overrides)"
            )
            print(f"{day} {'workday 工作日' if calendar.is_workday(day) else 'day off 休息日'}{known}")
    return 0


def _reference(args: argparse.Namespace, settings: Settings) -> int:
    from grievance.reference import schemas, service

    with transaction(_session_factory(settings)) as session:
        kind = args.reference_kind
        if kind == "department":
            department_in = cli_errors.checked_model(
                schemas.DepartmentIn, code=args.code, name=args.name, parent=args.parent
            )
            row: Any = service.create_department(session, department_in=department_in)
        elif kind == "station":
            station_in = cli_errors.checked_model(
                schemas.StationIn,
                code=args.code,
                name=args.name,
                address=args.address,
                community=args.community,
                department=args.department,
            )
            row = service.create_station(session, station_in=station_in)
        elif kind == "meeting":
            meeting_in = cli_errors.checked_model(
                schemas.MeetingIn,
                title=args.title,
                held_on=args.date,
                venue=args.venue,
                hosts=args.hosts,
                attendee_count=args.attendees,
                station=args.station,
            )
            row = service.create_meeting(session, meeting_in=meeting_in)
        elif kind == "enterprise":
            enterprise_in = cli_errors.checked_model(
                schemas.EnterpriseIn,
                name=args.name,
                credit_code=args.credit_code,
                is_large=args.large,
                liaison=args.liaison,
            )
            row = service.create_enterprise(session, enterprise_in=enterprise_in)
        else:
            loaded = service.load_categories(session, Path(args.file or settings.categories_file))
            print("\n".join(service.describe_categories_load(loaded)))
            return 0
        print(f"已创建 (created) {kind} id={row.id}")
    return 0


def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    from grievance.demo import seed_demo

    with transaction(_session_factory(settings)) as session:
        seed_demo(session, settings, if_empty=args.if_empty, out=sys.stdout, address=serve_address())
    return 0


def _runtime(settings: Settings):  # type: ignore[no-untyped-def]
    from grievance.workflow.engine import Runtime
    from grievance.workflow.loader import load_workflows

    return Runtime(settings=settings, workflows=load_workflows(settings.workflows_dir))


def _write_output(body: str | bytes, output: str | None) -> None:
    if output:
        write_file(Path(output), body.encode("utf-8") if isinstance(body, str) else body)
        print(f"已写入 (written) {output}", file=sys.stderr)
    elif isinstance(body, bytes):
        sys.stdout.buffer.write(body)
    else:
        sys.stdout.write(body if body.endswith("\n") else body + "\n")


def cmd_report(args: argparse.Namespace, settings: Settings) -> int:
    import json

    from grievance.reports import exports
    from grievance.reports import service as reports

    if args.action == "publish":
        return _publish_month(args, settings)
    args.format = cli_errors.report_format(args.format, args.output)
    if args.format in ("xlsx",) and not args.output:
        raise InvalidInput.field("output", "XLSX 须用 -o 指定输出文件", "give -o FILE for xlsx")
    with transaction(_session_factory(settings)) as session:
        period = reports.make_period(
            settings, start=args.start, end=args.end, as_of=args.as_of, month_key=args.month, now=utcnow()
        )
        filters = reports.make_filters(
            session,
            channel=args.channel,
            case_type=args.case_type,
            petitioner_kind=args.petitioner_kind,
            department=args.department,
            station=args.station,
            meeting=args.meeting,
            enterprise=args.enterprise,
            category=args.category,
        )
        if args.cases:
            metric, _, part = args.cases.partition(":")
            body = reports.explain(
                session, settings, period=period, metric_key=metric, part=part or "numerator", filters=filters
            )
            _print_cases(body, args)
            return 0
        if args.monthly:
            if not args.month:
                raise InvalidInput.field(
                    "month", "月报须用 --month YYYY-MM 指定月份", "--monthly needs --month YYYY-MM"
                )
            doc = reports.monthly_report(session, settings, month_key=args.month, as_of=period.as_of)
            if args.format == "csv":
                raise InvalidInput.field(
                    "format", "月报可导出 html、xlsx 或 json", "the monthly report is html, xlsx or json"
                )
            if args.format == "json":
                body = json.dumps(doc, ensure_ascii=False, indent=2, default=str)
            else:
                body = exports.render_monthly(doc, args.format)
        else:
            dimensions = [d.strip() for item in args.group_by for d in item.split(",") if d.strip()]
            report = reports.rates(session, settings, period=period, filters=filters, group_by=dimensions)
            if args.format == "json":
                body = json.dumps(report, ensure_ascii=False, indent=2, default=str)
            else:
                body = exports.render_rates(report, args.format)
        if args.format != "json":
            reports.audit_export(session, None, f"cli report {args.format} {period.start}..{period.end}")
    _write_output(body, args.output)
    return 0


def _publish_month(args: argparse.Namespace, settings: Settings) -> int:
    """`grievance report publish --month YYYY-MM --by SUPERVISOR [--reason TEXT]`: publish a month (发布月报)."""
    from sqlmodel import select

    from grievance.reports import published
    from grievance.users.models import User

    if not args.month or not args.by:
        raise InvalidInput.field(
            "month", "发布月报须给出 --month YYYY-MM 和 --by 督办员用户名", "give --month YYYY-MM and --by SUPERVISOR"
        )
    with transaction(_session_factory(settings)) as session:
        user = session.exec(select(User).where(User.username == args.by)).first()
        if user is None:
            raise InvalidInput.field("by", f"用户「{args.by}」不存在", f"no user {args.by!r}")
        row = published.publish_month(session, settings, args.month, user, reason=args.reason, now=utcnow())
        print(
            f"{row.month} 第 {row.version} 版已发布 (version {row.version} published), "
            f"as of {row.as_of.isoformat()}, sha256 {row.content_hash}"
        )
    return 0


def _print_cases(body: dict[str, Any], args: argparse.Namespace) -> None:
    import json

    if args.format == "json":
        _write_output(json.dumps(body, ensure_ascii=False, indent=2, default=str), args.output)
        return
    print(f"# {body['label']} {body['part']}: {body['fact_label']} — {body['count']}", file=sys.stderr)
    print(f"# {body['formula']}", file=sys.stderr)
    lines = []
    for item in body["items"]:
        if body["unit"] == "enterprise":
            lines.append(f"{item['credit_code']}\t{item['name']}")
        else:
            lines.append(
                f"{item['case_no']}\t{item['received_at']:%Y-%m-%d}\t{item['state']}\t"
                f"{item.get('department_name', '')}\t{item['title']}"
            )
    _write_output("\n".join(lines), args.output)


def cmd_import(args: argparse.Namespace, settings: Settings) -> int:
    from grievance.cases.upload_limits import file_too_large
    from grievance.ledger.importer import describe, import_ledger, read_ledger

    path = Path(args.file)
    with path.open("rb") as file:  # a missing file or a folder is said first (cli_errors: file_problem)
        size = os.fstat(file.fileno()).st_size
    if size > settings.ledger_max_bytes:  # as the upload is refused (web/api/ledger.py, the import page)
        raise file_too_large("file", settings.ledger_max_bytes)
    # Read from disk as it is streamed: neither the file nor its rows are held whole.
    ledger = read_ledger(path.name, path, max_rows=settings.ledger_max_rows)
    runtime = _runtime(settings)

    def progress(done: int, total: int) -> None:
        width = 30
        filled = width * done // total
        print(f"\r导入中 (importing) [{'#' * filled}{'.' * (width - filled)}] {done}/{total}", end="", file=sys.stderr)
        if done == total:
            print(file=sys.stderr)

    summary = import_ledger(
        _session_factory(settings),
        runtime,
        ledger,
        dry_run=args.dry_run,
        create_categories=args.create_categories,
        progress=progress,
    )
    print("\n".join(describe(summary)))
    return 0


def cmd_ledger_template(args: argparse.Namespace, settings: Settings) -> int:
    from grievance.ledger.template import template_xlsx

    path = Path(args.output)
    if path.suffix.lower() != ".xlsx":
        raise InvalidInput.field(
            "output", f"模板文件须以 .xlsx 结尾，收到 {path}", f"the template file must end in .xlsx, got {path}"
        )
    path.write_bytes(template_xlsx())
    print(f"已写入台账模板 {path} (wrote the ledger template to {path})")
    return 0


def cmd_export(args: argparse.Namespace, settings: Settings) -> int:
    from grievance.ledger import exporter
    from grievance.reports.periods import local_midnight
    from grievance.workflow.calendar_service import parse_day_in_range

    suffix = Path(args.file).suffix.lower()
    if suffix not in (".csv", ".xlsx"):
        raise InvalidInput.field(
            "file",
            f"台账文件须以 .csv 或 .xlsx 结尾，收到 {args.file}",
            f"the ledger file must end in .csv or .xlsx, got {args.file}",
        )
    start = local_midnight(parse_day_in_range(args.start, "from"), settings.timezone) if args.start else None
    end = local_midnight(parse_day_in_range(args.end, "to"), settings.timezone) if args.end else None
    with transaction(_session_factory(settings)) as session:
        rows = exporter.export_rows(
            session, workflows=_runtime(settings).workflows, timezone=settings.timezone, start=start, end=end
        )
        from grievance.reports.service import audit_export

        audit_export(session, None, f"cli ledger export {len(rows)} rows to {args.file}")
    body = exporter.to_xlsx(rows) if suffix == ".xlsx" else exporter.to_csv(rows)
    write_file(Path(args.file), body, field="file")
    print(f"已导出 (exported) {len(rows)} 件 -> {args.file}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = cli_errors.BilingualArgumentParser(
        prog="grievance", description="诉求办理服务 (case management for appeals)"
    )
    parser.add_argument(
        "--traceback", action="store_true", help="show the Python traceback of an unexpected error (for a bug report)"
    )
    sub = parser.add_subparsers(dest="command", required=True)

    db = sub.add_parser("db", help="database").add_subparsers(dest="db_command", required=True)
    db.add_parser("upgrade", help="create or migrate the schema (Alembic)").set_defaults(handler=cmd_db_upgrade)

    serve = sub.add_parser("serve", help="run the web service")
    serve.add_argument("--host", default=serve_setting("host"), help="default: GRIEVANCE_HOST, else 127.0.0.1")
    # A string default goes through the type too, so a bad GRIEVANCE_PORT is reported like a bad --port.
    serve.add_argument(
        "--port", type=cli_errors.port, default=serve_setting("port"), help="default: GRIEVANCE_PORT, else 8000"
    )
    serve.add_argument(
        "--workers", type=cli_errors.workers, default=1, help="worker processes (PostgreSQL; SQLite wants 1)"
    )
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
    cal_list.add_argument("--year", type=cli_errors.year)
    cal_add = cal_sub.add_parser("add", help="add or change an override")
    cal_add.add_argument("day", help="YYYY-MM-DD")
    cal_add.add_argument("kind", help="workday (上班/补班) or holiday (休息/放假)")
    cal_add.add_argument("--note")
    cal_rm = cal_sub.add_parser("remove", help="remove an override")
    cal_rm.add_argument("day")
    cal_imp = cal_sub.add_parser("import", help="import lines 'YYYY-MM-DD,workday|holiday[,note]'")
    cal_imp.add_argument("file")
    cal_imp.add_argument("--dry-run", action="store_true", help="say what the file would change; write nothing")
    cal_due = cal_sub.add_parser("due", help="the due time of a limit from a start")
    cal_due.add_argument("start", help="ISO time; without a zone it is Asia/Shanghai")
    cal_due.add_argument("amount", type=cli_errors.number)
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
            q.add_argument("--attendees", default=0, help="a whole number (checked like the API's attendee_count)")
            q.add_argument("--station")
        elif kind == "enterprise":
            q.add_argument("name")
            q.add_argument("credit_code")
            q.add_argument("--large", action="store_true", help="规上企业")
            q.add_argument("--liaison", help="username of the liaison cadre")
        else:
            q.add_argument("file", nargs="?")

    report = sub.add_parser("report", help="rates of a period (JSON, CSV, XLSX, HTML), their cases, the monthly report")
    report.add_argument(
        "action", nargs="?", choices=["publish"], help="publish: freeze --month's report as the official record"
    )
    report.add_argument("--by", help="publish: the supervisor's user name")
    report.add_argument("--reason", help="publish: why a published month is published again (a correction)")
    report.add_argument("--from", dest="start", help="first day YYYY-MM-DD (local time)")
    report.add_argument("--to", dest="end", help="the day after the last, YYYY-MM-DD")
    report.add_argument("--month", help="an assessment month YYYY-MM instead of --from/--to")
    report.add_argument("--as-of", dest="as_of", help="ISO 8601; events after it are ignored (default now)")
    report.add_argument(
        "--group-by",
        action="append",
        default=[],
        help="department, channel, station, meeting, category, case_type, petitioner_kind, month",
    )
    for name in (
        "channel",
        "case_type",
        "petitioner_kind",
        "department",
        "station",
        "meeting",
        "enterprise",
        "category",
    ):
        report.add_argument(f"--{name.replace('_', '-')}", dest=name)
    report.add_argument(
        "--format",
        choices=["json", "csv", "xlsx", "html"],
        help="default: the -o file's extension, else json",
    )
    report.add_argument("--cases", metavar="METRIC[:numerator|denominator]", help="list the cases behind a figure")
    report.add_argument(
        "--monthly", action="store_true", help="the monthly report (月报) of --month (html, xlsx, json)"
    )
    report.add_argument("-o", "--output", help="write to this file instead of standard output")
    report.set_defaults(handler=cmd_report)

    imp = sub.add_parser("import", help="import a ledger (台账) .csv or .xlsx; all or nothing")
    imp.add_argument(
        "--create-categories",
        action="store_true",
        help="create the categories the ledger names that the tree lacks, under their path",
    )
    imp.add_argument("file")
    imp.add_argument("--dry-run", action="store_true", help="validate and report; write nothing")
    imp.set_defaults(handler=cmd_import)

    ledger = sub.add_parser("ledger", help="the ledger format").add_subparsers(dest="ledger_command", required=True)
    template = ledger.add_parser("template", help="write the ledger template: Chinese headers and one example row")
    template.add_argument("-o", "--output", required=True, help="the .xlsx file to write")
    template.set_defaults(handler=cmd_ledger_template)

    exp = sub.add_parser("export", help="export cases as a ledger (.csv or .xlsx), the import format")
    exp.add_argument("file")
    exp.add_argument("--from", dest="start", help="received from this day (YYYY-MM-DD)")
    exp.add_argument("--to", dest="end", help="received before this day (YYYY-MM-DD)")
    exp.set_defaults(handler=cmd_export)

    demo = sub.add_parser(
        "demo",
        help="load demo data (the year 2025 and the time since, up to now) and demo accounts (demo only); "
        "on a database that has the demo, change nothing (its API tokens keep working)",
    )
    demo.add_argument("--if-empty", action="store_true", help="only when the database has no users yet")
    demo.set_defaults(handler=cmd_demo)

    from grievance.backup import add_commands as add_backup_commands

    add_backup_commands(sub)  # backup, restore
    from grievance.open311.cli import add_commands as add_open311_commands

    add_open311_commands(sub)  # open311 keys create|list|revoke
    from grievance.outbox.cli import add_commands as add_outbox_commands

    add_outbox_commands(sub)  # outbox, subscriptions, sweep
    return parser


def every_parser(parser: argparse.ArgumentParser) -> list[tuple[str, argparse.ArgumentParser]]:
    """(prog, parser) of the command and each of its subcommands, at every depth: what `--help` can print. argparse
    %-formats every help text when it prints it, so a literal "%" must be written "%%" (tests print them all)."""
    found = [(parser.prog, parser)]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in dict.fromkeys(action.choices.values()):  # aliases share a parser
                found.extend(every_parser(sub))
    return found


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; every error is one bilingual message on stderr and exit code 2 (cli_errors)."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    bad_argument = cli_errors.undecodable_argument(arguments)
    if bad_argument is not None:
        return cli_errors.print_problem(bad_argument)
    args = build_parser().parse_args(arguments)
    try:
        settings = get_settings()
    except ValidationError as exc:
        return cli_errors.print_problem(cli_errors.settings_problem(exc))
    with cli_errors.reported(
        lock_timeout=settings.db_lock_timeout_seconds,
        pending_migration=lambda: _pending_migration(settings),
        traceback=args.traceback,
        database_url=settings.database_url,
    ) as code:
        code[0] = int(args.handler(args, settings))
    return code[0]


if __name__ == "__main__":
    raise SystemExit(main())
