"""Browser sign-in with a throttle that stops password guessing without letting a stranger lock a colleague out.

The design (counters shared by every worker process, grievance.throttle):

- The counters count FAILURES, never attempts: a right password is refused only because of wrong ones. Before
  the password is checked, the attempt takes a reservation (its own short transaction, under the counters' row
  locks, so concurrent attempts take turns): it is let through when the failures counted so far, plus every
  attempt still being checked, would not reach a limit even if all of them failed. When they would, it waits
  (a fraction of a second, the time those take to be checked, at most SLOT_WAIT) and asks again: if they failed
  it is refused, if they succeeded it goes ahead. Then the outcome is recorded and the reservation given back.
  N concurrent guesses therefore cannot all be checked (only as many as the counters allow are), while N
  concurrent right passwords of one account all get in (issue: 6 simultaneous sign-ins got 3 x 429).
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

A success resets its own pair (it proves the password of that account from that address) and lifts the account's
wait, but never touches the address's count nor the account's count of failures: an attacker who knows one
account's password cannot clear the address's 100 to guess at others, nor a colleague's failures.

Failures are also logged (LoginAttempt: account name, address, time) for an administrator's review and pruned
after LOGIN_ATTEMPT_DAYS; counters are pruned once they expire, a small batch on every failure; a reservation
counter is deleted when its last attempt is decided (one whose process died lapses after RESERVATION_HOLD)."""

from __future__ import annotations

import math
import secrets
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache

from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete
from sqlalchemy.orm import sessionmaker
from sqlmodel import Session, col, select

from grievance.db import transaction, utcnow
from grievance.errors import NotAuthenticated, TooManyAttempts
from grievance.throttle import (
    ThrottleCounter,
    address_key,
    count_in_window,
    locked_counter,
    prune_counters,
    release,
    reserve,
    reserved,
    window_end,
)
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
RESERVATION_HOLD = timedelta(seconds=30)  # an attempt not decided by then (its process died) stops holding a place
SLOT_WAIT = 5.0  # seconds an attempt waits at most for the attempts ahead of it to be decided, then 429 (1 s)
SLOT_POLL = (0.02, 0.2)  # the first and the longest pause between two looks while it waits (seconds)


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


def _reservation_key(key: str) -> str:
    """The key of the counter of attempts under way for a counter's key (signin:pair:... -> signin:busy:pair:...)."""
    return "signin:busy:" + key.removeprefix("signin:")


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


def _pair_failures(pair: ThrottleCounter, now: datetime) -> int:
    """The pair's failures since its last success; forgotten after a day (PAIR_MEMORY) without one."""
    return pair.count if pair.count and pair.window_start + PAIR_MEMORY > now else 0


def _failures_in_window(row: ThrottleCounter, window: timedelta, now: datetime) -> int:
    return row.count if window_end(row, window) > now else 0


def _blocked(row: ThrottleCounter, now: datetime) -> bool:
    return row.blocked_until is not None and row.blocked_until > now


class _MustWait(Exception):
    """Attempts under way must be decided before this one may go: the look is rolled back (it wrote nothing, and
    on SQLite a rollback costs no disk sync), and asked again after a pause."""


def _take_slot(session: Session, username: str, ip: str, now: datetime) -> _Slot:
    """Reserve a place for this attempt; raise _MustWait when it must wait for attempts under way, TooManyAttempts
    when the failures counted so far refuse it (the caller's transaction then rolls back: nothing is written).
    Rows are locked in one order (pair, address, account, each followed by its reservation counter), as _record
    locks them.

    The rule per counter: refused while its failures refuse (the pair's or the account's delay runs, the address
    has its ADDRESS_FAILURES); otherwise let through unless the failures and the attempts under way, were they
    all to fail, would refuse the next attempt: then it waits for them to be decided."""
    pair_key, addr_key, acct_key = _keys(username, ip)
    pair = locked_counter(session, pair_key, now)
    pair_busy = locked_counter(session, _reservation_key(pair_key), now)
    if _blocked(pair, now):
        raise too_many_attempts(pair.blocked_until, now)  # type: ignore[arg-type]
    known = pair.good_until is not None and pair.good_until > now
    under_way = reserved(pair_busy, now)
    wait = under_way > 0 and pair_delay(_pair_failures(pair, now) + under_way) > timedelta(0)
    reservations = [pair_busy]
    if not known:
        address = locked_counter(session, addr_key, now)
        address_busy = locked_counter(session, _reservation_key(addr_key), now)
        failures = _failures_in_window(address, ADDRESS_WINDOW, now)
        if failures >= ADDRESS_FAILURES:
            raise too_many_attempts(window_end(address, ADDRESS_WINDOW), now)
        wait = wait or failures + reserved(address_busy, now) >= ADDRESS_FAILURES
        account = locked_counter(session, acct_key, now)
        account_busy = locked_counter(session, _reservation_key(acct_key), now)
        if _blocked(account, now):
            raise too_many_attempts(account.blocked_until, now)  # type: ignore[arg-type]  # at most 60 s away
        under_way = reserved(account_busy, now)
        failures = _failures_in_window(account, ACCOUNT_WINDOW, now)
        wait = wait or (under_way > 0 and account_delay(failures + under_way) > timedelta(0))
        reservations += [address_busy, account_busy]
    if wait:
        raise _MustWait
    for row in reservations:
        reserve(row, now, RESERVATION_HOLD)
        session.add(row)
    user = session.exec(select(User).where(User.username == username)).first()
    if user is None or not user.active:
        return _Slot(known, None, None)
    return _Slot(known, user.id, user.password_hash)


