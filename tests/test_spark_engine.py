"""The Spark engine for users, in this process (the cluster itself: tests/test_spark_cluster.py): the Parquet export
Spark reads (kefu.engines.staging), the engine chosen at the edge (kefu.engines.select), and the errors that say
what to do when Spark cannot run."""

from __future__ import annotations

import datetime as dt
import json
import os
import socket
import time
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from kefu import api
from kefu.cli.main import app
from kefu.engines import select, spark, staging
from kefu.ingest.pipeline import import_paths
from kefu.metrics.derived import CANONICAL
from kefu.simulate import simulate
from kefu.workspace import Workspace

EXAMPLES = Path(__file__).parents[1] / "examples" / "schemes"


def simulated(folder: Path, start: dt.date, seed: int) -> Path:
    simulate(folder, agents=3, days=1, start=start, seed=seed)
    return folder


@pytest.fixture(scope="module")
def month_ws(tmp_path_factory) -> Path:
    """Two November days of a simulated shop in a workspace folder."""
    path = tmp_path_factory.mktemp("ws")
    with Workspace.open(path, create=True) as ws:
        simulate(files := tmp_path_factory.mktemp("files"), agents=3, days=2, start=dt.date(2026, 11, 10), seed=3)
        assert all(not r.error for r in import_paths(ws, [files]))
    return path


def cli(*args: object) -> tuple[int, str]:
    result = CliRunner().invoke(app, [str(a) for a in args], catch_exceptions=False)
    return result.exit_code, result.output


# -- the Parquet export ------------------------------------------------------------------------------------------


def test_each_canonical_table_is_exported_once_per_import_and_read_as_it_is(tmp_path):
    with Workspace.open(tmp_path / "ws", create=True) as ws:
        import_paths(ws, [simulated(tmp_path / "day1", dt.date(2026, 11, 10), 1)])
    with Workspace.open(tmp_path / "ws", read_only=True) as ws:  # as `kefu kpi` opens it
        folders = staging.export_canonical(ws)
        assert tuple(folders) == CANONICAL and all(any(f.glob("*.parquet")) for f in folders.values())
        first = folders["messages"].parent
        files_read = ws.count("imports")  # one ledger row per file of the import
        assert first == tmp_path / "ws" / ".spark" / f"v{staging.LAYOUT}-import1-{files_read}"
        files = duckdb.connect()
        exported = files.execute(f"SELECT * FROM '{folders['messages']}/*.parquet' ORDER BY ALL").fetchall()
        stored = ws.con.execute("SELECT ts, shop, buyer, agent, sender, text FROM messages ORDER BY ALL").fetchall()
        assert exported == stored and len(stored) > 100  # every row, without the import's bookkeeping columns
        written = (first / "messages" / "part-0.parquet").stat().st_mtime_ns
        assert staging.export_canonical(ws) == folders  # the same import: nothing written again
        assert (first / "messages" / "part-0.parquet").stat().st_mtime_ns == written
    old = time.time() - 3600
    os.utime(first, (old, old))  # exported an hour ago: no command started before the next import reads it any more
    with Workspace.open(tmp_path / "ws") as ws:
        import_paths(ws, [simulated(tmp_path / "day2", dt.date(2026, 11, 11), 2)])
        second = staging.export_canonical(ws)["messages"].parent
    assert second.name.startswith(f"v{staging.LAYOUT}-import2-")
    assert sorted(p.name for p in (tmp_path / "ws" / ".spark").iterdir()) == [second.name]


def test_an_export_that_is_recent_stays_for_the_commands_still_reading_it(tmp_path):
    with Workspace.open(tmp_path / "ws", create=True) as ws:
        import_paths(ws, [simulated(tmp_path / "day1", dt.date(2026, 11, 10), 1)])
        first = staging.export_canonical(ws)["orders"].parent
        import_paths(ws, [simulated(tmp_path / "day2", dt.date(2026, 11, 11), 2)])
        second = staging.export_canonical(ws)["orders"].parent
    assert first != second and first.is_dir() and (second / staging.COMPLETE).exists()


def test_the_export_goes_under_kefu_spark_staging_when_set(tmp_path, monkeypatch):
    monkeypatch.setenv("KEFU_SPARK_STAGING", str(tmp_path / "shared"))
    with Workspace.open(tmp_path / "shop-a", create=True) as ws:
        folder = staging.export_canonical(ws)["agents"]
    (root,) = (tmp_path / "shared").iterdir()
    assert root.name.startswith("shop-a-") and folder == root / f"v{staging.LAYOUT}-import0-0" / "agents"
    assert not (tmp_path / "shop-a" / ".spark").exists()


