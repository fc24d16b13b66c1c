"""What a KPI query's SQL depends on, and the query itself over unbound tables (issue #13).

Building and compiling the Ibis expression of a KPI query costs far more than
running it. Its SQL depends only on a `KpiKey`: the grouping, the parameters
(none when it sums the KPI cube), which of the first and last day it is given,
and the name and schema of every table it reads. The data and the days
themselves are not in the SQL: days are bound parameters. So the SQL of a key
is compiled once, for one backend, and run against whatever data the tables
hold (kefu.engines.compiled). Backend-neutral: this module names no backend.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass

import ibis
import ibis.expr.operations as ops

from kefu.config import Params
from kefu.metrics.kpis import Sources, group_keys, kpi_table, uses_cube

#: The bound parameters a KPI query may take, in this order.
DATE_PARAMS = ("date_from", "date_to")
#: The fields of `Sources` that hold tables.
TABLE_FIELDS = tuple(f.name for f in dataclasses.fields(Sources) if f.name != "cube_params")


@dataclass(frozen=True)
class KpiKey:
    """Everything the SQL of a KPI query depends on (hashable: the key of the compiled-query cache)."""

    keys: tuple[str, ...]
    #: The parameters of a query over the facts; None when it sums the KPI cube (any parameters it was built with).
    params: Params | None
    #: Which of DATE_PARAMS the query is given.
    dates: tuple[str, ...]
    #: (Sources field, table with its name and schema, unbound) for every table present.
    tables: tuple[tuple[str, ops.UnboundTable], ...]


def kpi_key(
    src: Sources, by: list[str], params: Params, date_from: dt.date | None, date_to: dt.date | None
) -> KpiKey | None:
    """The key of a KPI query; None when a source is not a named table of its backend (an expression, an
    in-memory table), whose SQL would not stand on its own."""
    cube = uses_cube(src, params)
    tables = []
    for name in TABLE_FIELDS:
        table = getattr(src, name)
        if table is None or (name == "cube" and not cube):
            continue
        unbound = table.unbind().op()
        if not isinstance(unbound, ops.UnboundTable):
            return None
        tables.append((name, unbound))
    dates = tuple(name for name, day in zip(DATE_PARAMS, (date_from, date_to), strict=True) if day is not None)
    return KpiKey(tuple(group_keys(by)), None if cube else params, dates, tuple(tables))


def kpi_query(key: KpiKey) -> tuple[ibis.Table, dict[str, ibis.Scalar]]:
    """The KPI query of a key over unbound tables, and its date parameters by name."""
    tables = {name: table.to_expr() for name, table in key.tables}
    # A cube query reads the cube whatever parameters it was built with: any one Params stands for them.
    params = key.params or Params()
    placeholders = Sources(**tables, cube_params=params if "cube" in tables else None)
    dates = {name: ibis.param("date") for name in key.dates}
    return kpi_table(placeholders, list(key.keys), params, dates.get("date_from"), dates.get("date_to")), dates


__all__ = ["DATE_PARAMS", "KpiKey", "kpi_key", "kpi_query"]
