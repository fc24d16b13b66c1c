"""The derived tables in the workspace: stored at import, kept up to date per conversation, read as KPI sources.

What each derived table holds is an Ibis expression of kefu.metrics.derived
(backend-free); this module runs them in the workspace's DuckDB, inside the
import's transaction, and reads the workspace back as `kpis.Sources`.
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass
from typing import Any

import ibis
import ibis.expr.datatypes as dtypes
import ibis.expr.operations as ops

from kefu.config import Params
from kefu.metrics.derived import CANONICAL, CUBE, CUBE_PARAMS, DERIVED, PARAM_NAMES, STEPS, STORED
from kefu.metrics.dialogue import bot_accounts
from kefu.metrics.kpis import Sources, measure_cube
from kefu.schema import TOUCHED, Column, Kind, Table, create_as_sql, create_sql
from kefu.workspace import Workspace, scalar

_PARAM_KINDS: dict[type, Kind] = {int: "int", float: "float", str: "str", bool: "bool"}
#: The parameters the stored cube was built with: one row, one column per field of `Params`.
CUBE_PARAMS_TABLE = Table(
    CUBE_PARAMS,
    "The parameters the KPI cube was built with (one row).",
    tuple(Column(name, _PARAM_KINDS[type(getattr(Params(), name))]) for name in PARAM_NAMES),
)


@dataclass
class Changes:
    """What an import changed, so that only the affected conversations are derived again.

    Every derived table is computed per shop and buyer, from that buyer's messages
    and orders alone, plus the set of bot accounts. The import adds every (shop,
    buyer) whose messages or orders it added or replaced to the temp table `touched`.
    """

    ws: Workspace
    bots_before: set[str] | None

    @classmethod
    def start(cls, ws: Workspace) -> Changes:
        ws.con.execute(create_sql(TOUCHED, replace=True, temp=True))
        complete = all(ws.has_table(name) for name in DERIVED)
        return cls(ws, _bot_set(ws) if complete else None)

    def refresh_derived(self) -> int | None:
        """Recompute the derived rows of the touched conversations; everything when the bot accounts
        changed (they decide every order's credit) or the derived tables are missing.
        Returns how many conversations were recomputed (None: all)."""
        ws = self.ws
        bots = bot_accounts(ws.table("messages"), ws.table("agents"))
        if self.bots_before is None or _bot_set(ws) != self.bots_before:
            for name, step in STEPS.items():  # each step reads the tables stored before it
                ws.con.execute(create_as_sql(name, ibis.to_sql(step(ws.table, bots), dialect="duckdb")))
            return None
        touched = ws.table(TOUCHED.name).distinct()
        for name, step in STEPS.items():
            expr = step(lambda table: ws.table(table).semi_join(touched, ["shop", "buyer"]), bots)
            ws.con.execute(
                f'DELETE FROM "{name}" d WHERE EXISTS (SELECT 1 FROM touched t WHERE t.shop = d.shop AND t.buyer = d.buyer)'
            )
            ws.con.execute(f'INSERT INTO "{name}" BY NAME {ibis.to_sql(expr, dialect="duckdb")}')
        return scalar(ws.con, "SELECT count(*) FROM (SELECT DISTINCT shop, buyer FROM touched)")


def refresh_derived(ws: Workspace) -> None:
    """Rebuild the derived tables from the workspace's tables (inside the caller's transaction)."""
    Changes(ws, None).refresh_derived()
    refresh_cube(ws)


def refresh_cube(ws: Workspace, params: Params | None = None) -> None:
    """Sum every measure per (shop, account, hour) for `params` (the workspace's by default), so KPI
    queries with those parameters add up this small table instead of the facts. Call it after
    every change of data or parameters; until then KPIs are computed from the facts."""
    params = params or ws.config.params
    cube = measure_cube(dataclasses.replace(workspace_sources(ws), cube=None), params)
    # Ibis types a sum of int64 as int64 and drops the cast; DuckDB makes it int128, several times slower to scan.
    columns = ", ".join(
        f'CAST("{name}" AS BIGINT) AS "{name}"' if kind.is_integer() else f'"{name}"'
        for name, kind in cube.schema().items()
    )
    ws.con.execute(create_as_sql(CUBE, f"SELECT {columns} FROM ({ibis.to_sql(cube, dialect='duckdb')})"))
    ws.con.execute(create_sql(CUBE_PARAMS_TABLE, replace=True))
    ws.con.execute(
        f'INSERT INTO "{CUBE_PARAMS}" VALUES ({", ".join("?" * len(PARAM_NAMES))})',
        [getattr(params, name) for name in PARAM_NAMES],
    )


def _bot_set(ws: Workspace) -> set[str]:
    bots = bot_accounts(ws.table("messages"), ws.table("agents"))
    return set(bots.to_pyarrow()["agent"].to_pylist())


def cube_is_current(ws: Workspace) -> bool:
    """Whether the measure cube exists and was built with the workspace's parameters."""
    return _cube_params(ws, set(ws.ibis.list_tables())) == ws.config.params


def _cube_params(ws: Workspace, present: set[str]) -> Params | None:
    """The parameters the stored cube was built with (None: no cube)."""
    if not {CUBE, CUBE_PARAMS} <= present:
        return None
    (row,) = ws.con.execute(f'SELECT {", ".join(PARAM_NAMES)} FROM "{CUBE_PARAMS}"').fetchall()
    return Params(**dict(zip(PARAM_NAMES, row, strict=True)))


def workspace_sources(ws: Workspace) -> Sources:
    """The workspace's tables as KPI sources, derived tables included once they exist."""
    schemas = _schemas(ws)
    tables = {name: _table(ws, name, schemas[name]) for name in CANONICAL}
    derived = {name: _table(ws, name, schemas[name]) if name in schemas else None for name in DERIVED}
    params = _cube_params(ws, set(schemas))
    cube = {"cube": _table(ws, CUBE, schemas[CUBE]), "cube_params": params} if params is not None else {}
    return Sources(**tables, **derived, **cube)


def _schemas(ws: Workspace) -> dict[str, ibis.Schema]:
    """The schema of every workspace table, from one catalog query: `ws.table` asks once per table, and a
    repeated KPI query (compiled once, kefu.engines.compiled) would spend more time on that than on its SQL."""
    rows = ws.con.execute(
        """SELECT table_name, column_name, data_type, is_nullable FROM duckdb_columns()
           WHERE database_name = current_database() AND schema_name = 'main' AND list_contains(?, table_name)
           ORDER BY table_name, column_index""",
        [[*CANONICAL, *STORED]],
    ).fetchall()
    columns: dict[str, dict[str, dtypes.DataType]] = {}
    for table, column, kind, nullable in rows:
        columns.setdefault(table, {})[column] = _ibis_type(ws.ibis.compiler.type_mapper, kind, nullable)
    return {table: ibis.schema(cols) for table, cols in columns.items()}


@functools.cache
def _ibis_type(type_mapper: Any, kind: str, nullable: bool) -> dtypes.DataType:
    return type_mapper.from_string(kind, nullable=nullable)  # as ws.table types a column (a SQL parse: kept)


def _table(ws: Workspace, name: str, schema: ibis.Schema) -> ibis.Table:
    """What `ws.table(name)` returns, for a schema already read."""
    return ops.DatabaseTable(name, schema=schema, source=ws.ibis, namespace=ops.Namespace()).to_expr()
