"""Run the KPI engine on PySpark through Ibis.

Timestamps are shop-local wall-clock values without a zone: the Spark session
runs in UTC so that no conversion ever shifts them (DuckDB's TIMESTAMP has no
zone either), which is what makes the two engines agree to the second.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import ibis

from kefu.metrics.derived import derive
from kefu.metrics.dialogue import bot_accounts
from kefu.metrics.kpis import Sources
from kefu.workspace import Workspace

SOURCE_TABLES = ("messages", "orders", "agents", "ratings", "complaints")


def session(master: str = "local[2]", scratch: Path | None = None, partitions: int = 8, small_data: bool = False):
    """A Spark session for kefu; `scratch` keeps Spark's warehouse and metastore out of the working dir.

    `small_data` turns off code generation: compiling Java for each of the many
    small plans costs far more than running them on test-sized data.
    """
    from pyspark.sql import SparkSession

    scratch = Path(scratch or tempfile.mkdtemp(prefix="kefu-spark-"))
    builder = (
        SparkSession.builder.master(master)
        .appName("kefu")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.shuffle.partitions", str(partitions))
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.warehouse.dir", str(scratch / "warehouse"))
        .config("spark.driver.extraJavaOptions", f"-Dderby.system.home={scratch / 'derby'}")
    )
    if small_data:
        builder = builder.config("spark.sql.codegen.wholeStage", "false").config(
            "spark.sql.codegen.factoryMode", "NO_CODEGEN"
        )
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def connect(spark) -> ibis.BaseBackend:
    return ibis.pyspark.connect(spark)


def sources_from_workspace(con: ibis.BaseBackend, ws: Workspace, prefix: str = "kefu_") -> Sources:
    """Copy a workspace's canonical tables into Spark and return them as sources.

    The derived tables are not copied: Spark computes them from the messages (and
    caches them, as the workspace materialises them), so a parity test checks the
    dialogue model itself on both engines.
    """
    tables = {}
    for name in SOURCE_TABLES:
        frame = ws.con.execute(f'SELECT * EXCLUDE (extra, src_file, src_line) FROM "{name}"').to_arrow_table()
        tables[name] = con.create_table(prefix + name, ibis.memtable(frame), overwrite=True).cache()
    derived = derive(tables["messages"], tables["orders"], bot_accounts(tables["messages"], tables["agents"]))
    return Sources(**tables, **{name: expr.cache() for name, expr in derived.items()})
