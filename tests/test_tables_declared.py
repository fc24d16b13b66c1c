"""Every table of a workspace is declared once (kefu.schema and what computes a table) and made from that
declaration: no module writes its own DDL, and a workspace holds exactly the declared tables and columns."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import duckdb
import ibis
import ibis.expr.datatypes as dt
import pytest
from shops import msg, order, write_table

import kefu
from kefu import derive, targets, users
from kefu.ingest.pipeline import import_paths
from kefu.metrics.derived import CUBE, DERIVED, STEPS, STORED
from kefu.metrics.dialogue import bot_accounts
from kefu.metrics.kpis import measure_cube
from kefu.pay import inputs
from kefu.qc import ledger, store
from kefu.schema import SQL_TYPES, WORKSPACE_TABLES, Table
from kefu.workspace import Workspace

SRC = Path(kefu.__file__).parent
DDL = re.compile(r"\bCREATE\s+(?:OR\s+REPLACE\s+)?(?:TEMP(?:ORARY)?\s+)?TABLE\b", re.IGNORECASE)
GENERATOR = "schema.py"
#: Every table declared with fixed columns: kefu.schema's, the pay inputs' and the cube's parameter row.
DECLARED: dict[str, Table] = {
    **WORKSPACE_TABLES,
    **inputs.TABLES,
    derive.CUBE_PARAMS_TABLE.name: derive.CUBE_PARAMS_TABLE,
}


def test_no_module_writes_its_own_create_table():
    found = [
        f"{path.relative_to(SRC)}:{number}: {line.strip()}"
        for path in sorted(SRC.rglob("*.py"))
        if path.relative_to(SRC).as_posix() != GENERATOR
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if DDL.search(line)
    ]
    assert found == [], "declare the table in kefu.schema and call its generated DDL:\n" + "\n".join(found)


def test_the_scan_would_see_hand_written_ddl():
    written = ['"CREATE TABLE IF NOT EXISTS x (a INT)"', "f'create or replace temp table staged AS {sql}'"]
    assert all(DDL.search(line) for line in written)
    assert not DDL.search("def create_tables(self) -> None:  # Create the QC tables when missing")


@pytest.fixture(scope="module")
def fresh(tmp_path_factory):
    """A new workspace file with one small import (the derived tables) and every table made on demand."""
    root = tmp_path_factory.mktemp("fresh")
    data = root / "data"
    data.mkdir()
    write_table(data, "messages", [msg("10:00:00", "buyer"), msg("10:00:30", "agent")])
    write_table(data, "orders", [order("o1", "10:01:00", "10:02:00")])
    ws = Workspace.open(root / "ws", create=True)
    assert not any(r.error or r.rejected for r in import_paths(ws, [data]))
    for ensure in (users.ensure_tables, targets.ensure_table, store.ensure_tables, ledger.ensure_table):
        ensure(ws.con)
    inputs.ensure_tables(ws.con)
    yield ws
    ws.close()


def columns(con: duckdb.DuckDBPyConnection) -> dict[str, list[tuple[str, str, bool, bool]]]:
    """(column, type, nullable, has a default) of every table in the file, in order."""
    out: dict[str, list] = {}
    for table, column, kind, nullable, default in con.execute(
        """SELECT table_name, column_name, data_type, is_nullable = 'YES', column_default IS NOT NULL
           FROM information_schema.columns WHERE table_catalog = current_database() AND table_schema = 'main'
           ORDER BY table_name, ordinal_position"""
    ).fetchall():
        out.setdefault(table, []).append((column, kind, nullable, default))
    return out


def declared_columns(table: Table) -> list[tuple[str, str, bool, bool]]:
    return [
        (c.name, SQL_TYPES[c.kind], not (c.not_null or c.name in table.primary_key), c.sql_default is not None)
        for c in table.columns
    ]


def test_a_fresh_workspace_holds_exactly_the_declared_tables(fresh):
    assert set(columns(fresh.con)) == set(DECLARED) | set(STORED)


def test_every_declared_table_has_the_declared_columns_types_and_constraints(fresh):
    present = columns(fresh.con)
    assert {name: present[name] for name in DECLARED} == {name: declared_columns(t) for name, t in DECLARED.items()}
    keys = {
        table: tuple(key)
        for table, key in fresh.con.execute(
            "SELECT table_name, constraint_column_names FROM duckdb_constraints() "
            "WHERE database_name = current_database() AND constraint_type = 'PRIMARY KEY'"
        ).fetchall()
    }
    assert keys == {name: t.primary_key for name, t in DECLARED.items() if t.primary_key}


#: Stored columns whose type is not their expression's, and what is stored. TODO(issue 13): questions.response_s —
#: kefu/metrics/dialogue.py casts it to int64, but Ibis drops a cast to the type it already infers (a difference
#: of two int64 epochs) and DuckDB's EPOCH() is a DOUBLE, so the workspace stores DOUBLE (Spark: int64).
KNOWN = {("questions", "response_s"): dt.float64}


def normal(schema: ibis.Schema) -> list[tuple[str, dt.DataType]]:
    """(column, type) in order, a timestamp without its scale (DuckDB's TIMESTAMP always has microseconds)."""
    return [(name, kind.copy(scale=None) if kind.is_timestamp() else kind) for name, kind in schema.items()]


def test_the_derived_tables_and_the_cube_have_their_expressions_columns(fresh):
    """Their declaration is the Ibis expression: stored, each keeps its columns in order and their types (the
    cube's sums stay BIGINT, not the HUGEINT DuckDB would make of them)."""
    bots = bot_accounts(fresh.table("messages"), fresh.table("agents"))
    wanted = {name: STEPS[name](fresh.table, bots).schema() for name in DERIVED}
    sources = dataclasses.replace(derive.workspace_sources(fresh), cube=None)
    wanted[CUBE] = measure_cube(sources, fresh.config.params).schema()
    expected = {
        table: [(name, KNOWN.get((table, name), kind)) for name, kind in normal(schema)]
        for table, schema in wanted.items()
    }
    assert {table: normal(fresh.table(table).schema()) for table in wanted} == expected
