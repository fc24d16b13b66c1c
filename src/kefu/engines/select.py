"""Which engine a command runs on, chosen at the edge: the CLI's `--engine` and `--master`, through kefu.api.

`sources(ws, engine, master)` is the one place the choice is made. DuckDB reads the workspace itself (its stored
derived tables and KPI cube); Spark reads the Parquet export of the canonical tables (kefu.engines.staging) and
computes the derived tables from them. The metric code gets `Sources` either way and never knows which. A process
has one Spark session (one SparkContext, its JVM), started on first use and stopped when the process ends; a
workspace's Spark sources are built once per import.
"""

from __future__ import annotations

import atexit
from enum import Enum
from pathlib import Path
from typing import Any

from kefu.derive import workspace_sources
from kefu.errors import KefuError
from kefu.metrics.derived import DERIVED
from kefu.metrics.kpis import Sources
from kefu.workspace import Workspace


class Engine(str, Enum):
    duckdb = "duckdb"
    spark = "spark"


#: The Spark master when none is named: Spark inside this process, on two cores.
DEFAULT_MASTER = "local[2]"
#: Below this many messages Spark runs without code generation and with 2 shuffle partitions instead of 8: compiling
#: Java for each of the KPI queries' many plans, and scheduling their tasks, costs more than running them (11 k
#: messages, `kefu kpi` on local[2] under load: 91 s → 47 s without code generation, 111 s → 44 s with 2 partitions).
SMALL_DATA = 1_000_000


class EngineError(KefuError):
    """An engine asked for in a way it cannot run (e.g. --master without --engine spark)."""


_session: dict[str, Any] = {}  # the process's Spark session: master, backend
_loaded: dict[str, Any] = {}  # the last workspace loaded into it: key, stamp, sources


def sources(ws: Workspace, engine: Engine | str = Engine.duckdb, master: str | None = None) -> Sources:
    """The KPI sources of `ws` on `engine` (`master`: Spark's, default local[2])."""
    if Engine(engine) is Engine.duckdb:
        if master is not None:
            raise EngineError(f"--master {master} needs --engine spark (DuckDB runs inside kefu)")
        return workspace_sources(ws)
    return spark_sources(ws, master or DEFAULT_MASTER)


def spark_sources(ws: Workspace, master: str = DEFAULT_MASTER) -> Sources:
    """The workspace's tables on Spark: exported once per import, each derived table computed once per process."""
    from kefu.engines.spark import sources_from_folders
    from kefu.engines.staging import export_canonical, stamp

    con = spark_backend(master, small_data=ws.count("messages") < SMALL_DATA)
    key, current = str(Path(ws.path).resolve()) if ws.path else f"memory-{id(ws)}", stamp(ws)
    if _loaded.get("key") == key and _loaded.get("stamp") == current:
        return _loaded["sources"]
    _release(_loaded.pop("sources", None))
    src = sources_from_folders(con, export_canonical(ws))
    _loaded.update(key=key, stamp=current, sources=src)
    return src


def spark_backend(master: str = DEFAULT_MASTER, small_data: bool = False) -> Any:
    """The process's Ibis backend on Spark, started on first use (a JVM start takes seconds); `small_data`:
    without code generation and with 2 shuffle partitions (SMALL_DATA)."""
    if "backend" in _session:
        if _session["master"] != master:
            raise EngineError(f"this process already runs Spark on {_session['master']}; one master per process")
        return _session["backend"]
    from kefu.engines import spark

    session = spark.session(master, partitions=2 if small_data else 8, small_data=small_data)
    atexit.register(session.stop)
    _session.update(master=master, backend=spark.connect(session))
    return _session["backend"]


def _release(src: Sources | None) -> None:
    """Free the cached derived tables of a workspace loaded before (its data changed since)."""
    for name in DERIVED if src is not None else ():
        getattr(src, name).release()
