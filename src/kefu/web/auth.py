"""Sessions, CSRF protection and login throttling.

- Sessions: a random token in an HttpOnly, SameSite=Lax cookie (`Secure`
  unless the server runs with `secure_cookies=False`); the server keeps
  token -> (user name, start), so logging out or restarting ends every session.
  A session started before the user's `sessions_from` (set by a password
  change or reset, or by disabling the user, from the web or the CLI) no
  longer counts.
- CSRF: the token is bound to the session: HMAC(server secret, session
  token), so no one can choose a token that passes for someone else's session
  (before logging in, a random double-submit value). Every page carries it and
  the `kefu_csrf` cookie holds it; every POST/PUT/PATCH/DELETE must send it as
  the form field `csrf_token` or the `X-CSRF-Token` header (pages put it in
  hx-headers).
- Throttling (`LoginThrottle`): per account name and per client address, the
  first failures are free, then each failure doubles the wait before the next
  attempt, up to a cap; never a fixed lockout, so an attacker guessing at the
  admin's name delays the admin by at most the cap. The client address is the
  connection's unless it comes from a configured proxy (`[web]
  trusted_proxies`, kefu.cli.web.uvicorn_config).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request

from kefu.users import User

SESSION_COOKIE = "kefu_session"
CSRF_COOKIE = "kefu_csrf"
SESSION_SECONDS = 12 * 3600
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}


class NotAuthenticated(Exception):
    pass


class Sessions:
    def __init__(self) -> None:
        self._by_token: dict[str, tuple[str, float, dt.datetime]] = {}  # token -> (name, expires, started)
        self._lock = threading.Lock()

    def create(self, name: str) -> str:
        token = secrets.token_urlsafe(32)
        with self._lock:
            self._by_token[token] = (name, time.time() + SESSION_SECONDS, dt.datetime.now())
        return token

    def user_name(self, token: str | None) -> str | None:
        found = self.find(token)
        return found[0] if found else None

    def find(self, token: str | None) -> tuple[str, dt.datetime] | None:
        """(user name, start) of a live session."""
        found = self._by_token.get(token or "")
        if not found or found[1] < time.time():
            return None
        return found[0], found[2]

    def end(self, token: str | None) -> None:
        with self._lock:
            self._by_token.pop(token or "", None)

    def end_user(self, name: str, keep: str | None = None) -> None:
        """End every session of `name` (except the token `keep`)."""
        with self._lock:
            for token in [t for t, v in self._by_token.items() if v[0] == name and t != keep]:
                del self._by_token[token]


@dataclass
class _Failures:
    count: int
    last: float


class Throttle:
    """Failed attempts per key: the first `free` cost nothing; after the n-th failure (n ≥ free) the next attempt waits
    `base` × 2^(n − free) seconds, at most `cap`. A key is forgotten `forget` seconds after its last failure."""

    def __init__(
        self,
        free: int,
        *,
        base: float = 1.0,
        cap: float = 60.0,
        forget: float = 900.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.free, self.base, self.cap, self.forget, self.clock = free, base, cap, forget, clock
        self._failures: dict[str, _Failures] = {}
        self._lock = threading.Lock()

    def _delay(self, count: int) -> float:
        return 0.0 if count < self.free else min(self.cap, self.base * 2 ** (count - self.free))

    def wait(self, key: str) -> float:
        """Seconds before `key` may try again (0 = now)."""
        with self._lock:
            found = self._failures.get(key)
            if found is None:
                return 0.0
            since = self.clock() - found.last
            if since > self.forget:
                del self._failures[key]
                return 0.0
            return max(0.0, self._delay(found.count) - since)

    def fail(self, key: str) -> tuple[int, float]:
        """Count a failure; (failures so far, the wait it imposes)."""
        with self._lock:
            now = self.clock()
            found = self._failures.get(key)
            if found is None or now - found.last > self.forget:
                found = self._failures[key] = _Failures(0, now)
            found.count, found.last = found.count + 1, now
            return found.count, self._delay(found.count)

    def reset(self, key: str) -> None:
        with self._lock:
            self._failures.pop(key, None)

    def delayed(self) -> list[dict]:
        """The keys that must wait now: key, failures, seconds left."""
        with self._lock:
            keys = list(self._failures)
        return [
            {"key": k, "failures": self._failures[k].count, "wait_s": round(w, 1)}
            for k in keys
            if k in self._failures and (w := self.wait(k)) > 0
        ]


class LoginThrottle:
    """Per account name: 5 free failures, then 1 s, 2 s … up to 60 s between attempts (a success clears it).
    Per client address: 20 free failures (an office shares one address), then up to 15 minutes."""

    def __init__(
        self, clock: Callable[[], float] = time.monotonic, *, account_free: int = 5, address_free: int = 20
    ) -> None:
        self.accounts = Throttle(account_free, cap=60.0, clock=clock)
        self.addresses = Throttle(address_free, cap=900.0, clock=clock)

    def wait(self, name: str, address: str) -> float:
        return max(self.accounts.wait(name), self.addresses.wait(address))

    def fail(self, name: str, address: str) -> list[str]:
        """Count a failed login; what is throttled now (for the audit log), e.g. 'account 小萍: 6 failures, next try in 2 s'."""
        out = []
        for kind, throttle, key in (("account", self.accounts, name), ("address", self.addresses, address)):
            count, wait = throttle.fail(key)
            if wait:
                out.append(f"{kind} {key}: {count} failures, next try in {wait:g} s")
        return out

    def succeed(self, name: str) -> None:
        self.accounts.reset(name)  # not the address: a valid login must not reset guessing at other names

    def delayed(self) -> list[dict]:
        return [
            {"kind": kind, **d}
            for kind, t in (("account", self.accounts), ("address", self.addresses))
            for d in t.delayed()
        ]


def _session_csrf(request: Request, session: str) -> str:
    return hmac.new(request.app.state.csrf_secret, session.encode(), hashlib.sha256).hexdigest()


def expected_csrf(request: Request) -> str | None:
    """The token a write must carry: bound to the session cookie when there is one, else the double-submit cookie."""
    session = request.cookies.get(SESSION_COOKIE)
    return _session_csrf(request, session) if session else request.cookies.get(CSRF_COOKIE)


async def csrf_protect(request: Request) -> None:
    """App-wide dependency: unsafe methods must send the request's CSRF token."""
    if request.method not in UNSAFE:
        return
    expected = expected_csrf(request)
    sent: object = request.headers.get("x-csrf-token")  # or the form's field (str; an upload would fail)
    if sent is None and "form" in request.headers.get("content-type", ""):
        sent = (await request.form()).get("csrf_token")
    if not expected or not sent or not secrets.compare_digest(expected, str(sent)):
        raise HTTPException(403, "CSRF token missing or wrong: reload the page and try again")


def csrf_token(request: Request) -> str:
    """The request's CSRF token for pages (the response sets it as the cookie when the cookie differs)."""
    token = getattr(request.state, "new_csrf", None) or expected_csrf(request)
    if not token:
        token = secrets.token_urlsafe(32)
    request.state.new_csrf = token
    return token


def session_csrf(request: Request, session: str) -> str:
    """The CSRF token of a session just started (set as the cookie with the session cookie)."""
    token = request.state.new_csrf = _session_csrf(request, session)
    return token


def current_user(request: Request) -> User:
    app = request.app.state
    found = app.sessions.find(request.cookies.get(SESSION_COOKIE))
    user = app.store.user(found[0]) if found else None
    if user is None or (user.sessions_from is not None and found[1] < user.sessions_from):
        raise NotAuthenticated()  # unknown, disabled, or the session began before a password change
    request.state.user = user
    return user


CurrentUser = Annotated[User, Depends(current_user)]