def _wait_for_slot(sessions: sessionmaker[Session], username: str, ip: str, now: datetime) -> _Slot:
    """_take_slot, asked again after a short pause while attempts under way must be decided first (each look its
    own short transaction: no lock is held while waiting). Raises TooManyAttempts as _take_slot does, and (1 s)
    when the attempts ahead are still not decided after SLOT_WAIT seconds."""
    deadline = time.monotonic() + SLOT_WAIT
    pause, longest = SLOT_POLL
    while True:
        try:
            with transaction(sessions) as session:
                return _take_slot(session, username, ip, now)
        except _MustWait:
            pass
        if time.monotonic() + pause > deadline:
            raise too_many_attempts(now + timedelta(seconds=1), now)
        time.sleep(pause)
        pause = min(pause * 2, longest)


def _record(session: Session, username: str, ip: str, now: datetime, known: bool, *, succeeded: bool) -> None:
    """The attempt's outcome, counted where it belongs, and its reservations given back.

    A failure: one more for the pair (its delay from the 3rd on), and unless the address is a known one of the
    account, one more for the address (15-minute window) and for the account (hour window, its delay from the
    10th on). A success: the pair starts afresh and becomes a known address for KNOWN_ADDRESS_DAYS; the account's
    wait is lifted (the owner is in); no count of failures is lowered (see the module's docstring)."""
    pair_key, addr_key, acct_key = _keys(username, ip)
    pair = locked_counter(session, pair_key, now)
    release(session, locked_counter(session, _reservation_key(pair_key), now), now)
    if succeeded:
        pair.count, pair.blocked_until, pair.window_start = 0, None, now
        pair.good_until = now + timedelta(days=KNOWN_ADDRESS_DAYS)
        pair.expires_at = pair.good_until
    else:
        pair.count = _pair_failures(pair, now) + 1
        pair.window_start = now  # the pair's last failure
        delay = pair_delay(pair.count)
        pair.blocked_until = max(pair.blocked_until or now, now + delay) if delay else pair.blocked_until
        pair.expires_at = max(pair.expires_at, now + PAIR_MEMORY, pair.good_until or now, pair.blocked_until or now)
    session.add(pair)
    if known:
        return
    address = locked_counter(session, addr_key, now)
    release(session, locked_counter(session, _reservation_key(addr_key), now), now)
    account = locked_counter(session, acct_key, now)
    release(session, locked_counter(session, _reservation_key(acct_key), now), now)
    if succeeded:
        account.blocked_until = None
    else:
        count_in_window(address, window=ADDRESS_WINDOW, now=now)
        wait = account_delay(count_in_window(account, window=ACCOUNT_WINDOW, now=now))
        if wait:
            account.blocked_until = max(account.blocked_until or now, now + wait)
            account.expires_at = max(account.expires_at, account.blocked_until)
    session.add_all([address, account])


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

    Runs its own transactions (from `sessions`), because the throttle's reservation must be committed before the
    password is checked and its outcome must stay when the sign-in fails: (1) reserve a place (waiting, at most
    SLOT_WAIT seconds, for attempts under way when the counters say so), (2) verify the password outside any
    transaction (argon2 takes tens of milliseconds; no row stays locked meanwhile), (3) record the outcome and
    give the reservation back. Raises TooManyAttempts (429, `retry_after` seconds) when the failures counted
    refuse the attempt, even with the right password, and NotAuthenticated (401) for a wrong name or password
    (or an account deactivated meanwhile), without saying which."""
    now = now or utcnow()
    username = username.strip()
    slot = _wait_for_slot(sessions, username, ip, now)
    try:
        matches = slot.user_id is not None and _password_matches(slot.password_hash, password)
    except BaseException:  # never leave a reservation behind (it would lapse only after RESERVATION_HOLD)
        with transaction(sessions) as session:
            _record(session, username, ip, now, slot.known_address, succeeded=False)
        raise
    if not matches:
        with transaction(sessions) as session:
            _record(session, username, ip, now, slot.known_address, succeeded=False)
            session.add(LoginAttempt(username=username[:64], ip=ip[:64], at=now))
            prune_sign_in_records(session, now)
        raise NotAuthenticated("用户名或密码错误", "wrong user name or password")
    token = secrets.token_urlsafe(32)
    with transaction(sessions) as session:
        user = session.get(User, slot.user_id)
        active = user is not None and user.active  # not deactivated in the meantime
        _record(session, username, ip, now, slot.known_address, succeeded=active)
        if active:
            session.add(
                WebSession(
                    token_hash=_digest(token),
                    user_id=slot.user_id,
                    csrf_token=secrets.token_urlsafe(24),
                    created_at=now,
                    expires_at=now + timedelta(hours=SESSION_HOURS),
                )
            )
    if user is None or not active:
        raise NotAuthenticated("用户名或密码错误", "wrong user name or password")
    return user, token
