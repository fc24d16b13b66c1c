"""What the CLI (and later the web app) call: open data, compute, explain.

A PATH is either a workspace folder (`kefu.duckdb` inside) or a folder of
canonical files, which is imported into an in-memory workspace first.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from kefu.config import Params
from kefu.derive import workspace_sources
from kefu.engines.compiled import kpi_arrow
from kefu.engines.select import Engine
from kefu.engines.select import sources as engine_sources
from kefu.ingest.pipeline import import_paths
from kefu.metrics.explain import Explanation, explain
from kefu.metrics.output import to_records
from kefu.metrics.provisional import period_end, provisional
from kefu.workspace import Workspace, WorkspaceError, is_workspace


@contextmanager
def open_data(path: Path) -> Iterator[Workspace]:
    """A workspace for reading: the one at `path`, or an in-memory one holding the files at `path`."""
    path = Path(path)
    if is_workspace(path):
        ws = Workspace.open(path, read_only=True)
    elif path.exists():
        ws = Workspace.memory()
        failed = [r for r in import_paths(ws, [path]) if r.error]
        if failed:
            ws.close()
            raise WorkspaceError("; ".join(r.error or "" for r in failed))
    else:
        raise WorkspaceError(f"{path} does not exist")
    try:
        yield ws
    finally:
        ws.close()


def kpis(
    ws: Workspace,
    by: list[str],
    params: Params | None = None,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    engine: Engine | str = Engine.duckdb,
    master: str | None = None,
) -> list[dict[str, Any]]:
    """KPI records for a grouping (see kefu.metrics.kpis.group_keys); each query's SQL is compiled once
    (kefu.engines.compiled), so a repeated query costs its execution. `engine`, `master`: where it runs
    (kefu.engines.select; Spark gives the same records)."""
    src = engine_sources(ws, engine, master)
    return to_records(kpi_arrow(src, by, params or ws.config.params, date_from, date_to))


def data_until(con: Any, shop: str | None = None) -> dt.datetime | None:
    """How far the data reaches: the newest message or order time (created, paid, updated) of `shop`, or of every
    shop when None; None when there is none. A figure is provisional (kefu.metrics.provisional) until this
    passes its settling day. `con`: a DuckDB connection or cursor on the workspace (the web: `Store.read`'s `ws.con`)."""
    where = "" if shop is None else " WHERE shop = $shop"
    sql = f"""SELECT greatest((SELECT max(ts) FROM messages{where}),
                              (SELECT max(greatest(created_at, paid_at, updated_at)) FROM orders{where}))"""
    return con.execute(sql, {} if shop is None else {"shop": shop}).fetchone()[0]


def with_provisional(con: Any, records: list[dict[str, Any]], date_to: dt.date | None = None) -> list[dict[str, Any]]:
    """Each KPI record with `provisional`: {metric: the ISO day it becomes final} for its figures that rows
    after `data_until` can still change (the record's shop's data; every shop's for records without one).
    The period of a record ends on its day, week or month, else on `date_to` (or where the data ends)."""
    until: dict[str | None, dt.datetime | None] = {}
    out = []
    for r in records:
        shop = r.get("shop")
        if shop not in until:
            until[shop] = data_until(con, shop)
        last = period_end(r, date_to, until[shop])
        found = provisional(r, last, last, until[shop]) if last else {}
        out.append({**r, "provisional": {k: d.isoformat() for k, d in found.items()}})
    return out


def explain_agent_day(
    ws: Workspace, agent: str, day: dt.date, metric: str | None = None, params: Params | None = None
) -> Explanation:
    return explain(workspace_sources(ws), agent, day, metric, params or ws.config.params)
