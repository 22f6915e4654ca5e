"""Browser sign-in with a throttle that stops password guessing without letting a stranger lock a colleague out.

The design (counters shared by every worker process, grievance.throttle):

- A throttle slot is taken before the password is checked, in its own short transaction that counts the attempt
  as a failure in advance (under a row lock, so concurrent attempts take turns); a success then takes its count
  back. N concurrent guesses therefore cannot all be checked: only those the counters still allow are.
- Per pair (account, address): the first PAIR_FREE_FAILURES failures cost nothing (typos); after failure k > 3
  the pair is refused for 2**(k-4) seconds (1 s, 2 s, 4 s ... 512 s), capped at PAIR_DELAY_CAP (15 minutes).
  A success resets the pair; failures are forgotten after PAIR_MEMORY (a day) without one.
- Per address: ADDRESS_FAILURES (100) failures in ADDRESS_WINDOW (15 minutes) across all accounts, then that
  address is refused until the window ends. An office behind one NAT (200 people) needs 100 typos in 15
  minutes before it is slowed; an address that sprays many accounts is stopped.
- Per account across all addresses: ACCOUNT_FAILURES (20) failures an hour, then new addresses are refused until
  the hour ends. A known address of the account (a pair that signed in successfully within
  KNOWN_ADDRESS_DAYS, 90 days) counts against neither the account nor the address ceiling: a stranger guessing
  from elsewhere never locks the owner, nor the administrator, out at their usual desk. Only the pair's own
  delay applies there, and that needs failures from that very address.
- IPv6 addresses are counted per /64 network (one subscriber's usual allocation), so a host cannot step around
  the per-address counters by rotating its interface address.

What an attacker gets in a year against one account (passwords have at least 10 characters, argon2):
  - from one address: 14 guesses in the first 17 minutes (3 free, then waits of 1 s ... 512 s), then one each
    15 minutes: at most about 4 * 24 * 365 = 35,040 (waiting a day for the pair to be forgotten gives less);
  - from any number of addresses together: at most 20 an hour, 20 * 24 * 365 = 175,200, plus 35,040 from each
    address where the owner signed in within 90 days (the attacker would have to sit behind that address).
  An account that has never signed in has no known address: while strangers keep its account-wide count full,
  its owner waits for the hour to end (API tokens, issued with `grievance token create`, are not affected).
  The refusal (429) says when to try again (`retry_after` seconds, the Retry-After header) and never which
  counter refused, nor whether the account exists. Refused attempts change no counter.

Failures are also logged (LoginAttempt: account name, address, time) for an administrator's review and pruned
after LOGIN_ATTEMPT_DAYS; counters are pruned once they expire, a small batch on every failure."""

from __future__ import annotations

import math
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache

from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete
from sqlalchemy.orm import sessionmaker
from sqlmodel import Session, col, select

from grievance.db import transaction, utcnow
from grievance.errors import NotAuthenticated, TooManyAttempts
from grievance.throttle import address_key, count_in_window, locked_counter, prune_counters, window_end
from grievance.users.models import LoginAttempt, User, WebSession
from grievance.users.service import SESSION_HOURS, _digest, _hasher

PAIR_FREE_FAILURES = 3
PAIR_DELAY_CAP = timedelta(minutes=15)
PAIR_MEMORY = timedelta(days=1)
KNOWN_ADDRESS_DAYS = 90
ADDRESS_FAILURES = 100
ADDRESS_WINDOW = timedelta(minutes=15)
ACCOUNT_FAILURES = 20
ACCOUNT_WINDOW = timedelta(hours=1)
LOGIN_ATTEMPT_DAYS = 30


def pair_delay(failures: int) -> timedelta:
    """How long a pair is refused after its `failures`-th failure in a row: nothing for the first
    PAIR_FREE_FAILURES, then 1 s, 2 s, 4 s ... doubling, at most PAIR_DELAY_CAP."""
    if failures <= PAIR_FREE_FAILURES:
        return timedelta(0)
    exponent = failures - PAIR_FREE_FAILURES - 1
    if exponent >= 20:  # 2**20 s is far past the cap; keeps the number small
        return PAIR_DELAY_CAP
    return min(timedelta(seconds=2**exponent), PAIR_DELAY_CAP)


def _keys(username: str, ip: str) -> tuple[str, str, str]:
    address = address_key(ip)
    return f"signin:pair:{address}|{username[:64]}", f"signin:addr:{address}", f"signin:acct:{username[:64]}"


def too_many_attempts(until: datetime, now: datetime) -> TooManyAttempts:
    """The 429: when to try again (whole seconds, at least 1, in `retry_after`), in both languages."""
    seconds = max(1, math.ceil((until - now).total_seconds()))
    if seconds < 60:
        zh, en = f"{seconds} 秒", f"{seconds} second{'s' if seconds > 1 else ''}"
    else:
        minutes = math.ceil(seconds / 60)
        zh, en = f"{minutes} 分钟", f"{minutes} minute{'s' if minutes > 1 else ''}"
    return TooManyAttempts(
        f"登录失败次数过多，请 {zh}后再试", f"too many failed sign-ins; try again in {en}", retry_after=seconds
    )


