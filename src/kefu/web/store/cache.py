"""What the store keeps so a page is computed once: engine results per snapshot, derived results and pages until
the data changes, and the users looked up by name."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

from kefu.users import User

T = TypeVar("T")

MAX_RESULTS = 4000  # cached pages and results kept per snapshot, the least recently used dropped first …
MAX_RESULTS_TEXT = 128 * 2**20  # … and at most this many characters of cached pages


class Memo:
    """Engine results (KPI tables, the roster, loss lists …): computed once under `lock`, the lock of the connection
    they are computed on, and kept as long as the snapshot (the import-owned tables never change under it); with
    a `limit`, the oldest are dropped beyond it."""

    def __init__(self, lock: threading.RLock, limit: int | None = None) -> None:
        self.lock, self.limit = lock, limit
        self._values: OrderedDict[Hashable, Any] = OrderedDict()

    def get(self, key: Hashable, compute: Callable[[], T]) -> T:
        if key in self._values:
            return self._values[key]
        with self.lock:
            if key not in self._values:
                self._values[key] = compute()
                while self.limit is not None and len(self._values) > self.limit:
                    self._values.popitem(last=False)
            return self._values[key]


class Results:
    """Results derived from engine results or web tables (pages, reports, JSON bytes …), dropped whenever the web
    tables change (`forget`). At most MAX_RESULTS entries and MAX_RESULTS_TEXT characters of pages, the least
    recently used dropped first. Many threads asking for the same missing key wait for one computation of it."""

    def __init__(self) -> None:
        self._values: OrderedDict[Hashable, Any] = OrderedDict()
        self._text = 0  # characters of the cached pages (str values)
        self._generation = 0  # bumped by `forget`, so a value computed before is not stored after
        self._lock = threading.Lock()
        self._computing: dict[Hashable, threading.Lock] = {}  # key -> held while one thread computes it

    def cached(self, key: Hashable, compute: Callable[[], T]) -> T:
        try:
            return self._get(key)
        except KeyError:
            pass
        lock = self._computing.setdefault(key, threading.Lock())
        waited = lock.acquire(timeout=10)  # never wait forever (a computation that asks for another key)
        try:
            try:
                return self._get(key)  # another thread computed it meanwhile
            except KeyError:
                pass
            generation = self._generation
            value = compute()
            self._put(key, value, generation)
            return value
        finally:
            if waited:
                lock.release()
            self._computing.pop(key, None)

    def forget(self) -> None:
        with self._lock:
            self._generation += 1
            self._values.clear()
            self._text = 0

    def __len__(self) -> int:
        return len(self._values)

    def _get(self, key: Hashable) -> Any:
        """The cached value (KeyError when missing), marked as recently used."""
        with self._lock:
            self._values.move_to_end(key)
            return self._values[key]

    def _put(self, key: Hashable, value: Any, generation: int) -> None:
        with self._lock:
            if generation != self._generation or key in self._values:  # computed from tables changed meanwhile
                return
            self._values[key] = value
            self._text += _text(value)
            while len(self._values) > MAX_RESULTS or self._text > MAX_RESULTS_TEXT:
                _, old = self._values.popitem(last=False)
                self._text -= _text(old)


def _text(value: Any) -> int:
    return len(value) if isinstance(value, str) else 0


class Users:
    """User name -> the user (None: unknown or disabled), as read from the snapshot; dropped on every change of
    the web tables (`forget`), so a password change or a disabled user counts at the next request."""

    def __init__(self) -> None:
        self._found: dict[str, User | None] = {}
        self._generation = 0

    def get(self, name: str, read: Callable[[], User | None]) -> User | None:
        if name in self._found:
            return self._found[name]
        generation = self._generation
        found = read()
        if generation == self._generation:  # not read before a change that landed meanwhile
            self._found[name] = found
        return found

    def forget(self) -> None:
        self._generation += 1
        self._found.clear()
