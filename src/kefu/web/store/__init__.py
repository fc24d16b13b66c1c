"""What the web app reads and writes: an in-memory snapshot of the workspace; writes go to the file.

DuckDB lets one process open a database file for writing, and while it does no other process may even read it.
So the server never keeps kefu.duckdb open: it serves every read from an in-memory copy and opens the file only
for a moment to write, so `kefu import`, `kefu user add`, `kefu kpi` … work while the server runs. The parts:

- `snapshot`: the copy (`Snapshot`), reloaded when another process changes the file, and warmed up before it
  is served;
- `writes`: the server's own writes (`write(fn)`) and the buffered audit log;
- `cache`: engine results per snapshot, results derived from them and from the web tables (`cached`), users;
- `queries`: the page queries (KPI tables, the roster, loss lists, drill-downs, chats).

Every read and write hands its function one typed handle, a `kefu.workspace.Workspace` (`read(fn)`: the
snapshot through a cursor of its own; `write(fn)`: the file), which is what the domain code (kefu.qc, kefu.pay,
kefu.reports, kefu.users …) takes. `Store` puts the parts together.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable, Hashable, Iterable
from pathlib import Path
from typing import TypeVar

import pandas as pd

from kefu.config import Config, Params, load_config
from kefu.metrics.explain import Explanation
from kefu.users import User, get_user
from kefu.web.store import queries
from kefu.web.store.cache import Users
from kefu.web.store.snapshot import IMPORT_OWNED, Snapshot, Snapshots, WorkspaceFile, warm
from kefu.web.store.writes import AUDIT_TABLE, AuditLog, Writes, ensure_web_tables
from kefu.workspace import Workspace, WorkspaceBusy, upgrade

__all__ = ["AUDIT_TABLE", "IMPORT_OWNED", "Store"]

log = logging.getLogger("kefu.web")
T = TypeVar("T")


class Store:
    def __init__(self, path: Path, *, check_every: float = 2.0, write_wait: float = 15.0, watch: bool = True):
        self.file = WorkspaceFile(path)
        self.path = self.file.path
        # the snapshot copies the file as it is: a workspace of an earlier kefu gets the new columns first
        upgrade(self.path)
        self.targets_version = 0  # bumped on every change of targets (kept for callers; `cached` is dropped anyway)
        self._stop = threading.Event()
        self._users = Users()
        self.snapshots = Snapshots(self.file, on_change=self._users.forget, stop=self._stop)
        self._first_config = load_config(self.file.config)  # what writes see before the first snapshot
        self.writes = Writes(self.file, self.snapshots, lambda: self.config, write_wait)
        self.audit_log = AuditLog(self.file, self.snapshots)
        self.write(lambda ws: ensure_web_tables(ws.con), wait=max(write_wait, 60.0))
        self.file.known = self.file.sig()
        self.snapshots.load(wait=60.0)
        threading.Thread(target=self.audit_log.run, args=(self._stop,), name="kefu-audit", daemon=True).start()
        if watch:
            threading.Thread(target=self.snapshots.watch, args=(check_every,), name="kefu-watch", daemon=True).start()

    def close(self) -> None:
        self._stop.set()
        try:
            self.flush_audit(wait=5.0)
        except WorkspaceBusy:
            log.warning("%d audit rows could not be written: %s is busy", len(self.audit_log.pending), self.file.db)

    # -- the snapshot ---------------------------------------------------------------

    @property
    def _snap(self) -> Snapshot:
        return self.snapshots.served()

    @property
    def ws(self) -> Workspace:
        """The current snapshot as a Workspace (in memory: reading only), for engine calls under `lock`."""
        return self._snap.ws

    @property
    def lock(self) -> threading.RLock:
        """Held during engine calls on the current snapshot's connection."""
        return self._snap.lock

    @property
    def config(self) -> Config:
        return self._snap.ws.config if self.snapshots.current else self._first_config

    @property
    def params(self) -> Params:
        return self.config.params

    @property
    def snapshot_ledger(self) -> tuple:
        """(files imported, last import id, last import time) of the data being served."""
        return self._snap.ledger

    @property
    def ready(self) -> threading.Event:
        """Set once the background warm-up (`warm_details`) has run."""
        return self.snapshots.ready

    @property
    def reloads(self) -> int:
        return self.snapshots.reloads

    def refresh(self) -> str:
        """Pick up changes made by other processes: 'unchanged', 'web', 'full' or 'busy' (snapshot.Snapshots)."""
        return self.snapshots.refresh()

    def warm(self) -> None:
        """Compute what every page needs at start-up, so the first users do not wait."""
        warm(self._snap)

    def warm_details(self) -> None:
        """Month to date of the last week, the latest day's loss lists and drill-downs; run in the background."""
        self.snapshots.warm_details()

    def read(self, fn: Callable[[Workspace], T]) -> T:
        """Run `fn(ws)` on the snapshot through a cursor of its own (reading only: a change made here would be
        lost; use `write`)."""
        return self._snap.read(fn)

    def sql(self, query: str, params: list | None = None) -> pd.DataFrame:
        """Plain SQL on the snapshot."""
        return queries.sql(self._snap, query, params)

    # -- writes ----------------------------------------------------------------------

    def write(
        self, fn: Callable[[Workspace], T], *, tables: Iterable[str] | None = None, wait: float | None = None
    ) -> T:
        """Run `fn(ws)` on the workspace file; the next read sees the change (writes.Writes.write)."""
        return self.writes.write(fn, tables=tables, wait=wait)

    def audit(self, user: str | None, action: str, obj: str = "", ip: str | None = None) -> None:
        self.audit_log.add(user, action, obj, ip)

    def flush_audit(self, wait: float = 0.0) -> None:
        """Write the buffered audit rows now; if the file is busy they stay buffered (and WorkspaceBusy is raised)."""
        self.audit_log.flush(wait)

    # -- cached ----------------------------------------------------------------------

    def user(self, name: str) -> User | None:
        """The user, or None when unknown or disabled (cached; dropped on every change of the web tables)."""
        return self._users.get(name, lambda: self.read(lambda ws: get_user(ws.con, name)))

    def forget_users(self) -> None:
        self._users.forget()

    def cached(self, key: Hashable, compute: Callable[[], T]) -> T:
        """A result derived from engine results or web tables, kept until either changes (cache.Results)."""
        return self._snap.results.cached(key, compute)

    # -- page queries (queries.py), on the current snapshot ---------------------------------

    def kpis(self, by: tuple[str, ...], date_from: dt.date | None = None, date_to: dt.date | None = None) -> list[dict]:
        return queries.kpis(self._snap, tuple(by), date_from, date_to)

    def explain(self, agent: str, day: dt.date) -> Explanation:
        return queries.explain(self._snap, agent, day)

    def agents(self) -> dict[str, dict]:
        """Every human account that has figures or is listed in `agents`: id -> shop, name, team, employer, role."""
        return queries.agents(self._snap)

    def shops(self) -> list[str]:
        return queries.shops(self._snap)

    def days(self) -> list[dt.date]:
        return queries.days(self._snap)

    def lost(self, shop: str, day: dt.date, day_to: dt.date | None = None) -> pd.DataFrame:
        return queries.lost(self._snap, shop, day, day_to)

    def section_measures(self) -> dict[str, set[str]]:
        return queries.section_measures(self._snap)

    def chats(self, shop: str, buyers: list[str], day: dt.date) -> pd.DataFrame:
        return queries.chats(self._snap, shop, buyers, day)

    def chat(self, shop: str, buyer: str, day: dt.date) -> pd.DataFrame:
        return queries.chat(self._snap, shop, buyer, day)
