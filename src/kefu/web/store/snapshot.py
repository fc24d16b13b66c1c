"""The read side: an in-memory copy of the workspace (a snapshot), reloaded when another process changes the file,
and warmed up before it is served.

A snapshot is made by ATTACHing kefu.duckdb READ_ONLY to an in-memory DuckDB, `COPY FROM DATABASE` and DETACH: a
quarter of a second for the demo shop. `kefu.workspace.connect` waits for the file while another process
writes it. Every `check_every` seconds the file's signature (modification time and size of kefu.duckdb, its WAL
and kefu.toml) is compared with the one the snapshot was read at; on a change the file is attached again. If
the imports ledger and kefu.toml are unchanged only the web tables (everything an import does not own) are
copied in; otherwise a new snapshot is loaded, warmed up while the old one goes on serving, and swapped in
with one assignment, caches and all. A file held by an import is tried again at the next check.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import duckdb

from kefu.config import ConfigError, load_config
from kefu.derive import cube_is_current, refresh_cube
from kefu.metrics.derived import STORED
from kefu.schema import HISTORY, TABLES, create_as_sql
from kefu.web.store import queries
from kefu.web.store.cache import Memo, Results
from kefu.workspace import (
    CONFIG_FILE,
    DB_FILE,
    Workspace,
    WorkspaceBusy,
    WorkspaceError,
    WorkspaceView,
    connect,
    fetch_one,
    scalar,
)

log = logging.getLogger("kefu.web")
T = TypeVar("T")

#: Tables only `kefu import` writes (web writes never touch them); a change of the imports ledger means a new snapshot.
IMPORT_OWNED = frozenset(TABLES) | frozenset(STORED) | frozenset(HISTORY.values()) | {"imports", "rejects"}
FileSig = tuple


class WorkspaceFile:
    """kefu.duckdb and kefu.toml of a workspace folder; `lock` is held by whatever uses the file in this process
    (one use at a time), and `known` is the file's signature as the snapshots hold it."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.db = self.path / DB_FILE
        self.config = self.path / CONFIG_FILE
        if not self.db.exists():
            raise WorkspaceError(
                f"{self.path} is not a kefu workspace (no {DB_FILE}); run `kefu init {self.path}` or import into it"
            )
        self.lock = threading.Lock()
        self.known: FileSig = ()

    def sig(self) -> FileSig:
        def stat(p: Path) -> tuple[int, int] | None:
            try:
                s = p.stat()
                return (s.st_mtime_ns, s.st_size)
            except FileNotFoundError:
                return None

        return (stat(self.db), stat(self.db.with_name(DB_FILE + ".wal")), stat(self.config))

    def written(self, before: FileSig) -> None:
        """After this process wrote the file: when nobody else changed it since the snapshot was read (`before`
        is what the snapshots hold), they hold the new state too (the change was copied into them)."""
        if before == self.known:
            self.known = self.sig()


class Snapshot:
    """One in-memory copy of the workspace and what is computed from it."""

    def __init__(self, ws: Workspace, ledger: tuple) -> None:
        self.ws = ws  # the whole copy: engine calls use its connection, under `lock`
        self.ledger = ledger  # (rows, last import id, last import time) of `imports` when copied
        self.lock = threading.RLock()
        self.engine = Memo(self.lock)  # KPI tables, the roster, loss lists …
        self.explained = Memo(self.lock, limit=256)  # (agent, day) -> Explanation
        self.results = Results()  # `Store.cached` (pages, reports …): may depend on web tables too

    @contextmanager
    def view(self) -> Iterator[Workspace]:
        """The snapshot for this thread: a Workspace over a cursor of its own (reading only: a change made here
        would be lost; the store's `write` changes the file)."""
        cur = self.ws.con.cursor()
        try:
            yield WorkspaceView(cur, self.ws.config, self.ws.path)
        finally:
            cur.close()

    def read(self, fn: Callable[[Workspace], T]) -> T:
        with self.view() as ws:
            return fn(ws)

    def put_tables(self, tables: dict[str, Any], *, append: bool = False) -> None:
        """Replace (or append to) tables of the snapshot with Arrow tables read from the file, in one transaction."""
        cur = self.ws.con.cursor()
        try:
            cur.execute("BEGIN")
            for name, arrow in tables.items():
                cur.register("_kefu_new", arrow)
                if append:
                    cur.execute(f'INSERT INTO "{name}" SELECT * FROM _kefu_new')
                else:
                    cur.execute(create_as_sql(name, "SELECT * FROM _kefu_new"))
                cur.unregister("_kefu_new")
            cur.execute("COMMIT")
        except Exception:
            cur.execute("ROLLBACK")
            raise
        finally:
            cur.close()


