"""Browser sign-in with a throttle that stops password guessing without letting a stranger lock a colleague out.

The design (counters shared by every worker process, grievance.throttle):

- A throttle slot is taken before the password is checked, in its own short transaction that counts the attempt
  as a failure in advance (under a row lock, so concurrent attempts take turns); a success then takes its count
  back. N concurrent guesses therefore cannot all be checked: only those the counters still allow are.
- Per pair (account, address): exactly PAIR_FREE_FAILURES (3) failures pass undelayed (typos); after failure
  k >= 3 the pair is refused for 2**(k-3) seconds (1 s, 2 s, 4 s ... 512 s), capped at PAIR_DELAY_CAP (15
  minutes). A success resets the pair; failures are forgotten after PAIR_MEMORY (a day) without one.
- Per address: ADDRESS_FAILURES (100) failures in ADDRESS_WINDOW (15 minutes) across all accounts, then that
  address is refused until the window ends. An office behind one NAT (200 people) needs 100 typos in 15
  minutes before it is slowed; an address that sprays many accounts is stopped.
- Per account across unknown addresses: a DELAY, never a block. After the account's k-th failure this hour
  (k >= ACCOUNT_FAILURES, 10) any unknown address must wait 2**(k-10) s (1 s, 2 s ... ) capped at
  ACCOUNT_DELAY_CAP (60 s) before the next attempt. So a stranger, with any number of addresses, can keep the
  owner at a new address waiting at most 60 s; then the right password succeeds, which clears the account's
  wait and makes that pair a known address. A known address (a pair that signed in successfully within
  KNOWN_ADDRESS_DAYS, 90 days) counts against neither the account nor the address ceiling and is never delayed
  by failures elsewhere. An account that never signed in (no known address) waits at most the same 60 s.
- IPv6 addresses are counted per /64 network (one subscriber's usual allocation) for the pair and the address
  counters alike, so a host cannot step around them by rotating its interface address.

What an attacker gets in a year against one account (passwords have at least 10 characters, argon2):
  - from one address: 12 guesses in the first 17 minutes (3 free, then waits of 1 s ... 512 s), then one each
    15 minutes: at most about 4 * 24 * 365 = 35,040;
  - from any number of addresses together: per hour 10 free, 6 more within 63 s (waits 1 ... 32 s), then one a
    minute: at most about 75 an hour, 75 * 24 * 365 = 657,000 a year (about 2**19.3), against a space of at
    least 2**50 for a 10-character password; plus 35,040 from each known address (the attacker would have to
    sit behind it). The worst wait an owner sees: 60 s at a new address, none at a known one.
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
ACCOUNT_FAILURES = 10
ACCOUNT_DELAY_CAP = timedelta(seconds=60)
ACCOUNT_WINDOW = timedelta(hours=1)
LOGIN_ATTEMPT_DAYS = 30


def progressive_delay(failures: int, free: int, cap: timedelta) -> timedelta:
    """The wait imposed after the `failures`-th failure: nothing before the `free`-th, then 1 s after it, 2 s,
    4 s ... doubling with each further failure, at most `cap`."""
    if failures < free:
        return timedelta(0)
    exponent = failures - free
    if exponent >= 20:  # 2**20 s is far past any cap; keeps the number small
        return cap
    return min(timedelta(seconds=2**exponent), cap)


def pair_delay(failures: int) -> timedelta:
    """How long a pair is refused after its `failures`-th failure in a row: nothing after the first
    PAIR_FREE_FAILURES - 1, then 1 s, 2 s, 4 s ... doubling, at most PAIR_DELAY_CAP."""
    return progressive_delay(failures, PAIR_FREE_FAILURES, PAIR_DELAY_CAP)


def account_delay(failures: int) -> timedelta:
    """How long unknown addresses wait after the account's `failures`-th failure from them this hour: nothing
    after the first ACCOUNT_FAILURES - 1, then 1 s, 2 s ... doubling, at most ACCOUNT_DELAY_CAP (never longer)."""
    return progressive_delay(failures, ACCOUNT_FAILURES, ACCOUNT_DELAY_CAP)


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
        address = locked_counter(session, addr_key, now)
        if count_in_window(address, window=ADDRESS_WINDOW, now=now) > ADDRESS_FAILURES:
            raise too_many_attempts(window_end(address, ADDRESS_WINDOW), now)
        session.add(address)
        account = locked_counter(session, acct_key, now)
        if account.blocked_until is not None and account.blocked_until > now:
            raise too_many_attempts(account.blocked_until, now)  # at most ACCOUNT_DELAY_CAP away
        wait = account_delay(count_in_window(account, window=ACCOUNT_WINDOW, now=now))
        account.blocked_until = now + wait if wait else None
        account.expires_at = max(account.expires_at, account.blocked_until or now)
        session.add(account)
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
        row.blocked_until = None if key == acct_key else row.blocked_until  # the owner is in: no account wait
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