# -- the engine chosen at the edge -------------------------------------------------------------------------------


@pytest.fixture
def local_spark(spark_con, monkeypatch):
    """kefu.engines.select's one session of the process is the test run's (tests/conftest.py: spark_con)."""
    monkeypatch.setattr(select, "_session", {"master": select.DEFAULT_MASTER, "backend": spark_con})
    monkeypatch.setattr(select, "_loaded", {})
    return spark_con


@pytest.mark.spark
def test_spark_sources_are_built_once_per_import(local_spark, tmp_path):
    with Workspace.open(tmp_path / "ws", create=True) as ws:
        import_paths(ws, [simulated(tmp_path / "day1", dt.date(2026, 11, 10), 1)])
        first = select.sources(ws, "spark")
        assert first.messages.get_backend().name == "pyspark" and select.sources(ws, "spark") is first
        import_paths(ws, [simulated(tmp_path / "day2", dt.date(2026, 11, 11), 2)])
        assert select.sources(ws, "spark") is not first
        days = {r["day"] for r in api.kpis(ws, ["shop", "day"], engine="spark")}
    assert days == {"2026-11-10", "2026-11-11"}


@pytest.mark.spark
def test_report_daily_on_spark_prints_the_same_report(local_spark, month_ws):
    args = ("report", "daily", month_ws, "--date", "2026-11-11", "--lang", "en")
    expected = cli(*args)
    assert expected[0] == 0 and "daily report 2026-11-11" in expected[1]
    assert cli(*args, "--engine", "spark") == expected


@pytest.mark.spark
def test_pay_on_spark_computes_the_same_payroll(local_spark, month_ws):
    args = ("pay", month_ws, "--month", "2026-11", "--scheme", EXAMPLES / "presales.toml", "--format", "json")
    code, out = cli(*args)
    assert code == 0 and len(json.loads(out)) == 2  # the presales agents
    assert cli(*args, "--engine", "spark") == (0, out)


# -- what to do when Spark cannot run ----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_master_nobody_listens_on_fails_at_once_saying_what_to_do(month_ws, monkeypatch):
    monkeypatch.setattr(select, "_session", {})
    master = f"spark://127.0.0.1:{free_port()}"
    started = time.monotonic()
    code, out = cli("kpi", month_ws, "--engine", "spark", "--master", master)
    assert code == 2 and f"cannot reach the Spark master at {master}" in out and "spark-cluster.sh start" in out
    assert time.monotonic() - started < 20


def test_without_java_the_error_says_how_to_install_it(month_ws, monkeypatch):
    monkeypatch.setattr(select, "_session", {})
    monkeypatch.setenv("PATH", "/nonexistent")
    monkeypatch.delenv("JAVA_HOME", raising=False)
    code, out = cli("qc", "run", month_ws, "--engine", "spark")
    assert code == 2 and "needs a Java runtime" in out and "scripts/ensure-java.sh" in out


def test_master_needs_the_spark_engine_and_a_standalone_url(month_ws, monkeypatch):
    monkeypatch.setattr(select, "_session", {})
    code, out = cli("kpi", month_ws, "--master", "spark://127.0.0.1:7077")
    assert code == 2 and "needs --engine spark" in out
    code, out = cli("kpi", month_ws, "--engine", "spark", "--master", "spark://no-port")
    assert code == 2 and "expected spark://HOST:PORT" in out


def test_the_driver_stays_on_loopback_for_a_master_on_this_machine_only():
    assert spark.on_loopback("local[2]") and spark.on_loopback("spark://127.0.0.1:7077")
    assert spark.on_loopback("spark://localhost:7077,127.0.0.1:7078")
    assert not spark.on_loopback("spark://10.0.0.5:7077") and not spark.on_loopback("spark://127.0.0.1:1,h:2")
    assert spark.master_addresses("spark://h1:7077,h2:7078") == [("h1", 7077), ("h2", 7078)]


def test_kefu_spark_conf_sets_anything_for_a_real_cluster(monkeypatch):
    monkeypatch.setenv("KEFU_SPARK_CONF", "spark.driver.host=10.0.0.5, spark.executor.memory=4g")
    assert spark.extra_conf() == {"spark.driver.host": "10.0.0.5", "spark.executor.memory": "4g"}
    monkeypatch.setenv("KEFU_SPARK_CONF", "spark.executor.memory")
    with pytest.raises(spark.SparkUnavailable, match="key=value"):
        spark.extra_conf()
