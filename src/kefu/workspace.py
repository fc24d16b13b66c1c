"""A workspace: a folder holding `kefu.duckdb` (all tables) and `kefu.toml` (configuration).

`Workspace.memory()` is the same thing in memory, used when a command is
pointed at a folder of canonical files instead of a workspace.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
import ibis

from kefu.config import Config, load_config, render_config
from kefu.errors import KefuError
from kefu.schema import CORE, ON_DEMAND, Table, add_column_sql, create_sql

DB_FILE = "kefu.duckdb"
CONFIG_FILE = "kefu.toml"


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection, *, commit: bool = True) -> Iterator[None]:
    """All or nothing: commit when the block ends (roll back instead with commit=False: a dry run),
    roll back when it raises."""
    con.execute("BEGIN TRANSACTION")
    try:
        yield
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT" if commit else "ROLLBACK")


def fetch_one(con: duckdb.DuckDBPyConnection, sql: str, params: object = None) -> tuple[Any, ...]:
    """The row of a query that always returns one (an aggregate without GROUP BY, `SELECT current_database()`)."""
    row = con.execute(sql, params).fetchone()
    if row is None:
        raise ValueError(f"no row from: {sql}")
    return row


def scalar(con: duckdb.DuckDBPyConnection, sql: str, params: object = None) -> Any:
    """The value of a query that always returns one row of one column, e.g. `SELECT count(*) …`."""
    return fetch_one(con, sql, params)[0]


def _upgrade_sql(con: duckdb.DuckDBPyConnection, tables: Iterable[Table], existing: Iterable[Table] = ()) -> list[str]:
    """The statements that bring the declared tables (kefu.schema) up to date: each of `tables` that is missing,
    and each column an earlier kefu's table of `tables` or `existing` lacks (a missing one of `existing` stays so)."""
    present: dict[str, set[str]] = {}
    for table, column in con.execute(
        "SELECT table_name, column_name FROM duckdb_columns() "
        "WHERE database_name = current_database() AND schema_name = 'main'"
    ).fetchall():
        present.setdefault(table, set()).add(column)
    tables = tuple(tables)
    out = []
    for table in (*tables, *existing):
        have = present.get(table.name)
        if have is not None:
            out += [add_column_sql(table.name, c) for c in table.columns if c.name not in have]
    return [create_sql(t) for t in tables if t.name not in present] + out


def ensure_tables(con: duckdb.DuckDBPyConnection, tables: Iterable[Table]) -> None:
    """Create the declared tables that are missing and add the columns an earlier kefu's tables lack."""
    for sql in _upgrade_sql(con, tables):
        con.execute(sql)


def _outdated_sql(con: duckdb.DuckDBPyConnection) -> list[str]:
    """What this kefu changes in a workspace when it opens it for writing: the core tables, created when missing,
    and the columns missing from any declared table an earlier kefu made (those made on demand too; the pay
    inputs, declared in kefu.pay.inputs, gain theirs when next written)."""
    return _upgrade_sql(con, CORE, ON_DEMAND)


def upgrade(path: Path) -> None:
    """Bring a workspace made by an earlier kefu up to this one's tables (new tables empty, new columns empty or
    their declared default; no value changes), so read-only commands and the web server work on it straight
    after an upgrade of kefu."""
    con = connect(Path(path) / DB_FILE, read_only=True)
    try:
        outdated = bool(_outdated_sql(con))
    finally:
        con.close()
    if outdated:
        Workspace.open(path).close()


class WorkspaceError(KefuError):
    """The folder is not a usable workspace."""


class WorkspaceBusy(WorkspaceError):
    """Another process holds kefu.duckdb (DuckDB allows one writer, and a writer excludes readers)."""

    status = 503  # try again in a moment


#: Seconds a command waits for kefu.duckdb while another process holds it (`kefu serve` writes for milliseconds).
LOCK_WAIT = float(os.environ.get("KEFU_LOCK_WAIT", "30"))
_BUSY = ("could not set lock", "unique file handle conflict", "different configuration")


