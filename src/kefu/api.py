"""What the CLI (and later the web app) call: open data, compute, explain.

A PATH is either a workspace folder (`kefu.duckdb` inside) or a folder of
canonical files, which is imported into an in-memory workspace first.
"""

from __future__ import annotations

import datetime as dt
from contextlib import contextmanager
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from kefu.config import Params
from kefu.ingest.pipeline import import_paths
from kefu.metrics.derived import workspace_sources
from kefu.metrics.explain import Explanation, explain
from kefu.metrics.kpis import kpi_table
from kefu.metrics.output import to_records
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
            raise WorkspaceError("; ".join(r.error for r in failed))
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
) -> list[dict[str, Any]]:
    """KPI records for a grouping (see kefu.metrics.kpis.group_keys)."""
    table = kpi_table(workspace_sources(ws), by, params or ws.config.params, date_from, date_to)
    return to_records(table.to_pyarrow())


def explain_agent_day(ws: Workspace, agent: str, day: dt.date, metric: str | None = None, params: Params | None = None) -> Explanation:
    return explain(workspace_sources(ws), agent, day, metric, params or ws.config.params)
