"""`grievance open311 keys create NAME | list | revoke ID`: the administrator's Open311 keys from the shell, through
the same functions as the admin page (grievance/open311/keys.py)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from grievance.config import Settings
from grievance.db import engine_for, make_sessionmaker, transaction, utcnow
from grievance.open311 import keys


def _sessions(settings: Settings) -> Any:
    return make_sessionmaker(engine_for(settings))


def cmd_create(args: argparse.Namespace, settings: Settings) -> int:
    """Print the new key on stdout (once: only its hash is kept) and how to use it on stderr."""
    with transaction(_sessions(settings)) as session:
        row, key = keys.create_key(session, name=args.name)
        key_id = row.id
    print(key)
    print(
        f"# Open311 密钥 {key_id}（{args.name.strip()}），只显示这一次 (shown once): POST requests 的 api_key 字段",
        file=sys.stderr,
    )
    return 0


def cmd_list(args: argparse.Namespace, settings: Settings) -> int:
    """One line per key: id, prefix, state (active or revoked with its time), last use, name. No key in clear."""
    with transaction(_sessions(settings)) as session:
        rows = keys.list_keys(session)
    if not rows:
        print("没有 Open311 密钥 (no Open311 keys)")
    for row in rows:
        state = f"revoked {row.revoked_at:%Y-%m-%d %H:%M}Z" if row.revoked_at else "active"
        used = f"{row.last_used_at:%Y-%m-%d %H:%M}Z" if row.last_used_at else "never used"
        print(f"{row.id}\t{row.key_prefix}…\t{state}\t{used}\t{row.name}")
    return 0


def cmd_revoke(args: argparse.Namespace, settings: Settings) -> int:
    with transaction(_sessions(settings)) as session:
        row = keys.revoke_key(session, key_id=args.id, now=utcnow())
        name = row.name
    print(f"已吊销 Open311 密钥 {args.id}（{name}）(revoked)")
    return 0


def add_commands(sub: Any) -> None:
    """Register `open311 keys create|list|revoke` on the CLI's subcommands (grievance.cli.build_parser)."""
    open311 = sub.add_parser("open311", help="Open311 GeoReport v2").add_subparsers(
        dest="open311_command", required=True
    )
    group = open311.add_parser("keys", help="API keys of Open311 clients").add_subparsers(
        dest="keys_command", required=True
    )
    create = group.add_parser("create", help="issue a key (shown once)")
    create.add_argument("name", help="who the key is for (an app, a partner)")
    create.set_defaults(handler=cmd_create)
    group.add_parser("list", help="list keys (prefix, state, last use)").set_defaults(handler=cmd_list)
    revoke = group.add_parser("revoke", help="revoke a key by its id")
    revoke.add_argument("id", type=int, help="the key's id (from `list`)")
    revoke.set_defaults(handler=cmd_revoke)
