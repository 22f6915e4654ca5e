"""The outbox and subscription commands of `grievance` (outbox run/status/dead/resend, subscriptions
add/list/enable/disable/remove) and `grievance sweep`, registered by grievance.cli.build_parser."""

from __future__ import annotations

import argparse
import logging
import signal
import threading
from typing import Any

from grievance.config import Settings
from grievance.db import engine_for, make_sessionmaker, transaction


def _sessions(settings: Settings) -> Any:
    return make_sessionmaker(engine_for(settings))


def _runtime(settings: Settings) -> Any:
    from grievance.workflow.engine import Runtime
    from grievance.workflow.loader import load_workflows

    return Runtime(settings=settings, workflows=load_workflows(settings.workflows_dir))


def _log_to_stderr() -> None:
    """A long-running command says what it does (start, stop, failed sends) on standard error."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")


def _stop_on_signals() -> threading.Event:
    """An event set by SIGINT or SIGTERM, so a loop finishes its round and exits cleanly."""
    stop = threading.Event()

    def handler(_signum: int, _frame: Any) -> None:
        stop.set()

    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)
    return stop


def _split(value: str | None) -> list[str]:
    return [part.strip() for part in (value or "").replace("，", ",").split(",") if part.strip()]


def cmd_outbox_run(args: argparse.Namespace, settings: Settings) -> int:
    from grievance.outbox import worker

    sessions = _sessions(settings)
    if args.once:
        done = worker.run_once(sessions, settings)
        print(
            f"分发 (fanned out) {done.fanned} 条消息；送达 (delivered) {done.delivered}，"
            f"待重试 (to retry) {done.retried}，失败 (dead) {done.dead}，跳过 (skipped) {done.skipped}"
        )
        return 0
    _log_to_stderr()
    print(f"推送进程运行中 (outbox worker running; every {settings.outbox_poll_seconds}s; Ctrl-C stops)")
    worker.run_worker(sessions, _runtime(settings), _stop_on_signals())
    return 0


def cmd_outbox_status(args: argparse.Namespace, settings: Settings) -> int:
    from grievance.outbox.worker import status_counts

    with transaction(_sessions(settings)) as session:
        counts = status_counts(session)
    print(
        f"待分发消息 (messages to fan out): {counts['unfanned']}\n"
        f"待发送 (pending): {counts['pending']}\n"
        f"已送达 (delivered): {counts['delivered']}\n"
        f"失败 (dead): {counts['dead']}\n"
        f"跳过 (skipped): {counts['skipped']}"
    )
    return 0


def cmd_outbox_dead(args: argparse.Namespace, settings: Settings) -> int:
    from grievance.outbox.subscriptions import list_deliveries

    with transaction(_sessions(settings)) as session:
        rows = list_deliveries(session, status="dead", limit=args.limit)
    if not rows:
        print("没有失败的投递 (no dead deliveries)")
        return 0
    print("id\tcase\tevent\tsubscription\tattempts\tlast_status\tlast_error")
    for delivery, message, subscription in rows:
        case_no = (message.body.get("case") or {}).get("case_no", "")
        print(
            f"{delivery.id}\t{case_no}\t{message.event}\t{subscription.name}\t{delivery.attempts}\t"
            f"{delivery.last_status_code or '-'}\t{delivery.last_error}"
        )
    return 0


def cmd_outbox_resend(args: argparse.Namespace, settings: Settings) -> int:
    from grievance.errors import InvalidInput
    from grievance.outbox.subscriptions import resend

    if bool(args.ids) == bool(args.all):
        raise InvalidInput.field(
            "ids", "请给出投递编号，或用 --all（二者选一）", "give delivery ids or --all (one of them)"
        )
    with transaction(_sessions(settings)) as session:
        count = resend(session, None if args.all else args.ids)
    print(f"已重新排队 (queued again) {count} 条投递")
    return 0


def _describe(session: Any, subscription: Any) -> str:
    """One line of `subscriptions list`: the URL as the admin page shows it (query values masked: robot tokens),
    and whether a secret is set, never the secret."""
    from grievance.outbox.subscriptions import department_codes, shown_url

    events = ",".join(subscription.events) or "*"
    departments = ",".join(department_codes(session, subscription.department_ids)) or "*"
    state = "active" if subscription.active else "paused"
    secret = "secret=set" if subscription.secret else "secret=none"
    return (
        f"{subscription.id}\t{subscription.name}\t{subscription.format}\t{state}\t"
        f"events={events}\tdepartments={departments}\t{secret}\t{shown_url(subscription.url)}"
    )


def cmd_subscriptions(args: argparse.Namespace, settings: Settings) -> int:
    from grievance.errors import InvalidInput
    from grievance.outbox import subscriptions as service

    if args.verb == "add" and args.events is not None and not _split(args.events):
        raise InvalidInput.field(
            "events",
            "--events 不能为空；要接收全部事件，请不写 --events",
            "--events cannot be empty; to receive every event, leave --events out",
        )
    runtime = _runtime(settings)
    with transaction(_sessions(settings)) as session:
        if args.verb == "add":
            made = service.create_subscription(
                session,
                workflows=runtime.workflows,
                name=args.name,
                url=args.url,
                format=args.format,
                secret=args.secret if args.secret is not None else "",
                events=_split(args.events),
                departments=_split(args.departments),
            )
            print(f"已添加订阅 (subscription added): {_describe(session, made)}")
            if made.format == "json" and not args.secret:
                print(f"签名密钥 (signing secret, shown once): {made.secret}")
        elif args.verb == "list":
            found = service.list_subscriptions(session)
            for subscription in found:
                print(_describe(session, subscription))
            if not found:
                print("没有订阅 (no subscriptions)")
        elif args.verb in ("enable", "disable"):
            subscription = service.set_active(
                session, service.get_subscription(session, args.ref), args.verb == "enable"
            )
            print(f"{'已启用 (enabled)' if subscription.active else '已停用 (disabled)'}: {subscription.name}")
        else:
            subscription = service.get_subscription(session, args.ref)
            removed = service.remove_subscription(session, subscription)
            print(f"已删除订阅 (removed) {subscription.name} 及其 {removed} 条投递 (and its deliveries)")
    return 0


def cmd_sweep(args: argparse.Namespace, settings: Settings) -> int:
    from grievance.supervision import sweeper

    sessions, runtime = _sessions(settings), _runtime(settings)
    if args.once:
        done = sweeper.sweep_once(sessions, runtime)
        print(
            f"督办巡查完成 (sweep done)：自动催办 (urged) {done.urged}，超期 (overdue) {done.overdue}，"
            f"跳过 (skipped, retried next time) {done.skipped}"
        )
        return 0
    _log_to_stderr()
    print(f"督办巡查运行中 (sweeper running; every {settings.sweep_interval_seconds}s; Ctrl-C stops)")
    sweeper.run_sweeper(sessions, runtime, _stop_on_signals())
    return 0


def cmd_outbox_prune(args: argparse.Namespace, settings: Settings) -> int:
    from grievance.db import utcnow
    from grievance.errors import InvalidInput
    from grievance.outbox.retention import prune_sent

    days = settings.outbox_retention_days if args.days is None else args.days
    if days < 1:
        raise InvalidInput.field(
            "days",
            f"保留天数须为不小于1的整数，收到 {days}",
            f"--days must be a whole number of at least 1, got {days}",
        )
    count = prune_sent(_sessions(settings), now=utcnow(), retention_days=days)
    print(f"已删除 {count} 条 {days} 天前已送达的推送消息 (pruned {count} sent messages older than {days} days)")
    return 0


def add_commands(sub: Any) -> None:
    """Register `outbox`, `subscriptions` and `sweep` on the CLI's subcommands (grievance.cli.build_parser)."""
    from grievance.outbox.formats import FORMATS

    outbox = sub.add_parser("outbox", help="the outbox: send events to subscribers").add_subparsers(
        dest="outbox_command", required=True
    )
    run = outbox.add_parser("run", help="run the delivery worker (several may run on PostgreSQL; one on SQLite)")
    run.add_argument("--once", action="store_true", help="send what is due now, then exit")
    run.set_defaults(handler=cmd_outbox_run)
    outbox.add_parser("status", help="counts of pending, delivered, dead deliveries").set_defaults(
        handler=cmd_outbox_status
    )
    dead = outbox.add_parser("dead", help="list dead deliveries (out of attempts)")
    dead.add_argument("--limit", type=int, default=100)
    dead.set_defaults(handler=cmd_outbox_dead)
    again = outbox.add_parser("resend", help="send dead deliveries again (attempts from 0)")
    again.add_argument("ids", nargs="*", type=int, metavar="ID")
    again.add_argument("--all", action="store_true", help="every dead delivery")
    again.set_defaults(handler=cmd_outbox_resend)
    prune = outbox.add_parser(
        "prune", help="delete sent messages older than --days (default: outbox_retention_days); dead ones stay"
    )
    prune.add_argument("--days", type=int, help="keep this many days (at least 1)")
    prune.set_defaults(handler=cmd_outbox_prune)

    subs = sub.add_parser("subscriptions", help="who receives which events").add_subparsers(dest="verb", required=True)
    add = subs.add_parser("add", help="add a subscription")
    add.add_argument("name")
    add.add_argument("url", help="http(s) URL (a DingTalk or WeCom robot's webhook address)")
    add.add_argument("--format", default="json", choices=list(FORMATS))
    add.add_argument(
        "--secret",
        help="json: HMAC key (generated when omitted); hotline12345: the key agreed with the platform (required); "
        "dingtalk: the robot's 加签 secret (SEC…, optional); wecom: none",
    )
    add.add_argument(
        "--events",
        help="comma-separated events (dispatch,accept,auto_urge,overdue,...; due_soon means auto_urge); "
        "leave the option out for every event",
    )
    add.add_argument("--departments", help="comma-separated department codes; all if omitted")
    add.set_defaults(handler=cmd_subscriptions)
    subs.add_parser("list", help="list subscriptions").set_defaults(handler=cmd_subscriptions)
    for verb, text in (
        ("enable", "resume a subscription: what was queued while paused goes out, in order per case"),
        ("disable", "pause a subscription: events keep being queued for it and wait until it is resumed"),
        ("remove", "delete a subscription and its deliveries"),
    ):
        one = subs.add_parser(verb, help=text)
        one.add_argument("ref", help="id or name")
        one.set_defaults(handler=cmd_subscriptions)

    sweep = sub.add_parser(
        "sweep",
        help="automatic supervision: urge at 80%% of the time, note overdue cases (--once: one sweep, then exit)",
    )
    sweep.add_argument("--once", action="store_true", help="one sweep, then exit")
    sweep.set_defaults(handler=cmd_sweep)
