"""What the web app reads and writes: an in-memory snapshot of the workspace; writes go to the file.

DuckDB lets one process open a database file for writing, and while it does
no other process may even read it. So the server never keeps kefu.duckdb
open. It copies the workspace into an in-memory DuckDB (ATTACH the file
READ_ONLY, COPY FROM DATABASE, DETACH: a quarter of a second for the demo
shop) and serves every read from that snapshot, so `kefu import`, `kefu user
add`, `kefu kpi` … work while the server runs.

- Changes made by other processes: every `check_every` seconds a thread
  compares the modification time and size of kefu.duckdb, its WAL and
  kefu.toml with those the snapshot was read at. When they differ it attaches
  the file again. If the imports ledger and kefu.toml are unchanged, only the
  web tables (everything an import does not own: users, targets, settings,
  audit, QC reviews, pay schemes …) are copied into the snapshot. Otherwise a
  new snapshot is loaded, its start-up KPI tables are computed in the
  background, and it replaces the old one in one assignment, caches and all.
  A file held by an import is simply tried again at the next check.
- The server's own writes (`write(fn)`) open the file read-write for a moment,
  retrying with a short backoff while another process holds it (for up to
  `write_wait` seconds, then WorkspaceBusy, which the app turns into HTTP 503),
  run `fn`, read back the web tables, close the file, and put those tables into
  the snapshot, so the next read sees the change. Audit rows are buffered and
  written once a second; rows that cannot be written yet stay in the buffer.
- Engine results (KPI tables, explanations, loss lists) depend only on the
  import-owned tables and kefu.toml, so they are cached per snapshot; results
  derived from web tables (`cached`) are dropped on every change of those.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pyarrow as pa
from ibis import _

from kefu import api
from kefu.config import ConfigError, load_config
from kefu.metrics.derived import STORED, cube_is_current, refresh_cube, workspace_sources
from kefu.metrics.explain import Explanation
from kefu.metrics.kpis import facts
from kefu.schema import HISTORY, TABLES
from kefu.targets import ensure_table as ensure_targets
from kefu.users import ensure_tables
from kefu.workspace import (
    CONFIG_FILE,
    DB_FILE,
    Workspace,
    WorkspaceBusy,
    WorkspaceError,
    connect,
    fetch_one,
    is_busy,
    scalar,
    upgrade,
)

log = logging.getLogger("kefu.web")

#: Tables only `kefu import` writes (web writes never touch them); a change of the imports ledger means a new snapshot.
IMPORT_OWNED = frozenset(TABLES) | frozenset(STORED) | frozenset(HISTORY.values()) | {"imports", "rejects"}
AUDIT_TABLE = "web_audit"
MAX_DERIVED = 4000  # cached pages and results kept per snapshot, the least recently used dropped first …
MAX_DERIVED_TEXT = 128 * 2**20  # … and at most this many characters of cached pages
FileSig = tuple


@dataclass
class Snapshot:
    """One in-memory copy of the workspace and the engine results computed from it."""

    ws: Workspace
    ledger: tuple  # (rows, last import id, last import time) of `imports` when copied
    lock: threading.RLock = field(default_factory=threading.RLock)  # engine calls share the snapshot's connection
    engine: dict[tuple, Any] = field(default_factory=dict)  # KPI tables, agents, loss lists …
    explained: OrderedDict = field(default_factory=OrderedDict)  # (agent, day) -> Explanation, the latest 256
    derived: OrderedDict = field(
        default_factory=OrderedDict
    )  # `Store.cached` (pages, reports …): may depend on web tables too
    derived_generation: int = 0  # bumped when `derived` is dropped, so a result computed before is not stored after
    derived_lock: threading.Lock = field(default_factory=threading.Lock)
    derived_text: int = 0  # characters of the cached pages (str values) in `derived`
    computing: dict[tuple, threading.Lock] = field(
        default_factory=dict
    )  # key -> lock held while one thread computes it

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
                    cur.execute(f'CREATE OR REPLACE TABLE "{name}" AS SELECT * FROM _kefu_new')
                cur.unregister("_kefu_new")
            cur.execute("COMMIT")
        except Exception:
            cur.execute("ROLLBACK")
            raise
        finally:
            cur.close()

    def forget_derived(self) -> None:
        with self.derived_lock:
            self.derived_generation += 1
            self.derived.clear()
            self.derived_text = 0

    def get_derived(self, key: tuple) -> Any:
        """The cached value (KeyError when missing), marked as recently used."""
        with self.derived_lock:
            self.derived.move_to_end(key)
            return self.derived[key]

    def put_derived(self, key: tuple, value: Any, generation: int) -> None:
        with self.derived_lock:
            if generation != self.derived_generation:  # computed from tables a write has changed meanwhile
                return
            if key in self.derived:
                return
            self.derived[key] = value
            self.derived_text += len(value) if isinstance(value, str) else 0
            while len(self.derived) > MAX_DERIVED or self.derived_text > MAX_DERIVED_TEXT:
                _, old = self.derived.popitem(last=False)
                self.derived_text -= len(old) if isinstance(old, str) else 0


def _quote(path: Path) -> str:
    return str(path).replace("'", "''")


def _ensure_web_tables(con: duckdb.DuckDBPyConnection) -> None:
    """The web app's own tables: kefu.users' and the targets table."""
    ensure_tables(con)
    ensure_targets(con)


def _ledger(con: duckdb.DuckDBPyConnection, db: str) -> tuple:
    found = scalar(con, "SELECT count(*) FROM duckdb_tables() WHERE database_name = ? AND table_name = 'imports'", [db])
    if not found:
        return (0, None, None)
    return fetch_one(con, f'SELECT count(*), max(import_id), max(imported_at) FROM "{db}".main.imports')


def _web_tables(con: duckdb.DuckDBPyConnection, db: str, skip: Iterable[str] = ()) -> dict[str, Any]:
    """Every table an import does not own, as Arrow tables (small: users, targets, reviews …)."""
    names = [
        r[0]
        for r in con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE database_name = ? AND schema_name = 'main' ORDER BY table_name",
            [db],
        ).fetchall()
    ]
    return {
        n: con.execute(f'SELECT * FROM "{db}".main."{n}"').to_arrow_table()
        for n in names
        if n not in IMPORT_OWNED and n not in set(skip)
    }


def _snapshot(ws: Workspace, ledger: tuple) -> Snapshot:
    """A snapshot whose KPI cube matches its kefu.toml (rebuilt in memory when the parameters were edited)."""
    if ws.has_table("messages") and not cube_is_current(ws):
        refresh_cube(ws)
    return Snapshot(ws, ledger)


class Store:
    def __init__(self, path: Path, *, check_every: float = 2.0, write_wait: float = 15.0, watch: bool = True):
        self.path = Path(path)
        self.db = self.path / DB_FILE
        if not self.db.exists():
            raise WorkspaceError(
                f"{self.path} is not a kefu workspace (no {DB_FILE}); run `kefu init {self.path}` or import into it"
            )
        upgrade(
            self.path
        )  # the snapshot copies the file as it is: a workspace of an earlier kefu gets the new columns first
        self.check_every, self.write_wait = check_every, write_wait
        self.ready = threading.Event()  # set once warm_details has run
        self.targets_version = 0  # bumped on every change of targets (kept for callers; `cached` is dropped anyway)
        self.reloads = 0  # snapshots loaded after the first (tests and /api/health show it)
        self._file_lock = threading.Lock()  # one use of the file at a time in this process
        self._refresh_lock = threading.Lock()
        self._users: dict[str, Any] = {}
        self._users_generation = 0
        self._audit: list[tuple] = []  # buffered audit rows, flushed by flush_audit (every second, and on close)
        self._audit_lock = threading.Lock()
        self._stop = threading.Event()
        self._pending: Snapshot | None = None  # a new snapshot being warmed up; writes go to it too
        self.write(_ensure_web_tables, wait=max(write_wait, 60.0))
        self._known: FileSig = self._file_sig()
        self._snap = self._load(wait=60.0)
        threading.Thread(target=self._flush_loop, name="kefu-audit", daemon=True).start()
        if watch:
            threading.Thread(target=self._watch_loop, name="kefu-watch", daemon=True).start()

    def close(self) -> None:
        self._stop.set()
        try:
            self.flush_audit(wait=5.0)
        except WorkspaceBusy:
            log.warning("%d audit rows could not be written: %s is busy", len(self._audit), self.db)

    # -- the snapshot ---------------------------------------------------------------

    @property
    def ws(self) -> Workspace:
        """The current snapshot as a Workspace (in memory: reading only)."""
        return self._snap.ws

    @property
    def lock(self) -> threading.RLock:
        """Held during engine calls on the current snapshot's connection."""
        return self._snap.lock

    @property
    def params(self):
        return self._snap.ws.config.params

    @property
    def snapshot_ledger(self) -> tuple:
        """(files imported, last import id, last import time) of the data being served."""
        return self._snap.ledger

    def _file_sig(self) -> FileSig:
        def stat(p: Path):
            try:
                s = p.stat()
                return (s.st_mtime_ns, s.st_size)
            except FileNotFoundError:
                return None

        return (stat(self.db), stat(self.db.with_name(DB_FILE + ".wal")), stat(self.path / CONFIG_FILE))

    def _attach(self, con: duckdb.DuckDBPyConnection, wait: float) -> None:
        """ATTACH the file READ_ONLY as `src`, retrying with a backoff for `wait` seconds while another process writes it."""
        deadline, pause = time.monotonic() + wait, 0.02
        while True:
            try:
                con.execute(f"ATTACH '{_quote(self.db)}' AS src (READ_ONLY)")
                return
            except duckdb.Error as exc:
                if not is_busy(exc):
                    raise
                if time.monotonic() + pause > deadline:
                    raise WorkspaceBusy(f"{self.db} is busy: another process holds it") from None
            time.sleep(pause)
            pause = min(2 * pause, 0.5)

    def _load(self, wait: float = 0.0) -> Snapshot:
        """A new snapshot of the whole workspace."""
        with self._file_lock:
            snap = self._copy(wait)
        return snap

    def _copy(self, wait: float) -> Snapshot:
        con = duckdb.connect()
        self._attach(con, wait)
        try:
            ledger = _ledger(con, "src")
            config = load_config(self.path / CONFIG_FILE)
            con.execute("COPY FROM DATABASE src TO memory")
        finally:
            con.execute("DETACH src")
        return _snapshot(Workspace(con, config, self.path), ledger)

    def refresh(self) -> str:
        """Pick up changes made by other processes: 'unchanged', 'web' (small tables), 'full' (new snapshot) or 'busy'."""
        with self._refresh_lock:
            sig = self._file_sig()
            if sig == self._known:
                return "unchanged"
            with self._file_lock:
                sig = self._file_sig()  # read before copying: a change during the copy is seen next time
                if sig == self._known:  # it was this server's own write, finishing meanwhile
                    return "unchanged"
                con = duckdb.connect()
                try:
                    self._attach(con, wait=0.0)
                except WorkspaceBusy:
                    con.close()
                    return "busy"
                try:
                    ledger = _ledger(con, "src")
                    same_config = sig[2] == self._known[2]
                    if ledger == self._snap.ledger and same_config:
                        tables = _web_tables(con, "src")
                        for snap in self._snapshots():
                            snap.put_tables(tables)
                            snap.forget_derived()
                        self.forget_users()
                        self._known = sig
                        return "web"
                    try:
                        config = load_config(self.path / CONFIG_FILE)
                    except ConfigError as exc:  # keep serving the old snapshot; say why once
                        log.error("kefu.toml changed but cannot be read, keeping the previous settings: %s", exc)
                        config = self._snap.ws.config
                    con.execute("COPY FROM DATABASE src TO memory")
                finally:
                    con.execute("DETACH src")
                new = _snapshot(Workspace(con, config, self.path), ledger)
                self._pending = new
                self._known = sig
            try:
                self._warm(new)
            finally:
                self.reloads += 1
                self._snap, self._pending = new, None
                self.forget_users()
            threading.Thread(target=self.warm_details, name="kefu-warm", daemon=True).start()
            return "full"

    def _snapshots(self) -> list[Snapshot]:
        return [s for s in (self._snap if hasattr(self, "_snap") else None, self._pending) if s is not None]

    def _watch_loop(self) -> None:
        while not self._stop.wait(self.check_every):
            try:
                self.refresh()
            except Exception:  # never let the watcher die; the next check tries again
                log.exception("reloading %s failed", self.db)

    # -- writes ----------------------------------------------------------------------

    def write(self, fn: Callable[[Any], Any], *, tables: Iterable[str] | None = None, wait: float | None = None) -> Any:
        """Run `fn(con)` on the workspace file (read-write); the change is persisted and visible to the next read.

        `fn` runs in auto-commit mode: several statements that must stand or fall
        together belong in one statement or in BEGIN … COMMIT inside `fn`. The
        web tables (or only `tables`, when given) are then copied into the
        snapshot. Raises WorkspaceBusy when the file stays held for `wait` seconds.
        """
        with self._file_lock:
            before = self._file_sig()
            con = connect(self.db, wait=self.write_wait if wait is None else wait)
            try:
                result = fn(con)
                changed = _web_tables(con, self._db_name(con), skip=(AUDIT_TABLE,) if tables is None else ())
                if tables is not None:
                    changed = {k: v for k, v in changed.items() if k in set(tables)}
            finally:
                con.close()
            if before == getattr(self, "_known", None):  # nobody else changed the file since the snapshot was read
                self._known = self._file_sig()
            for snap in self._snapshots():
                snap.put_tables(changed)
                snap.forget_derived()
        self.forget_users()
        return result

    @staticmethod
    def _db_name(con: duckdb.DuckDBPyConnection) -> str:
        return scalar(con, "SELECT current_database()")

    def audit(self, user: str | None, action: str, obj: str = "", ip: str | None = None) -> None:
        with self._audit_lock:
            self._audit.append((dt.datetime.now(), user, action, obj, ip))

    def flush_audit(self, wait: float = 0.0) -> None:
        """Write the buffered audit rows (and add them to the snapshot); if the file is busy they stay buffered."""
        with self._audit_lock:
            rows, self._audit = self._audit, []
        if not rows:
            return
        arrow = pa.Table.from_pandas(
            pd.DataFrame(rows, columns=["ts", "user_name", "action", "object", "ip"]), preserve_index=False
        )
        with self._file_lock:
            before = self._file_sig()
            try:
                con = connect(self.db, wait=wait)
                try:
                    con.register("_kefu_audit", arrow)
                    con.execute(
                        f"INSERT INTO {AUDIT_TABLE} SELECT * FROM _kefu_audit"
                    )  # one statement: all rows or none
                finally:
                    con.close()
            except Exception:  # not written: keep them, oldest first, for the next try
                with self._audit_lock:
                    self._audit[:0] = rows
                raise
            if before == self._known:
                self._known = self._file_sig()
            for snap in self._snapshots():
                snap.put_tables({AUDIT_TABLE: arrow}, append=True)

    def _flush_loop(self) -> None:
        while not self._stop.wait(1.0):
            try:
                self.flush_audit()
            except WorkspaceBusy:
                pass  # an import holds the file: the rows wait for the next second
            except Exception:
                log.exception("writing the audit log failed")

    # -- users -----------------------------------------------------------------------

    def user(self, name: str):
        """The user, or None when unknown or disabled (cached; dropped on every change of the web tables)."""
        from kefu.users import get_user

        if name in self._users:
            return self._users[name]
        generation = self._users_generation
        found = self.con_read(lambda cur: get_user(cur, name))
        if generation == self._users_generation:  # not read before a change that landed meanwhile
            self._users[name] = found
        return found

    def forget_users(self) -> None:
        self._users_generation += 1
        self._users.clear()

    # -- engine results (cached per snapshot) -------------------------------------------

    def cached(self, key: tuple, compute: Callable[[], Any]) -> Any:
        """Cache a result derived from engine results or web tables; dropped whenever either changes.

        Many users asking for the same missing result at once wait for one computation of it.
        """
        snap = self._snap
        try:
            return snap.get_derived(key)
        except KeyError:
            pass
        lock = snap.computing.setdefault(key, threading.Lock())
        waited = lock.acquire(timeout=10)  # never wait forever (a computation that asks for another key)
        try:
            try:
                return snap.get_derived(key)  # another thread computed it meanwhile
            except KeyError:
                pass
            generation = snap.derived_generation
            value = compute()
            snap.put_derived(key, value, generation)
            return value
        finally:
            if waited:
                lock.release()
            snap.computing.pop(key, None)

    def _engine(self, snap: Snapshot, key: tuple, compute: Callable[[Workspace], Any]) -> Any:
        if key in snap.engine:
            return snap.engine[key]
        with snap.lock:
            if key not in snap.engine:
                snap.engine[key] = compute(snap.ws)
        return snap.engine[key]

    def kpis(self, by: tuple[str, ...], date_from: dt.date | None = None, date_to: dt.date | None = None) -> list[dict]:
        return self._kpis(self._snap, tuple(by), date_from, date_to)

    def _kpis(self, snap: Snapshot, by: tuple[str, ...], date_from=None, date_to=None) -> list[dict]:
        return self._engine(
            snap,
            ("kpis", by, date_from, date_to),
            lambda ws: api.kpis(ws, list(by), date_from=date_from, date_to=date_to),
        )

    def explain(self, agent: str, day: dt.date) -> Explanation:
        snap, key = self._snap, (agent, day)
        if key in snap.explained:
            return snap.explained[key]
        with snap.lock:
            if key not in snap.explained:
                snap.explained[key] = api.explain_agent_day(snap.ws, agent, day)
                while len(snap.explained) > 256:
                    snap.explained.popitem(last=False)
        return snap.explained[key]

    def agents(self) -> dict[str, dict]:
        """Every human account that has figures or is listed in `agents`: id -> shop, name, team, employer, role."""
        return self._agents(self._snap)

    def _agents(self, snap: Snapshot) -> dict[str, dict]:
        def compute(ws: Workspace) -> dict[str, dict]:
            cur = ws.con.cursor()
            try:
                listed = cur.execute("SELECT agent, name, shop, team, role, employer FROM agents").df()
            finally:
                cur.close()
            found = {r["agent"]: r for r in listed.to_dict("records")}
            for rec in self._kpis(snap, ("agent", "day")):
                found.setdefault(
                    rec["agent"],
                    {
                        "agent": rec["agent"],
                        "name": None,
                        "shop": rec["shop"],
                        "team": None,
                        "role": "presales",
                        "employer": "in_house",
                    },
                )
            out = {}
            for a, r in found.items():
                r = {k: (None if pd.isna(v) else v) for k, v in r.items()}
                r["name"] = r.get("name") or a.split(":", 1)[-1]
                r["employer"] = r.get("employer") or "in_house"
                r["role"] = r.get("role") or "presales"
                if r["role"] != "bot":
                    out[a] = r
            return out

        return self._engine(snap, ("agents",), compute)

    def shops(self) -> list[str]:
        snap = self._snap
        return self._engine(snap, ("shops",), lambda ws: sorted({r["shop"] for r in self._kpis(snap, ("shop", "day"))}))

    def days(self) -> list[dt.date]:
        snap = self._snap
        return self._engine(
            snap,
            ("days",),
            lambda ws: sorted({dt.date.fromisoformat(r["day"]) for r in self._kpis(snap, ("shop", "day"))}),
        )

    def lost(self, shop: str, day: dt.date, day_to: dt.date | None = None) -> pd.DataFrame:
        """Lost inquiries (询单流失) of a shop from `day` to `day_to` (default: that day): agent, buyer, first question, answered."""
        last = day_to or day

        def compute(ws: Workspace) -> pd.DataFrame:
            rows = facts(workspace_sources(ws), ws.config.params)["consultations"].rows
            rows = rows.filter(_.lost & (_.shop == shop) & (_.first_open.date() >= day) & (_.first_open.date() <= last))
            return (
                rows.select("shop", "agent", "buyer", "first_open", "answered", "first_response_s")
                .order_by(["agent", "first_open"])
                .execute()
            )

        return self._engine(self._snap, ("lost", shop, day, last), compute)

    def section_measures(self) -> dict[str, set[str]]:
        """Fact name -> the measures it adds (which drill-down sections explain a metric)."""
        return self._engine(
            self._snap,
            ("sections",),
            lambda ws: {n: set(f.measures) for n, f in facts(workspace_sources(ws), ws.config.params).items()},
        )

    # -- plain SQL on the snapshot -------------------------------------------------------

    def read(self, sql: str, params: list | None = None) -> pd.DataFrame:
        return self.con_read(lambda cur: cur.execute(sql, params or []).df())

    def con_read(self, fn: Callable[[Any], Any]) -> Any:
        """Run `fn(cursor)` on the snapshot (reading only: a change made here would be lost; use `write`)."""
        cur = self._snap.ws.con.cursor()
        try:
            return fn(cur)
        finally:
            cur.close()

    def chats(self, shop: str, buyers: list[str], day: dt.date) -> pd.DataFrame:
        """Messages of several buyers with the shop on a day, in one query (buyer, ts, agent, sender, text)."""
        if not buyers:
            return pd.DataFrame(columns=["buyer", "ts", "agent", "sender", "text"])
        return self.read(
            """SELECT buyer, ts, agent, sender, text FROM messages
               WHERE shop = ? AND ts >= ? AND ts < ? AND buyer IN (SELECT unnest(?::VARCHAR[]))
               ORDER BY buyer, ts, CASE sender WHEN 'transfer' THEN 0 WHEN 'buyer' THEN 1 WHEN 'bot' THEN 2 ELSE 3 END, agent, text""",
            [shop, day, day + dt.timedelta(days=1), buyers],
        )

    def chat(self, shop: str, buyer: str, day: dt.date) -> pd.DataFrame:
        """The buyer's messages with the shop on a day (every account), in the engine's order (D1)."""
        return self.read(
            """SELECT ts, agent, sender, text FROM messages WHERE shop = ? AND buyer = ? AND ts >= ? AND ts < ?
               ORDER BY ts, CASE sender WHEN 'transfer' THEN 0 WHEN 'buyer' THEN 1 WHEN 'bot' THEN 2 ELSE 3 END, agent, text""",
            [shop, buyer, day, day + dt.timedelta(days=1)],
        )

    # -- warming up --------------------------------------------------------------------

    def _warm(self, snap: Snapshot) -> None:
        """What every page needs, computed before a snapshot is served."""
        self._agents(snap)
        days = sorted({dt.date.fromisoformat(r["day"]) for r in self._kpis(snap, ("shop", "day"))})
        if days:
            last = days[-1]
            self._kpis(snap, ("agent", "day"))
            self._kpis(snap, ("team", "day"))
            self._kpis(snap, ("shop", "day", "hour"))
            for by in (("shop",), ("agent",), ("team",)):
                self._kpis(snap, by, last.replace(day=1), last)

    def warm(self) -> None:
        """Compute what every page needs at start-up, so the first users do not wait."""
        self._warm(self._snap)

    def warm_details(self) -> None:
        """Month to date of the last week, the latest day's loss lists and drill-downs; run in the background."""
        snap = self._snap
        days = self.days()
        steps: list[Callable[[], object]] = [
            partial(self._kpis, snap, by, d.replace(day=1), d)
            for d in days[-7:]
            for by in (("shop",), ("agent",), ("team",))
        ]
        steps += [partial(self.lost, s, days[-1]) for s in self.shops()]
        steps += [self.section_measures]
        steps += [partial(self.explain, a, days[-1]) for a in sorted(self.agents())]
        try:
            for step in steps:
                if self._stop.is_set() or snap is not self._snap:
                    return
                with snap.lock:
                    step()
        finally:
            self.ready.set()