@dataclass
class _Slot:
    known_address: bool
    user_id: int | None
    password_hash: str | None


def _take_slot(session: Session, username: str, ip: str, now: datetime) -> _Slot:
    """Count this attempt as a failure in advance, or raise TooManyAttempts (the caller's transaction then rolls
    back: a refused attempt changes no counter). Rows are locked in one order (pair, address, account)."""
    pair_key, addr_key, acct_key = _keys(username, ip)
    pair = locked_counter(session, pair_key, now)
    if pair.blocked_until is not None and pair.blocked_until > now:
        raise too_many_attempts(pair.blocked_until, now)
    known = pair.good_until is not None and pair.good_until > now
    if not known:
        for key, ceiling, window in (
            (addr_key, ADDRESS_FAILURES, ADDRESS_WINDOW),
            (acct_key, ACCOUNT_FAILURES, ACCOUNT_WINDOW),
        ):
            row = locked_counter(session, key, now)
            if count_in_window(row, window=window, now=now) > ceiling:
                raise too_many_attempts(window_end(row, window), now)
            session.add(row)
    if pair.count and pair.window_start + PAIR_MEMORY <= now:
        pair.count = 0  # a day without failures: forgotten
    pair.count += 1
    pair.window_start = now  # the pair's last failure (counted in advance)
    delay = pair_delay(pair.count)
    pair.blocked_until = now + delay if delay else None
    pair.expires_at = max(now + PAIR_MEMORY, pair.good_until or now, pair.blocked_until or now)
    session.add(pair)
    user = session.exec(select(User).where(User.username == username)).first()
    if user is None or not user.active:
        return _Slot(known, None, None)
    return _Slot(known, user.id, user.password_hash)


def _give_back(session: Session, username: str, ip: str, now: datetime, known: bool) -> None:
    """After a success: the pair starts afresh and becomes a known address; the address and account take back
    the failure counted in advance (if their window still runs)."""
    pair_key, addr_key, acct_key = _keys(username, ip)
    pair = locked_counter(session, pair_key, now)
    pair.count, pair.blocked_until, pair.window_start = 0, None, now
    pair.good_until = now + timedelta(days=KNOWN_ADDRESS_DAYS)
    pair.expires_at = pair.good_until
    session.add(pair)
    if known:
        return
    for key, window in ((addr_key, ADDRESS_WINDOW), (acct_key, ACCOUNT_WINDOW)):
        row = locked_counter(session, key, now)
        if row.count > 0 and window_end(row, window) > now:
            row.count -= 1
            session.add(row)


@cache
def _decoy_hash() -> str:
    return _hasher.hash(secrets.token_urlsafe(16))


def _password_matches(password_hash: str | None, password: str) -> bool:
    """argon2 verification; an unknown account is checked against a decoy hash, so it takes as long."""
    try:
        return _hasher.verify(password_hash or _decoy_hash(), password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def prune_sign_in_records(session: Session, now: datetime) -> None:
    """Delete a batch of expired throttle counters and failure log rows older than LOGIN_ATTEMPT_DAYS."""
    prune_counters(session, now)
    old = select(LoginAttempt.id).where(col(LoginAttempt.at) < now - timedelta(days=LOGIN_ATTEMPT_DAYS)).limit(200)
    ids = list(session.exec(old).all())
    if ids:
        session.exec(delete(LoginAttempt).where(col(LoginAttempt.id).in_(ids)))  # type: ignore[call-overload]


def sign_in(
    sessions: sessionmaker[Session], *, username: str, password: str, ip: str, now: datetime | None = None
) -> tuple[User, str]:
    """Check a password and open a browser session: returns the user and the cookie token.

    Runs its own transactions (from `sessions`), because the throttle's count must be committed before the
    password is checked and must stay when the sign-in fails: (1) take a slot, (2) verify the password outside
    any transaction (argon2 takes tens of milliseconds; no row stays locked meanwhile), (3) record the result.
    Raises TooManyAttempts (429, `retry_after` seconds) when a counter refuses, even for the right password,
    and NotAuthenticated (401) for a wrong name or password, without saying which."""
    now = now or utcnow()
    username = username.strip()
    with transaction(sessions) as session:
        slot = _take_slot(session, username, ip, now)
    if slot.user_id is None or not _password_matches(slot.password_hash, password):
        with transaction(sessions) as session:
            session.add(LoginAttempt(username=username[:64], ip=ip[:64], at=now))
            prune_sign_in_records(session, now)
        raise NotAuthenticated("用户名或密码错误", "wrong user name or password")
    token = secrets.token_urlsafe(32)
    with transaction(sessions) as session:
        _give_back(session, username, ip, now, slot.known_address)
        user = session.get(User, slot.user_id)
        if user is None or not user.active:  # deactivated in the meantime
            raise NotAuthenticated("用户名或密码错误", "wrong user name or password")
        session.add(
            WebSession(
                token_hash=_digest(token),
                user_id=slot.user_id,
                csrf_token=secrets.token_urlsafe(24),
                created_at=now,
                expires_at=now + timedelta(hours=SESSION_HOURS),
            )
        )
    return user, token
