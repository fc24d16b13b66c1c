"""The server's own writes: the file opened read-write for a moment, the change copied into the snapshots.

`Writes.write(fn)` opens kefu.duckdb read-write (kefu.workspace.connect retries with a short backoff while
another process holds it, for up to `wait` seconds, then WorkspaceBusy, which the app turns into HTTP 503),
runs `fn` on it, reads back the web tables, closes the file and puts those tables into the snapshots, so the
next read sees the change. Audit rows are buffered (`AuditLog`) and written once a second; rows that cannot be
written yet stay in the buffer, in order.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable, Iterable
from typing import TypeVar

import duckdb
import pandas as pd
import pyarrow as pa

from kefu.config import Config
from kefu.targets import ensure_table as ensure_targets
from kefu.users import ensure_tables
from kefu.web.store.snapshot import Snapshots, WorkspaceFile, web_tables
from kefu.workspace import Workspace, WorkspaceBusy, WorkspaceView, connect, scalar

log = logging.getLogger("kefu.web")
T = TypeVar("T")

AUDIT_TABLE = "web_audit"


def ensure_web_tables(con: duckdb.DuckDBPyConnection) -> None:
    """The web app's own tables: kefu.users' and the targets table."""
    ensure_tables(con)
    ensure_targets(con)


class Writes:
    def __init__(self, file: WorkspaceFile, snapshots: Snapshots, config: Callable[[], Config], wait: float) -> None:
        self.file, self.snapshots, self.config, self.wait = file, snapshots, config, wait

    def write(
        self, fn: Callable[[Workspace], T], *, tables: Iterable[str] | None = None, wait: float | None = None
    ) -> T:
        """Run `fn(ws)` on the workspace file (read-write); the change is persisted and visible to the next read.

        `fn` runs in auto-commit mode: several statements that must stand or fall together belong in one
        statement or in BEGIN … COMMIT inside `fn`. The web tables (or only `tables`, when given) are then copied
        into the snapshots. Raises WorkspaceBusy when the file stays held for `wait` seconds.
        """
        with self.file.lock:
            before = self.file.sig()
            con = connect(self.file.db, wait=self.wait if wait is None else wait)
            try:
                result = fn(WorkspaceView(con, self.config(), self.file.path))
                db = scalar(con, "SELECT current_database()")
                changed = (
                    web_tables(con, db, skip=(AUDIT_TABLE,)) if tables is None else web_tables(con, db, only=tables)
                )
            finally:
                con.close()
            self.file.written(before)
            self.snapshots.publish(changed)
        return result


class AuditLog:
    """Who viewed or changed what: rows buffered in memory (`pending`), written by `flush`."""

    def __init__(self, file: WorkspaceFile, snapshots: Snapshots) -> None:
        self.file, self.snapshots = file, snapshots
        self.pending: list[tuple] = []  # (ts, user, action, object, ip), oldest first
        self._lock = threading.Lock()

    def add(self, user: str | None, action: str, obj: str = "", ip: str | None = None) -> None:
        with self._lock:
            self.pending.append((dt.datetime.now(), user, action, obj, ip))

    def flush(self, wait: float = 0.0) -> None:
        """Write the buffered rows (and add them to the snapshots); if the file is busy they stay buffered."""
        with self._lock:
            rows, self.pending = self.pending, []
        if not rows:
            return
        arrow = pa.Table.from_pandas(
            pd.DataFrame(rows, columns=["ts", "user_name", "action", "object", "ip"]), preserve_index=False
        )
        with self.file.lock:
            before = self.file.sig()
            try:
                con = connect(self.file.db, wait=wait)
                try:
                    con.register("_kefu_audit", arrow)
                    con.execute(f"INSERT INTO {AUDIT_TABLE} SELECT * FROM _kefu_audit")  # one statement: all or none
                finally:
                    con.close()
            except Exception:  # not written: keep them, oldest first, for the next try
                with self._lock:
                    self.pending[:0] = rows
                raise
            self.file.written(before)
            self.snapshots.publish({AUDIT_TABLE: arrow}, append=True)

    def run(self, stop: threading.Event) -> None:
        """Flush every second until `stop` is set (a thread's loop)."""
        while not stop.wait(1.0):
            try:
                self.flush()
            except WorkspaceBusy:
                pass  # an import holds the file: the rows wait for the next second
            except Exception:
                log.exception("writing the audit log failed")