def web_tables(
    con: duckdb.DuckDBPyConnection, db: str, *, skip: Iterable[str] = (), only: Iterable[str] | None = None
) -> dict[str, Any]:
    """Every table of database `db` an import does not own (or only those of `only`), as Arrow tables (small:
    users, targets, reviews …)."""
    names = [
        r[0]
        for r in con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE database_name = ? AND schema_name = 'main' ORDER BY table_name",
            [db],
        ).fetchall()
    ]
    wanted = None if only is None else set(only)
    return {
        n: con.execute(f'SELECT * FROM "{db}".main."{n}"').to_arrow_table()
        for n in names
        if n not in IMPORT_OWNED and n not in set(skip) and (wanted is None or n in wanted)
    }


def _ledger(con: duckdb.DuckDBPyConnection, db: str) -> tuple:
    found = scalar(con, "SELECT count(*) FROM duckdb_tables() WHERE database_name = ? AND table_name = 'imports'", [db])
    if not found:
        return (0, None, None)
    return fetch_one(con, f'SELECT count(*), max(import_id), max(imported_at) FROM "{db}".main.imports')


def _quote(path: Path) -> str:
    return str(path).replace("'", "''")


@contextmanager
def _attached(db: Path, wait: float) -> Iterator[duckdb.DuckDBPyConnection]:
    """A new in-memory DuckDB with the file attached READ_ONLY as `src` (detached when the block ends; the
    connection is closed only when the block fails). kefu.workspace.connect waits while another process writes
    the file (WorkspaceBusy after `wait` seconds); its read-only connection is held until the DETACH, so no
    writer comes between (POSIX releases a process's file locks when it closes any handle of the file)."""
    guard = connect(db, read_only=True, wait=wait)
    try:
        con = duckdb.connect()
        try:
            con.execute(f"ATTACH '{_quote(db)}' AS src (READ_ONLY)")
            try:
                yield con
            finally:
                con.execute("DETACH src")
        except BaseException:
            con.close()
            raise
    finally:
        guard.close()


def _snapshot(ws: Workspace, ledger: tuple) -> Snapshot:
    """A snapshot whose KPI cube matches its kefu.toml (rebuilt in memory when the parameters were edited)."""
    if ws.has_table("messages") and not cube_is_current(ws):
        refresh_cube(ws)
    return Snapshot(ws, ledger)


