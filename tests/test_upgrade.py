"""A workspace written by an earlier kefu works straight after an upgrade, read-only commands included."""

from __future__ import annotations

import json

import duckdb
from typer.testing import CliRunner

from kefu.cli.main import app
from kefu.ingest.pipeline import import_paths
from kefu.simulate import simulate
from kefu.workspace import Workspace

runner = CliRunner()


def kpis(folder) -> list[dict]:
    result = runner.invoke(app, ["kpi", str(folder), "--by", "shop,day", "--format", "json"])
    assert result.exit_code == 0, result.output
    return [{k: v for k, v in r.items() if k != "provisional"} for r in json.loads(result.output)]


def test_read_only_commands_upgrade_a_workspace_of_an_earlier_kefu(tmp_path):
    simulate(tmp_path / "data", agents=3, days=3, seed=5)
    folder = tmp_path / "ws"
    with Workspace.open(folder, create=True) as ws:
        import_paths(ws, [tmp_path / "data"])
    before = kpis(folder)
    # what the earlier kefu wrote: no orders.updated_at, no history tables, a ledger without updated/changed
    con = duckdb.connect(str(folder / "kefu.duckdb"))
    for ddl in (
        "ALTER TABLE orders DROP COLUMN updated_at",
        "DROP TABLE orders_history",
        "DROP TABLE refunds_history",
        "ALTER TABLE imports DROP COLUMN updated",
        "ALTER TABLE imports DROP COLUMN changed",
    ):
        con.execute(ddl)
    con.close()
    assert kpis(folder) == before  # `kefu kpi` opens read-only: it upgrades the file first, changing no row
    con = duckdb.connect(str(folder / "kefu.duckdb"), read_only=True)
    columns = {
        c for (c,) in con.execute("SELECT column_name FROM duckdb_columns() WHERE table_name = 'orders'").fetchall()
    }
    assert "updated_at" in columns and con.execute("SELECT count(*) FROM orders_history").fetchone()[0] == 0
    con.close()


def test_the_web_server_upgrades_a_workspace_of_an_earlier_kefu(tmp_path):
    from kefu.web.store import Store

    simulate(tmp_path / "data", agents=3, days=3, seed=6)
    folder = tmp_path / "ws"
    with Workspace.open(folder, create=True) as ws:
        import_paths(ws, [tmp_path / "data"])
    before = kpis(folder)
    con = duckdb.connect(str(folder / "kefu.duckdb"))
    con.execute("ALTER TABLE orders DROP COLUMN updated_at")
    con.close()
    store = Store(folder, watch=False)
    try:
        from kefu import api

        served = store.kpis(("shop", "day"))
        assert [r["sales_amount"] for r in served] == [r["sales_amount"] for r in before]
        # the pages' provisional marks read how far the data reaches, orders.updated_at included
        until = store.read(lambda ws: api.data_until(ws.con, before[0]["shop"]))
        assert until.date().isoformat() == max(r["day"] for r in before)
    finally:
        store.close()


def test_tables_made_on_demand_gain_the_columns_added_since(tmp_path):
    """QC findings and web users an earlier kefu stored, without the columns added since: the first open, even
    read-only, adds them as declared in kefu.schema (empty, or the declared default) and keeps every row; a table
    never made stays absent."""
    folder = tmp_path / "ws"
    Workspace.open(folder, create=True).close()
    con = duckdb.connect(str(folder / "kefu.duckdb"))
    con.execute("CREATE TABLE qc_findings (finding_id VARCHAR NOT NULL, shop VARCHAR, agent VARCHAR, day DATE)")
    con.execute("INSERT INTO qc_findings VALUES ('f1', 's', 's:ann', DATE '2026-11-11')")
    con.execute("CREATE TABLE web_users (name VARCHAR PRIMARY KEY, role VARCHAR NOT NULL, shops VARCHAR[] NOT NULL)")
    con.execute("INSERT INTO web_users VALUES ('admin', 'admin', [])")
    con.close()
    with Workspace.open(folder, read_only=True) as ws:
        found = ws.con.execute(
            "SELECT finding_id, evidence, occurrences, max_points_per_day FROM qc_findings"
        ).fetchall()
        users = ws.con.execute("SELECT name, sessions_from, disabled FROM web_users").fetchall()
        assert not ws.has_table("web_targets")
    assert found == [("f1", None, None, None)]
    assert users == [("admin", None, False)]
