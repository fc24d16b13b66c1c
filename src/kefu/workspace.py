"""A workspace: a folder holding `kefu.duckdb` (all tables) and `kefu.toml` (configuration).

`Workspace.memory()` is the same thing in memory, used when a command is
pointed at a folder of canonical files instead of a workspace.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
import ibis

from kefu.config import Config, load_config, render_config
from kefu.schema import HISTORY, HISTORY_COLUMNS, PROVENANCE, SQL_TYPES, TABLES

DB_FILE = "kefu.duckdb"
CONFIG_FILE = "kefu.toml"

#: Book-keeping tables of the import (see kefu.ingest).
LEDGER_DDL = (
    """CREATE TABLE IF NOT EXISTS imports (
        import_id INTEGER, file VARCHAR, sha256 VARCHAR, format VARCHAR, encoding VARCHAR,
        tbl VARCHAR, read BIGINT, accepted BIGINT, rejected BIGINT, added BIGINT,
        imported_at TIMESTAMP DEFAULT current_timestamp, updated BIGINT, changed VARCHAR)""",
    """CREATE TABLE IF NOT EXISTS rejects (
        import_id INTEGER, file VARCHAR, line BIGINT, tbl VARCHAR, reason VARCHAR, raw VARCHAR)""",
)


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


def _table_columns() -> dict:
    """The columns of every canonical table and its history table, as this kefu declares them."""
    columns = {table.name: table.columns + PROVENANCE for table in TABLES.values()}
    return columns | {HISTORY[name]: columns[name] + HISTORY_COLUMNS for name in HISTORY}


#: Columns added to the ledger since its first version (LEDGER_DDL has them for a new workspace).
LEDGER_ADDED = (("imports", "updated", "BIGINT"), ("imports", "changed", "VARCHAR"))


def _missing_columns(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str, str]]:
    """(table, column, type) of the declared tables' columns missing from the file: those of tables an earlier
    kefu made before the column existed, and every column of a table it never made."""
    present = set(
        con.execute(
            "SELECT table_name, column_name FROM duckdb_columns() "
            "WHERE database_name = current_database() AND schema_name = 'main'"
        ).fetchall()
    )
    wanted = [(name, c.name, SQL_TYPES[c.kind]) for name, cols in _table_columns().items() for c in cols]
    tables = {t for t, _ in present}
    return [
        (t, c, k)
        for t, c, k in [*wanted, *LEDGER_ADDED]
        if (t, c) not in present and (t in tables or t in HISTORY.values())
    ]


def upgrade(path: Path) -> None:
    """Bring a workspace made by an earlier kefu up to this one's tables (new tables and columns, empty; no row
    changes), so read-only commands and the web server work on it straight after an upgrade of kefu."""
    con = connect(Path(path) / DB_FILE, read_only=True)
    try:
        outdated = bool(_missing_columns(con))
    finally:
        con.close()
    if outdated:
        Workspace.open(path).close()


class WorkspaceError(Exception):
    """The folder is not a usable workspace."""


class WorkspaceBusy(WorkspaceError):
    """Another process holds kefu.duckdb (DuckDB allows one writer, and a writer excludes readers)."""


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
        for name, cols in _table_columns().items():
            ddl = ", ".join(f'"{c.name}" {SQL_TYPES[c.kind]}' for c in cols)
            self.con.execute(f'CREATE TABLE IF NOT EXISTS "{name}" ({ddl})')
        for ddl in LEDGER_DDL:
            self.con.execute(ddl)
        # A workspace made by an earlier kefu lacks the columns added since: add them, empty.
        for name, column, kind in _missing_columns(self.con):
            self.con.execute(f'ALTER TABLE "{name}" ADD COLUMN "{column}" {kind}')

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