class Snapshots:
    """The snapshot being served (`current`) and the one being warmed up to replace it (`pending`, which the
    server's own writes reach too). `on_change` runs whenever the web tables they hold change."""

    def __init__(self, file: WorkspaceFile, *, on_change: Callable[[], None], stop: threading.Event) -> None:
        self.file, self.on_change, self.stop = file, on_change, stop
        self.current: Snapshot | None = None
        self.pending: Snapshot | None = None
        self.ready = threading.Event()  # set once warm_details has run
        self.reloads = 0  # snapshots loaded after the first (tests and /api/health show it)
        self._refresh_lock = threading.Lock()

    def served(self) -> Snapshot:
        assert self.current is not None, "the store loads its first snapshot when it starts"
        return self.current

    def all(self) -> list[Snapshot]:
        return [s for s in (self.current, self.pending) if s is not None]

    def load(self, wait: float) -> None:
        """The first snapshot of the whole workspace."""
        with self.file.lock:
            with _attached(self.file.db, wait) as con:
                ledger = _ledger(con, "src")
                config = load_config(self.file.config)
                con.execute("COPY FROM DATABASE src TO memory")
            self.current = _snapshot(Workspace(con, config, self.file.path), ledger)

    def publish(self, tables: dict[str, Any], *, append: bool = False) -> None:
        """Put web tables read from the file into every snapshot; a change (not rows appended to the audit log)
        drops the results derived from them."""
        for snap in self.all():
            snap.put_tables(tables, append=append)
            if not append:
                snap.results.forget()
        if not append:
            self.on_change()

    def refresh(self) -> str:
        """Pick up changes made by other processes: 'unchanged', 'web' (small tables), 'full' (new snapshot) or 'busy'."""
        with self._refresh_lock:
            if self.file.sig() == self.file.known:
                return "unchanged"
            with self.file.lock:
                sig = self.file.sig()  # read before copying: a change during the copy is seen next time
                if sig == self.file.known:  # it was this server's own write, finishing meanwhile
                    return "unchanged"
                try:
                    new = self._reread(sig)
                except WorkspaceBusy:
                    return "busy"
                self.file.known = sig
                if new is None:
                    return "web"
                self.pending = new
            try:
                warm(new)
            finally:
                self.reloads += 1
                self.current, self.pending = new, None
                self.on_change()
            threading.Thread(target=self.warm_details, name="kefu-warm", daemon=True).start()
            return "full"

    def _reread(self, sig: FileSig) -> Snapshot | None:
        """The changed file: its web tables published (None) when the imports ledger and kefu.toml are the same,
        else a new snapshot."""
        old = self.served()
        with _attached(self.file.db, wait=0.0) as con:
            ledger = _ledger(con, "src")
            if ledger == old.ledger and sig[2] == self.file.known[2]:
                self.publish(web_tables(con, "src"))
                return None
            try:
                config = load_config(self.file.config)
            except ConfigError as exc:  # keep serving the old settings; say why once
                log.error("kefu.toml changed but cannot be read, keeping the previous settings: %s", exc)
                config = old.ws.config
            con.execute("COPY FROM DATABASE src TO memory")
        return _snapshot(Workspace(con, config, self.file.path), ledger)

    def watch(self, every: float) -> None:
        """Check the file every `every` seconds until `stop` is set (a thread's loop)."""
        while not self.stop.wait(every):
            try:
                self.refresh()
            except Exception:  # never let the watcher die; the next check tries again
                log.exception("reloading %s failed", self.file.db)

    def warm_details(self) -> None:
        """Run `details` of the served snapshot, step by step, in the background; stops when it is replaced."""
        snap = self.served()
        try:
            for step in details(snap):
                if self.stop.is_set() or snap is not self.current:
                    return
                with snap.lock:
                    step()
        finally:
            self.ready.set()


# -- warming up ------------------------------------------------------------------------------


def warm(snap: Snapshot) -> None:
    """What every page needs, computed before a snapshot is served."""
    queries.agents(snap)
    days = queries.days(snap)
    if days:
        last = days[-1]
        queries.kpis(snap, ("agent", "day"))
        queries.kpis(snap, ("team", "day"))
        queries.kpis(snap, ("shop", "day", "hour"))
        for by in (("shop",), ("agent",), ("team",)):
            queries.kpis(snap, by, last.replace(day=1), last)


def details(snap: Snapshot) -> list[Callable[[], object]]:
    """Month to date of the last week, the latest day's loss lists and drill-downs: what to compute after start-up."""
    days: list[dt.date] = queries.days(snap)
    steps: list[Callable[[], object]] = [
        partial(queries.kpis, snap, by, d.replace(day=1), d)
        for d in days[-7:]
        for by in (("shop",), ("agent",), ("team",))
    ]
    if not days:
        return steps
    steps += [partial(queries.lost, snap, s, days[-1]) for s in queries.shops(snap)]
    steps += [partial(queries.section_measures, snap)]
    steps += [partial(queries.explain, snap, a, days[-1]) for a in sorted(queries.agents(snap))]
    return steps
