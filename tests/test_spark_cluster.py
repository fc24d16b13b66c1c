"""kefu on a standalone Spark cluster: scripts/spark-cluster.sh starts a master and 2 workers on 127.0.0.1, and
`kefu … --engine spark --master spark://127.0.0.1:PORT`, run as a user runs it (the CLI in its own process, its own
Spark driver), gives the same JSON as DuckDB.

Each CLI run is a Spark application of its own (a JVM, executors on both workers): 1–2 minutes each on 2 shared cores.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import psutil
import pytest
from typer.testing import CliRunner

from kefu.cli.main import app
from kefu.engines.staging import LAYOUT
from kefu.ingest.pipeline import import_paths
from kefu.simulate import simulate
from kefu.workspace import Workspace

pytestmark = pytest.mark.spark
SCRIPT = Path(__file__).parents[1] / "scripts" / "spark-cluster.sh"
LOOPBACK = {"127.0.0.1", "::ffff:127.0.0.1"}


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """The script's cluster, its folders in pytest's temporary folder; always stopped at the end."""
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        pytest.fail("Java is not installed: run scripts/ensure-java.sh (make install does)")
    folder = tmp_path_factory.mktemp("cluster")
    env = {**os.environ, "KEFU_SPARK_CLUSTER_DIR": str(folder), "KEFU_PYTHON": sys.executable}
    try:
        started = script("start", env)
        assert started.returncode == 0, started.stderr
        yield started.stdout.splitlines()[-1], folder, env
    finally:
        stopped = script("stop", env)
        assert stopped.returncode == 0, stopped.stderr


def script(command: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", str(SCRIPT), command], env=env, capture_output=True, text=True, timeout=180)


@pytest.fixture(scope="module")
def workspace(tmp_path_factory) -> Path:
    """A small simulated shop (4 agents, 2 days) imported into a workspace folder."""
    files = tmp_path_factory.mktemp("simulated")
    simulate(files, agents=4, days=2, start=dt.date(2026, 11, 10), seed=5)
    path = tmp_path_factory.mktemp("ws")
    with Workspace.open(path, create=True) as ws:
        assert all(not r.error for r in import_paths(ws, [files]))
    return path


def on_cluster(master: str, *args: str) -> str:
    """A kefu command in a process of its own, on the cluster."""
    command = [sys.executable, "-m", "kefu.cli.main", *args, "--engine", "spark", "--master", master]
    done = subprocess.run(command, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr
    return done.stdout


def on_duckdb(*args: str) -> str:
    result = CliRunner().invoke(app, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.stdout


def test_the_script_starts_a_master_and_two_workers_on_loopback_only(cluster):
    master, folder, env = cluster
    assert master.startswith("spark://127.0.0.1:") and master != "spark://127.0.0.1:7077"  # a free port
    status = script("status", env)
    assert status.returncode == 0 and status.stdout.splitlines()[-1] == master
    pids = [int((folder / f"{name}.pid").read_text()) for name in ("master", "worker1", "worker2")]
    listening = {
        c.laddr.ip for pid in pids for c in psutil.Process(pid).net_connections("tcp") if c.status == psutil.CONN_LISTEN
    }
    assert listening and listening <= LOOPBACK
    assert (folder / "logs" / "master.log").read_text().count("Registering worker 127.0.0.1:") == 2


def test_kpi_by_agent_and_day_on_the_cluster_equals_duckdb(cluster, workspace):
    master, folder, _ = cluster
    args = ("kpi", str(workspace), "--by", "agent,day", "--format", "json")
    expected = json.loads(on_duckdb(*args))
    actual = json.loads(on_cluster(master, *args))
    assert len(expected) == 8 and sum(r["consult_buyers"] for r in expected) > 0  # 4 agents × 2 days
    assert actual == expected
    # It ran there: an application with an executor on each worker, reading the Parquet export of the workspace.
    assert (folder / "logs" / "master.log").read_text().count("Launching executor app-") >= 2
    (export,) = (workspace / ".spark").iterdir()
    assert export.name.startswith(f"v{LAYOUT}-import1-") and (export / "messages" / "part-0.parquet").is_file()


def test_kpi_by_shop_and_day_with_other_parameters_on_the_cluster_equals_duckdb(cluster, workspace):
    master, _, _ = cluster
    args = ("kpi", str(workspace), "--by", "shop,day", "--format", "json", "--slow-threshold", "15")
    args += ("--credit-rule", "payment", "--attribution-hours", "2", "--from", "2026-11-11")
    expected = json.loads(on_duckdb(*args))
    default = json.loads(on_duckdb("kpi", str(workspace), "--by", "shop,day", "--format", "json"))
    assert [r["day"] for r in expected] == ["2026-11-11"]
    assert expected[0]["slow_responses"] > default[1]["slow_responses"]  # the parameters change the figures
    assert json.loads(on_cluster(master, *args)) == expected


def test_qc_run_on_the_cluster_stores_the_same_findings_as_on_duckdb(cluster, workspace, tmp_path):
    master, _, _ = cluster
    copies = {name: tmp_path / name for name in ("duckdb", "spark")}
    for copy in copies.values():
        shutil.copytree(workspace, copy, ignore=shutil.ignore_patterns(".spark"))
    on_duckdb("qc", "run", str(copies["duckdb"]), "--lang", "en")
    summary = on_cluster(master, "qc", "run", str(copies["spark"]), "--lang", "en")
    assert "QC" in summary and " findings" in summary

    def findings(ws: Path) -> list[dict]:
        rows = json.loads(on_duckdb("qc", "findings", str(ws), "--format", "json"))
        return sorted(({k: v for k, v in r.items() if k != "run_at"} for r in rows), key=lambda r: r["finding_id"])

    expected = findings(copies["duckdb"])
    assert len(expected) > 5 and len({r["rule"] for r in expected}) > 1
    assert findings(copies["spark"]) == expected
    scores = ("qc", "scores", "--format", "json")
    assert on_duckdb(*scores[:2], str(copies["spark"]), *scores[2:]) == on_duckdb(
        *scores[:2], str(copies["duckdb"]), *scores[2:]
    )
