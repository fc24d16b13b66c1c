"""Sessions, CSRF protection and login throttling.

- Sessions: a random token in an HttpOnly, SameSite=Lax cookie (`Secure`
  unless the server runs with `secure_cookies=False`); the server keeps
  token -> (user name, start), so logging out or restarting ends every session.
  A session started before the user's `sessions_from` (set by a password
  change or reset, or by disabling the user, from the web or the CLI) no
  longer counts.
- CSRF: double-submit token. Every response carries a `kefu_csrf` cookie;
  every POST/PUT/PATCH/DELETE must send the same value as the form field
  `csrf_token` or the `X-CSRF-Token` header (pages put it in hx-headers).
- Throttling: 5 failed logins per name or per IP address in 5 minutes
  block further attempts for that name / address until the window passes.
"""

from __future__ import annotations

import datetime as dt
import secrets
import threading
import time
from collections import defaultdict, deque
from typing import Annotated

from fastapi import Depends, HTTPException, Request

from kefu.users import User

SESSION_COOKIE = "kefu_session"
CSRF_COOKIE = "kefu_csrf"
SESSION_SECONDS = 12 * 3600
MAX_FAILURES = 5
WINDOW_SECONDS = 300
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


class Throttle:
    def __init__(self, max_failures: int = MAX_FAILURES, window: float = WINDOW_SECONDS) -> None:
        self.max_failures, self.window = max_failures, window
        self._failures: dict[str, deque] = defaultdict(deque)
        self._lock = threading.Lock()

    def _recent(self, key: str) -> deque:
        q = self._failures[key]
        while q and q[0] < time.time() - self.window:
            q.popleft()
        return q

    def blocked(self, *keys: str) -> float:
        """Seconds to wait before another attempt (0 = allowed)."""
        with self._lock:
            waits = [q[0] + self.window - time.time() for k in keys if len(q := self._recent(k)) >= self.max_failures]
        return max(waits, default=0)

    def fail(self, *keys: str) -> None:
        with self._lock:
            for k in keys:
                self._recent(k).append(time.time())

    def reset(self, *keys: str) -> None:
        with self._lock:
            for k in keys:
                self._failures.pop(k, None)


async def csrf_protect(request: Request) -> None:
    """App-wide dependency: unsafe methods must echo the CSRF cookie."""
    if request.method not in UNSAFE:
        return
    cookie = request.cookies.get(CSRF_COOKIE)
    sent = request.headers.get("x-csrf-token")
    if sent is None and "form" in request.headers.get("content-type", ""):
        sent = (await request.form()).get("csrf_token")
    if not cookie or not sent or not secrets.compare_digest(cookie, str(sent)):
        raise HTTPException(403, "CSRF token missing or wrong: reload the page and try again")


def csrf_token(request: Request) -> str:
    """The request's CSRF token (the cookie's, or a new one the response will set)."""
    token = request.cookies.get(CSRF_COOKIE) or getattr(request.state, "new_csrf", None)
    if not token:
        token = request.state.new_csrf = secrets.token_urlsafe(32)
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
