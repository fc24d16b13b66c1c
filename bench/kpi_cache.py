"""KPI queries compiled once (issue #13): the first and the repeated query against DuckDB's own time.

For each query, in one fresh process: the first `api.kpis` call (builds and
compiles the query), the repeated call (runs the compiled SQL), DuckDB alone
running that SQL (parse, plan, execute, Arrow), and the query built and
compiled afresh on every call as before the cache; and, of the repeated
call, the part that turns the result into records (`to_records`). Times are
the best of REPEATS, the repeated call, DuckDB alone and the records
interleaved. `python -m bench.kpi_cache [WORKSPACE ...]` prints JSON; without a
workspace it measures a two-message shop.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPEATS = 7


def queries(params: Any, last_day: dt.date) -> dict[str, tuple[list[str], Any, dt.date | None, dt.date | None]]:
    other = dataclasses.replace(params, slow_threshold_s=params.slow_threshold_s + 1)
    return {
        "agent×day (cube)": (["agent", "day"], params, None, None),
        "agent×day, other parameters": (["agent", "day"], other, None, None),
        "agent, month to date (cube)": (["agent"], params, last_day.replace(day=1), last_day),
    }


def measure(ws: Any) -> dict[str, dict[str, float]]:
    last_day = ws.con.execute("SELECT max(ts)::DATE FROM messages").fetchone()[0]
    return {name: measure_query(ws, *query) for name, query in queries(ws.config.params, last_day).items()}


def measure_query(ws: Any, by: list[str], params: Any, date_from: dt.date | None, date_to: dt.date | None) -> dict:
    from kefu import api
    from kefu.derive import workspace_sources
    from kefu.engines.compiled import compiled_query, duckdb_sql, kpi_arrow
    from kefu.metrics.compiled import kpi_key
    from kefu.metrics.kpis import kpi_table
    from kefu.metrics.output import to_records

    def call() -> list[dict]:
        return api.kpis(ws, by, params, date_from, date_to)

    first = _seconds(call)
    query = compiled_query(kpi_key(workspace_sources(ws), by, params, date_from, date_to), "duckdb")
    days = {"date_from": date_from, "date_to": date_to}
    sql = duckdb_sql(query, {d: days[d] for d in query.dates})  # exactly what api.kpis sends
    result = kpi_arrow(workspace_sources(ws), by, params, date_from, date_to)
    repeats, alone, records = [], [], []
    for _ in range(REPEATS):  # interleaved, so all see the same state of a shared machine
        repeats.append(_seconds(call))
        alone.append(_seconds(lambda: ws.con.sql(sql).to_arrow_table()))
        records.append(_seconds(lambda: to_records(result)))
    repeat, duckdb = min(repeats), min(alone)
    fresh = min(
        _seconds(lambda: to_records(kpi_table(workspace_sources(ws), by, params, date_from, date_to).to_pyarrow()))
        for _ in range(2)
    )
    return {
        "first_s": round(first, 3),
        "repeat_s": round(repeat, 3),
        "duckdb_s": round(duckdb, 3),
        "overhead_ms": round(1000 * (repeat - duckdb), 1),
        "records_ms": round(1000 * min(records), 1),
        "fresh_s": round(fresh, 3),
        "rows": result.num_rows,
        "sql_chars": len(query.sql),
    }


def _seconds(call) -> float:
    started = time.perf_counter()
    call()
    return time.perf_counter() - started


def small_shop(folder: Path) -> Any:
    """Two messages and an order, imported (KPI cube included)."""
    from kefu.ingest.pipeline import import_paths
    from kefu.workspace import Workspace

    (folder / "messages.csv").write_text(
        "ts,shop,buyer,agent,sender,text\n2026-11-11 10:00:00,s,b1,s:ann,buyer,在吗\n"
        "2026-11-11 10:00:30,s,b1,s:ann,agent,在的\n",
        encoding="utf-8",
    )
    (folder / "orders.csv").write_text(
        "order_id,shop,buyer,created_at,paid_at,amount,status\n"
        "o1,s,b1,2026-11-11 10:05:00,2026-11-11 10:06:00,88.00,paid\n",
        encoding="utf-8",
    )
    ws = Workspace.memory()
    import_paths(ws, [folder])
    return ws


def main(paths: list[str]) -> None:
    from kefu import api

    if not paths:
        with tempfile.TemporaryDirectory() as folder:
            ws = small_shop(Path(folder))
            print(json.dumps(measure(ws), ensure_ascii=False))
        return
    for path in paths:
        with api.open_data(Path(path)) as ws:
            print(json.dumps(measure(ws), ensure_ascii=False))


if __name__ == "__main__":
    main(sys.argv[1:])
