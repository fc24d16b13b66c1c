"""KPI queries compiled once per key and backend, then only run (issue #13).

kefu.metrics.compiled says what a query's SQL depends on (`KpiKey`) and builds
it over unbound tables; here each key is compiled to one backend's SQL, with
the days as that backend's parameter markers, and kept. Spark binds them
(`session.sql(sql, args=...)`); DuckDB gets them written into the SQL as date
literals, which it plans better. A repeated query costs its execution: the key
is read from the sources' names and schemas, nothing is built or compiled.
Nothing invalidates an entry but its key: new data changes no SQL, a new
table, schema or parameter set is another key.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import ibis
import ibis.backends.sql.compilers as compilers
import pyarrow as pa
import sqlglot.expressions as sge

from kefu.config import Params
from kefu.metrics.compiled import KpiKey, kpi_key, kpi_query
from kefu.metrics.kpis import Sources, kpi_table

#: Dates that stand for each bound parameter while compiling; replaced by the backend's parameter marker.
_STAND_INS = {"date_from": dt.date(1111, 1, 1), "date_to": dt.date(1111, 1, 2)}


@dataclass(frozen=True)
class CompiledQuery:
    sql: str
    expr: ibis.Table  # over unbound tables: its schema types the result as Ibis would
    dates: tuple[str, ...]  # the bound parameters the SQL takes


@functools.lru_cache(maxsize=256)
def compiled_query(key: KpiKey, dialect: str) -> CompiledQuery:
    """The SQL of a KPI query in a backend's dialect (`cache_info()` counts compiles as misses)."""
    expr, dates = kpi_query(key)
    compiler = getattr(compilers, dialect).compiler
    tree = compiler.to_sqlglot(expr, params={dates[name]: _STAND_INS[name] for name in dates})
    for name in dates:
        tree = _bind(tree, _literal(compiler, _STAND_INS[name]), name)
    return CompiledQuery(tree.sql(dialect=compiler.dialect), expr, tuple(dates))


def _literal(compiler: Any, day: dt.date) -> sge.Expression:
    """How the compiler writes a date literal (e.g. MAKE_DATE(1111, 1, 1))."""
    return compiler.to_sqlglot(ibis.literal(day).name("day").as_table()).expressions[0].this


def _bind(tree: sge.Expression, literal: sge.Expression, name: str) -> sge.Expression:
    """The tree with every occurrence of `literal` replaced by the bound parameter `name`."""
    found = []

    def swap(node: sge.Expression) -> sge.Expression:
        if node == literal:
            found.append(node)
            return sge.Placeholder(this=name)
        return node

    tree = tree.transform(swap)
    if not found:  # the compiler wrote the date some other way: the query would ignore the day asked for
        raise RuntimeError(f"{name} is not in the compiled KPI query")
    return tree


def duckdb_sql(query: CompiledQuery, values: dict[str, dt.date]) -> str:
    """The SQL with each `$name` parameter written as a date literal: DuckDB plans a constant better than a
    parameter (it filters the scan with it), 15–25 % faster at 10 M messages. Only our own markers are replaced."""
    return _MARKER.sub(lambda m: f"DATE '{values[m[1]]:%Y-%m-%d}'", query.sql)


_MARKER = re.compile(r"\$(date_from|date_to)\b")


def _run_duckdb(backend: Any, query: CompiledQuery, values: dict[str, dt.date]) -> pa.Table:
    from ibis.backends.duckdb.converter import DuckDBPyArrowData

    table = backend.con.sql(duckdb_sql(query, values)).to_arrow_table()
    return query.expr.__pyarrow_result__(table, data_mapper=DuckDBPyArrowData)  # as Ibis types it (int128 sums → int64)


def _run_pyspark(backend: Any, query: CompiledQuery, values: dict[str, dt.date]) -> pa.Table:
    from ibis.backends.pyspark.converter import PySparkPandasData
    from ibis.formats.pyarrow import PyArrowData

    frame = backend.raw_sql(query.sql, args=values or None).toPandas()  # `:name` parameters
    schema = query.expr.schema()
    table = pa.Table.from_pandas(PySparkPandasData.convert_table(frame, schema), preserve_index=False)
    return query.expr.__pyarrow_result__(PyArrowData.convert_table(table, schema))  # as Ibis's own to_pyarrow does


RUNNERS: dict[str, Callable[[Any, CompiledQuery, dict[str, dt.date]], pa.Table]] = {
    "duckdb": _run_duckdb,
    "pyspark": _run_pyspark,
}


def kpi_arrow(
    src: Sources,
    by: list[str],
    params: Params,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
) -> pa.Table:
    """`kpi_table(src, by, params, date_from, date_to)` as an Arrow table, compiled once per key and backend."""
    backend = src.messages.get_backend()
    run = RUNNERS.get(backend.name)
    key = kpi_key(src, by, params, date_from, date_to) if run else None
    if run is None or key is None:  # another backend, or sources that are expressions: built and compiled each call
        return kpi_table(src, by, params, date_from, date_to).to_pyarrow()
    query = compiled_query(key, backend.name)
    days = {"date_from": date_from, "date_to": date_to}
    return run(backend, query, {name: day for name, day in days.items() if day is not None})


__all__ = ["RUNNERS", "CompiledQuery", "compiled_query", "duckdb_sql", "kpi_arrow"]
