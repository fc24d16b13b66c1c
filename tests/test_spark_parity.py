"""The same metric code on DuckDB and on PySpark gives identical KPI tables.

DuckDB reads the materialised derived tables of the workspace; Spark computes
everything from the canonical tables, so the dialogue model itself is compared.
The Spark session is the run's one session (tests/conftest.py: spark_con).
"""

from __future__ import annotations

import datetime as dt

import pytest
from metrics.test_spec_example import example_shop
from shops import shop

from kefu.config import Params
from kefu.derive import workspace_sources
from kefu.engines.compiled import compiled_query, kpi_arrow
from kefu.ingest.pipeline import import_paths
from kefu.metrics.compiled import kpi_key
from kefu.metrics.kpis import kpi_table
from kefu.metrics.output import to_records
from kefu.simulate import simulate

pytestmark = pytest.mark.spark


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    """The spec's worked example (shop `s`) and a small simulated shop, in one workspace.

    Every hand-computed edge case runs on Spark too, in tests/metrics/test_definitions.py.
    """
    messages, orders = [], []
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
    assert len(expected) >= 3  # the spec's shop on its day, the simulated shop on two
    assert {r.get("shop") for r in expected} >= ({"s", "云裳女装旗舰店"} if "shop" in expected[0] else {None})
    assert actual == expected


def test_compiled_queries_run_on_spark_with_the_days_bound(spark_sources, workspace):
    # kefu.engines.compiled: Spark runs the SQL compiled once for its dialect, the days as `:name` parameters.
    day1, day2 = dt.date(2026, 11, 10), dt.date(2026, 11, 11)  # the simulated shop's two days
    params = Params(slow_threshold_s=15)
    assert kpi_key(spark_sources, ["team", "day"], params, day1, day2) is not None  # not the fallback
    before = compiled_query.cache_info().misses
    for date_from, date_to in ((day1, day2), (day2, day2)):
        fresh = kpi_table(workspace_sources(workspace), ["team", "day"], params, date_from, date_to)
        expected = to_records(fresh.execute())
        assert to_records(kpi_arrow(spark_sources, ["team", "day"], params, date_from, date_to)) == expected
        assert {r["day"] for r in expected} == ({"2026-11-10", "2026-11-11"} if date_from == day1 else {"2026-11-11"})
    assert compiled_query.cache_info().misses == before + 1
