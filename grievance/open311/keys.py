"""Open311 API keys: the admin gives one to each client (an app, a partner's system) that files cases; the key is
shown once and only its SHA-256 is kept, so a copy of the database files nothing."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime

from sqlmodel import Session, col, select

from grievance.errors import Duplicate, InvalidInput, NotFound
from grievance.open311.models import Open311ApiKey

KEY_PREFIX = "o311_"  # recognisable in logs and secret scanners
PREFIX_SHOWN = 12  # characters kept in clear (Open311ApiKey.key_prefix) to tell keys apart in lists
NAME_MAX = 100


def key_sha256(key: str) -> str:
    """The stored form of a key: SHA-256 of its UTF-8 bytes, 64 hex digits. A key is 32 random bytes, so a
    plain (unsalted, fast) hash is enough: there is no dictionary to try."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def create_key(session: Session, *, name: str, created_by_id: int | None = None) -> tuple[Open311ApiKey, str]:
    """A new key for the client called `name` (1..100 characters after stripping): (the stored row, the key in
    clear). The caller shows the key once; it cannot be read back. Raises InvalidInput for a bad name, Duplicate
    when an active key has the same name (letter case and surrounding spaces aside): the name is how the list,
    the CLI and a revocation tell keys apart. A revoked key's name is free again; to replace a key without a gap,
    give the new one another name ("市民通 app 2"), then revoke the old one."""
    name = name.strip()
    if not name or len(name) > NAME_MAX:
        raise InvalidInput.field(
            "name", f"密钥名称须为 1 到 {NAME_MAX} 个字符", f"the key's name must be 1 to {NAME_MAX} characters"
        )
    active = session.exec(select(Open311ApiKey).where(col(Open311ApiKey.revoked_at).is_(None))).all()
    same = next((row for row in active if row.name.strip().casefold() == name.casefold()), None)
    if same is not None:
        raise Duplicate(
            f"已有名为「{same.name}」的有效密钥（{same.key_prefix}…，编号 {same.id}）；请换一个名称，"
            f"如「{name} 2」，或先吊销旧密钥",
            f"an active key is already named '{same.name}' ({same.key_prefix}…, id {same.id}); choose another name, "
            f"such as '{name} 2', or revoke the old key first",
        )
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    row = Open311ApiKey(
        name=name, key_prefix=key[:PREFIX_SHOWN], key_sha256=key_sha256(key), created_by_id=created_by_id
    )
    session.add(row)
    session.flush()
    return row, key


def list_keys(session: Session) -> list[Open311ApiKey]:
    """Every key, active ones first, newest first within each group."""
    rows = session.exec(select(Open311ApiKey).order_by(col(Open311ApiKey.id).desc())).all()
    return sorted(rows, key=lambda row: row.revoked_at is not None)


def revoke_key(session: Session, *, key_id: int, now: datetime) -> Open311ApiKey:
    """Revoke key `key_id` at `now` (UTC); revoking a revoked key keeps its first revocation time. Raises NotFound."""
    row = session.get(Open311ApiKey, key_id) if 0 < key_id < 2**63 else None
    if row is None:
        raise NotFound(f"Open311 密钥 {key_id} 不存在", f"no Open311 key {key_id}")
    if row.revoked_at is None:
        row.revoked_at = now
        session.add(row)
        session.flush()
    return row


def verify_key(session: Session, key: str | None, *, now: datetime) -> Open311ApiKey | None:
    """The active key row `key` belongs to, its last_used_at set to `now`; None for a missing, unknown or revoked
    key. The row is found by the key's hash (the database never compares the key itself) and the hashes are then
    compared in constant time (hmac.compare_digest)."""
    if not key or len(key) > 200:
        return None
    digest = key_sha256(key)
    row = session.exec(select(Open311ApiKey).where(Open311ApiKey.key_sha256 == digest)).first()
    if row is None or not hmac.compare_digest(row.key_sha256, digest) or row.revoked_at is not None:
        return None
    row.last_used_at = now
    session.add(row)
    return row