def is_busy(exc: Exception) -> bool:
    """Whether a DuckDB error means the file is held by another process (or connection) right now."""
    return isinstance(exc, duckdb.Error) and any(s in str(exc).lower() for s in _BUSY)


def connect(db: Path, *, read_only: bool = False, wait: float | None = None) -> duckdb.DuckDBPyConnection:
    """Open a DuckDB file, retrying with a short backoff while another process holds it, for up to `wait` seconds."""
    wait = LOCK_WAIT if wait is None else wait
    deadline = time.monotonic() + wait
    pause = 0.02
    while True:
        try:
            return duckdb.connect(str(db), read_only=read_only)
        except duckdb.Error as exc:
            if not is_busy(exc):
                raise
            if time.monotonic() + pause > deadline:
                pid = re.search(r"PID (\d+)", str(exc))
                raise WorkspaceBusy(
                    f"{db} is busy: another process{f' (PID {pid.group(1)})' if pid else ''} holds it, e.g. a running "
                    f"`kefu import`; gave up after {wait:g} s. Try again when it has finished (KEFU_LOCK_WAIT sets the wait)"
                ) from None
        time.sleep(pause)
        pause = min(pause * 2, 0.5)


def is_workspace(path: Path) -> bool:
    return (path / DB_FILE).exists()


class Workspace:
    """Tables and configuration of one or more shops."""

    def __init__(self, con: duckdb.DuckDBPyConnection, config: Config, path: Path | None = None):
        self.con = con
        self.config = config
        self.path = path
        self.ibis = ibis.duckdb.from_connection(con)

    @classmethod
    def open(cls, path: Path, *, create: bool = False, read_only: bool = False) -> Workspace:
        """Open the workspace at `path`; with `create`, make the folder and files if missing."""
        path = Path(path)
        if not is_workspace(path):
            if not create:
                raise WorkspaceError(
                    f"{path} is not a kefu workspace (no {DB_FILE}); run `kefu init {path}` or import into it"
                )
            path.mkdir(parents=True, exist_ok=True)
        config_path = path / CONFIG_FILE
        if create and not config_path.exists():
            config_path.write_text(render_config(Config()), encoding="utf-8")
        if read_only:
            upgrade(path)
        con = connect(path / DB_FILE, read_only=read_only)
        ws = cls(con, load_config(config_path), path)
        if not read_only:
            ws.create_tables()
        return ws

    @classmethod
    def memory(cls, config: Config | None = None) -> Workspace:
        ws = cls(duckdb.connect(), config or Config())
        ws.create_tables()
        return ws

    def create_tables(self) -> None:
        """The core tables; in a workspace made by an earlier kefu, also the columns added since."""
        for sql in _outdated_sql(self.con):
            self.con.execute(sql)

    def table(self, name: str) -> ibis.Table:
        return self.ibis.table(name)

    def has_table(self, name: str) -> bool:
        return name in self.ibis.list_tables()

    def count(self, name: str) -> int:
        return scalar(self.con, f'SELECT count(*) FROM "{name}"')

    def close(self) -> None:
        self.con.close()

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# -- a workspace through a connection its caller owns (the web server's snapshot and writes) -------------


class WorkspaceView(Workspace):
    """The tables and settings of a workspace through a connection the caller opened and closes: a cursor of a
    connection shared between threads (DuckDB serves a connection to one thread at a time, its cursors each to
    their own), or the file opened for one write. It is a `Workspace`, the one handle domain code (kefu.qc,
    kefu.pay, kefu.reports) takes; kefu.web.store hands one to every read and write. Its Ibis backend is made on
    first use: 3 ms, more than most of the plain reads it serves."""

    def __init__(self, con: duckdb.DuckDBPyConnection, config: Config, path: Path | None = None):
        self.con, self.config, self.path = con, config, path
        self._ibis: Any = None

    @property
    def ibis(self) -> Any:
        if self._ibis is None:
            self._ibis = ibis.duckdb.from_connection(self.con)
        return self._ibis
