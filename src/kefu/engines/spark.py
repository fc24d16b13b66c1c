"""Run the KPI engine on PySpark through Ibis: a session (local, or a standalone cluster's master) and the
workspace's tables in it.

Timestamps are shop-local wall-clock values without a zone: the Spark session
runs in UTC so that no conversion ever shifts them (DuckDB's TIMESTAMP has no
zone either), which is what makes the two engines agree to the second.

Spark reads the canonical tables from Parquet files, a folder per table
(`read_tables`; kefu.engines.staging writes them from the workspace) and
computes the derived tables from them. When the master runs on this machine
(local, or spark://127.0.0.1 / localhost) the driver listens and talks on
127.0.0.1 only; KEFU_SPARK_CONF ("key=value,key=value", applied last)
sets anything else, e.g. a real cluster's `spark.driver.host`.
"""

from __future__ import annotations

import atexit
import os
import shutil
import socket
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import ibis

from kefu.errors import KefuError
from kefu.metrics.derived import derive
from kefu.metrics.dialogue import bot_accounts
from kefu.metrics.kpis import Sources
from kefu.workspace import Workspace

CONF_ENV = "KEFU_SPARK_CONF"
#: How long a cluster's first executor may take to start before kefu gives up (seconds).
WAIT_ENV, WAIT_S = "KEFU_SPARK_WAIT_S", 120.0
LOOPBACK = ("127.0.0.1", "localhost", "::1")


class SparkUnavailable(KefuError):
    """Spark cannot run here: pyspark or Java missing, the master unreachable or without workers."""


def master_addresses(master: str) -> list[tuple[str, int]]:
    """The (host, port) of each master of a standalone URL: spark://h1:7077,h2:7077 (none for local[N])."""
    if not master.startswith("spark://"):
        return []
    found = []
    for part in master.removeprefix("spark://").split(","):
        host, _, port = part.rpartition(":")
        if not host or not port.isdigit():
            raise SparkUnavailable(f"--master {master}: expected spark://HOST:PORT (e.g. spark://127.0.0.1:7077)")
        found.append((host.strip("[]"), int(port)))
    return found


def on_loopback(master: str) -> bool:
    """Whether the master is this machine only: local mode, or standalone masters on 127.0.0.1 / localhost."""
    addresses = master_addresses(master)
    return master.startswith("local") or (bool(addresses) and all(host in LOOPBACK for host, _ in addresses))


def check_can_start(master: str) -> None:
    """Fail early, saying what to do, when pyspark or Java is missing or no master answers at the URL."""
    try:
        import pyspark  # noqa: F401
    except ImportError:
        raise SparkUnavailable(
            "--engine spark needs pyspark: install kefu with its spark extra (pip install 'kefu[spark]'; "
            "make install does)"
        ) from None
    if java() is None:
        raise SparkUnavailable(
            "--engine spark needs a Java runtime (17 or newer) and none was found on PATH or in JAVA_HOME: "
            "run scripts/ensure-java.sh (make install does), or set JAVA_HOME"
        )
    if not master.startswith(("local", "spark://")):
        raise SparkUnavailable(f"--master {master}: expected spark://HOST:PORT or local[N]")
    addresses = master_addresses(master)
    problems = [p for host, port in addresses if (p := _unreachable(host, port))]
    if addresses and len(problems) == len(addresses):
        raise SparkUnavailable(
            f"cannot reach the Spark master at {master} ({'; '.join(problems)}): start one "
            "(scripts/spark-cluster.sh start prints its URL) or check --master"
        )


def java() -> str | None:
    home = os.environ.get("JAVA_HOME")
    if home and (Path(home) / "bin" / "java").exists():
        return str(Path(home) / "bin" / "java")
    return shutil.which("java")


def _unreachable(host: str, port: int, timeout: float = 5.0) -> str | None:
    try:
        socket.create_connection((host, port), timeout=timeout).close()
    except OSError as exc:
        return f"{host}:{port}: {exc.strerror or exc}"
    return None


def extra_conf() -> dict[str, str]:
    """KEFU_SPARK_CONF as settings: "spark.executor.memory=2g,spark.driver.host=10.0.0.5"."""
    text = os.environ.get(CONF_ENV, "")
    pairs = [item.partition("=") for item in text.split(",") if item.strip()]
    bad = [key for key, eq, _ in pairs if not eq or not key.strip()]
    if bad:
        raise SparkUnavailable(f"{CONF_ENV}: expected key=value,key=value; cannot read {', '.join(bad)}")
    return {key.strip(): value.strip() for key, _, value in pairs}


