"""The same metric code on DuckDB and on PySpark gives identical KPI tables.

DuckDB reads the materialised derived tables of the workspace; Spark computes
everything from the canonical tables, so the dialogue model itself is compared.
"""

from __future__ import annotations

import datetime as dt
import shutil

import pytest
from metrics.test_spec_example import example_shop
from shops import at, msg, order, shop

from kefu.config import Params
from kefu.engines.compiled import compiled_query, kpi_arrow
from kefu.ingest.pipeline import import_paths
from kefu.metrics.compiled import kpi_key
from kefu.metrics.derived import workspace_sources
from kefu.metrics.kpis import kpi_table
from kefu.metrics.output import to_records
from kefu.simulate import simulate

pytestmark = pytest.mark.spark
NEXT = "2026-11-12"


def edge_cases() -> tuple[list[dict], list[dict]]:
    """Every edge case of tests/metrics/test_definitions.py, one shop each, in one workspace."""
    cases = {
        "midnight": [msg("23:59:00", "buyer"), msg(at("00:01:00", NEXT), "agent")],
        "day_start": [msg("23:50:00", "buyer"), msg(at("00:10:00", NEXT), "buyer"), msg(at("00:15:00", NEXT), "agent")],
        "bot_transfer": [
            msg("10:00:00", "buyer", agent="s:bot"),
            msg("10:00:01", "bot", agent="s:bot"),
            msg("10:00:30", "buyer", agent="s:bot"),
            msg("10:00:40", "transfer"),
            msg("10:01:00", "agent"),
        ],
        "answered_transfer": [
            msg("10:00:00", "buyer", agent="s:bot"),
            msg("10:00:05", "bot", agent="s:bot"),
            msg("10:00:10", "transfer"),
            msg("10:00:30", "agent"),
        ],
        "same_second": [msg("10:00:00", "agent"), msg("10:00:00", "buyer")],
        "proactive": [msg("10:00:00", "agent")],
        "two_agents": [
            msg("10:00:00", "buyer"),
            msg("10:00:10", "agent"),
            msg("12:00:00", "buyer", agent="s:bob"),
            msg("12:00:10", "agent", agent="s:bob"),
            msg("13:00:00", "buyer"),
        ],
    }
    orders = {
        "two_agents": [
            order("o1", "10:05:00", "12:10:00", "100.00"),
            order("o2", "09:00:00", "12:30:00", "50.00"),
            order("o3", "12:20:00", None),
        ],
        "midnight": [
            order("o4", at("00:30:00", NEXT), at("00:40:00", NEXT), "19.90"),
            order("o5", "2026-11-01 09:00:00", "2026-11-01 09:00:00", "5.00"),
        ],
        "proactive": [order("o6", "2026-11-08 10:00:00", "2026-11-14 10:00:01", "7.00")],
    }
    messages = [{**m, "shop": name} for name, rows in cases.items() for m in rows]
    all_orders = [{**o, "shop": name} for name, rows in orders.items() for o in rows]
    return messages, all_orders


@pytest.fixture(scope="module")
def spark_con(tmp_path_factory):
    if shutil.which("java") is None:
        pytest.fail("Java is not installed: run scripts/ensure-java.sh (make install does)")
    from kefu.engines import spark

    session = spark.session(scratch=tmp_path_factory.mktemp("spark"), partitions=2, small_data=True)
    yield spark.connect(session)
    session.stop()


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    """Edge cases, the spec's worked example (shop `s`) and a small simulated shop, in one workspace."""
    messages, orders = edge_cases()
    example = example_shop(tmp_path_factory.mktemp("example"))
    for name in ("messages", "orders"):
        rows = example.con.execute(f'SELECT * EXCLUDE (extra, src_file, src_line) FROM "{name}"').df()
        # pandas 3 keeps a missing value as NaN through astype(str): fillna
        rows = rows.astype(str).replace({"NaT": "", "None": "", "nan": ""}).fillna("").to_dict("records")
        if name == "orders":
            rows = [{**row, "order_id": "spec-" + row["order_id"]} for row in rows]
        (messages if name == "messages" else orders).extend(rows)
    ws = shop(tmp_path_factory.mktemp("parity"), messages, orders)
    simulated = tmp_path_factory.mktemp("simulated")
    simulate(simulated, agents=4, days=2, start=dt.date(2026, 11, 10), seed=5)
    import_paths(ws, [simulated])
    return ws


@pytest.fixture(scope="module")
def spark_sources(spark_con, workspace):
    from kefu.engines.spark import sources_from_workspace

    return sources_from_workspace(spark_con, workspace)


@pytest.mark.parametrize(
    "by, params",
    [
        ("agent,day", Params()),
        ("shop,day", Params(credit_rule="payment", slow_threshold_s=15)),
        ("employer,week,hour", Params(credit_rule="order", after_sales_days=3, attribution_hours=1)),
    ],
)
def test_duckdb_and_spark_agree(spark_sources, workspace, by, params):
    expected = to_records(kpi_table(workspace_sources(workspace), by.split(","), params).execute())
    actual = to_records(kpi_table(spark_sources, by.split(","), params).execute())
    assert len(expected) > 3
    assert {r.get("shop") for r in expected} >= ({"s", "云裳女装旗舰店"} if "shop" in expected[0] else {None})
    assert actual == expected


def test_compiled_queries_run_on_spark_with_the_days_bound(spark_sources, workspace):
    # kefu.engines.compiled: Spark runs the SQL compiled once for its dialect, the days as `:name` parameters.
    day1, day2 = dt.date(2026, 11, 11), dt.date(2026, 11, 12)
    params = Params(slow_threshold_s=15)
    assert kpi_key(spark_sources, ["team", "day"], params, day1, day2) is not None  # not the fallback
    before = compiled_query.cache_info().misses
    for date_from, date_to in ((day1, day2), (day2, day2)):
        fresh = kpi_table(workspace_sources(workspace), ["team", "day"], params, date_from, date_to)
        expected = to_records(fresh.execute())
        assert to_records(kpi_arrow(spark_sources, ["team", "day"], params, date_from, date_to)) == expected
        assert {r["day"] for r in expected} == ({"2026-11-11", "2026-11-12"} if date_from == day1 else {"2026-11-12"})
    assert compiled_query.cache_info().misses == before + 1