def session(master: str = "local[2]", scratch: Path | None = None, partitions: int = 8, small_data: bool = False):
    """A Spark session for kefu; `scratch` keeps Spark's warehouse and metastore out of the working dir.

    `small_data` turns off code generation: compiling Java for each of the many
    small plans costs far more than running them on test-sized data. With a
    standalone master, returns once an executor runs (at most KEFU_SPARK_WAIT_S).
    """
    check_can_start(master)
    from pyspark.sql import SparkSession

    if scratch is None:
        scratch = Path(tempfile.mkdtemp(prefix="kefu-spark-"))
        atexit.register(shutil.rmtree, scratch, ignore_errors=True)
    scratch = Path(scratch)
    utc = "-Duser.timezone=UTC"  # the workers' JVMs too: no machine's zone ever shifts a wall-clock time
    logging = scratch / "log4j2.properties"
    scratch.mkdir(parents=True, exist_ok=True)
    logging.write_text(_LOG4J, encoding="utf-8")
    builder = (
        SparkSession.builder.master(master)
        .appName("kefu")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.shuffle.partitions", str(partitions))
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.warehouse.dir", str(scratch / "warehouse"))
        .config(
            "spark.driver.extraJavaOptions",
            f"-Dderby.system.home={scratch / 'derby'} -Dlog4j2.configurationFile=file:{logging} {utc}",
        )
        .config("spark.executor.extraJavaOptions", utc)
    )
    if on_loopback(master):
        # Master, workers and driver on this machine talk on loopback only; left alone, Spark binds the
        # machine's own interface. The workers run the driver's Python (only a Python UDF would need it).
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
        builder = builder.config("spark.driver.host", "127.0.0.1").config("spark.driver.bindAddress", "127.0.0.1")
        builder = builder.config("spark.pyspark.python", sys.executable)
    if small_data:
        builder = builder.config("spark.sql.codegen.wholeStage", "false").config(
            "spark.sql.codegen.factoryMode", "NO_CODEGEN"
        )
    for key, value in extra_conf().items():
        builder = builder.config(key, value)
    spark = _start(builder)
    spark.sparkContext.setLogLevel("ERROR")
    if master_addresses(master):
        _wait_for_an_executor(spark, master)
    return spark


#: The driver's log: errors only, on stderr (Spark's default prints its start-up and every warning). Spark's own
#: loggers are configured apart from the root, or pyspark announces the level it gives a shell.
_LOG4J = """rootLogger.level = error
rootLogger.appenderRef.stderr.ref = stderr
appender.console.type = Console
appender.console.name = stderr
appender.console.target = SYSTEM_ERR
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = spark: %p %c{1}: %m%n
logger.spark.name = org.apache.spark
logger.spark.level = error
logger.hadoop.name = org.apache.hadoop
logger.hadoop.level = error
logger.parquet.name = org.apache.parquet
logger.parquet.level = error
"""


def _start(builder: Any) -> Any:
    try:
        return builder.getOrCreate()
    except Exception as exc:
        if "JAVA_GATEWAY_EXITED" not in str(exc):
            raise
        import pyspark

        raise SparkUnavailable(
            f"Spark's Java process did not start ({java()}): pyspark {pyspark.__version__} needs Java 17 or newer "
            "(check `java -version`; scripts/ensure-java.sh installs one) and its messages above say why"
        ) from None


def _wait_for_an_executor(spark: Any, master: str) -> None:
    """Without a worker with free cores and memory, a cluster's first job would wait for ever: bounded here."""
    limit = float(os.environ.get(WAIT_ENV) or WAIT_S)
    deadline = time.monotonic() + limit
    status = spark.sparkContext._jsc.sc().getExecutorMemoryStatus  # the driver counts as one
    while status().size() < 2:
        if time.monotonic() > deadline:
            spark.stop()
            raise SparkUnavailable(
                f"no executor started on the Spark cluster at {master} within {limit:g} s: do its workers run, with "
                f"free cores and memory (scripts/spark-cluster.sh status)? {WAIT_ENV} sets how long to wait"
            )
        time.sleep(0.2)


def connect(spark) -> ibis.BaseBackend:
    return ibis.pyspark.connect(spark)


def read_tables(
    con: ibis.BaseBackend, folders: Mapping[str, Path | str], prefix: str = "kefu_"
) -> dict[str, ibis.Table]:
    """Each table from its folder of Parquet files (`spark.read.parquet`), registered as the view prefix + name."""
    return {name: con.read_parquet(str(folder), table_name=prefix + name) for name, folder in folders.items()}


def sources_from_folders(con: ibis.BaseBackend, folders: Mapping[str, Path | str], prefix: str = "kefu_") -> Sources:
    """The KPI sources over the canonical tables' folders. The derived tables are computed by Spark from
    them (kefu.metrics.derived) and cached, as the workspace materialises them, so a parity test checks the
    dialogue model itself on both engines."""
    tables = read_tables(con, folders, prefix)
    derived = derive(tables["messages"], tables["orders"], bot_accounts(tables["messages"], tables["agents"]))
    return Sources(**tables, **{name: expr.cache() for name, expr in derived.items()})


def sources_from_workspace(con: ibis.BaseBackend, ws: Workspace, prefix: str = "kefu_") -> Sources:
    """A workspace's tables as Spark sources: its canonical tables exported once to Parquet
    (kefu.engines.staging), read by Spark."""
    from kefu.engines.staging import export_canonical

    return sources_from_folders(con, export_canonical(ws), prefix)
