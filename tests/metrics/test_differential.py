"""Two independent implementations of the definitions agree: the Ibis engine and plain pandas.

kefu.testing.reference_pandas was written from the spec and docs/decisions.md
without reading the engine; any disagreement is a bug in one of them.
"""

from __future__ import annotations

import math

import pandas as pd
import pytest
from hypothesis import given

from kefu.config import Params
from kefu.derive import workspace_sources
from kefu.ingest.pipeline import import_paths
from kefu.metrics.kpis import kpi_table
from kefu.metrics.output import to_records
from kefu.metrics.registry import BY_KEY
from kefu.simulate import simulate
from kefu.testing.reference_pandas import RefParams, agent_day_kpis, shop_day_silent
from kefu.workspace import Workspace
from metrics.test_properties import FAST, shops, sources

PARAMS = [
    Params(),
    Params(slow_threshold_s=15, after_sales_days=3, attribution_hours=1, credit_rule="payment"),
    Params(credit_rule="order", attribution_hours=0),
]


def reference(tables: dict[str, pd.DataFrame], params: Params) -> list[dict]:
    frame = agent_day_kpis(
        tables["messages"],
        tables["orders"],
        tables["agents"],
        tables["ratings"],
        tables["complaints"],
        RefParams(**vars(params)),
    )
    return [{k: _clean(v) for k, v in row.items()} for row in frame.to_dict("records")]


def _clean(value):
    if isinstance(value, float):
        return None if math.isnan(value) else value
    return value.item() if hasattr(value, "item") else value


def engine(src, params: Params) -> list[dict]:
    return to_records(kpi_table(src, ["agent", "day"], params).execute())


def assert_same(actual: list[dict], expected: list[dict]) -> None:
    assert len(actual) == len(expected)
    for a, e in zip(actual, expected, strict=True):
        assert a.keys() == e.keys()
        for key in a:
            if key in BY_KEY and BY_KEY[key].unit == "yuan" and e[key] is not None:
                assert a[key] == e[key], (a["agent"], a["day"], key)  # money is exact in fen on both sides
            elif isinstance(e[key], float) and a[key] is not None:
                assert a[key] == pytest.approx(e[key], rel=1e-12, abs=1e-9), (a["agent"], a["day"], key)
            else:
                assert a[key] == e[key], (a["agent"], a["day"], key)


@pytest.fixture(scope="module")
def simulated(tmp_path_factory):
    out = tmp_path_factory.mktemp("sim")
    simulate(out, agents=8, days=6, start=pd.Timestamp("2026-11-08").date(), seed=3)
    ws = Workspace.memory()
    import_paths(ws, [out])
    tables = {
        name: ws.con.execute(f'SELECT * EXCLUDE (extra, src_file, src_line) FROM "{name}"').df()
        for name in ("messages", "orders", "agents", "ratings", "complaints")
    }
    return ws, tables


@pytest.mark.parametrize("params", PARAMS, ids=["defaults", "strict", "order-rule"])
def test_engine_matches_reference_on_a_simulated_shop(simulated, params):
    ws, tables = simulated
    expected = reference(tables, params)
    assert len(expected) > 40
    assert_same(engine(workspace_sources(ws), params), expected)


def test_silent_sales_match_reference(simulated):
    ws, tables = simulated
    ref = shop_day_silent(tables["messages"], tables["orders"], tables["agents"])
    ours = {r["day"]: r for r in to_records(kpi_table(workspace_sources(ws), ["shop", "day"]).execute())}
    for row in ref.to_dict("records"):
        mine = ours[row["day"]]
        assert (mine["silent_orders"], mine["silent_sales"]) == (
            row["silent_orders"],
            pytest.approx(row["silent_sales"]),
        )
        assert mine["consulted_sales_share"] == pytest.approx(row["consulted_sales_share"])


@FAST
@given(shops())
def test_engine_matches_reference_on_random_shops(shop):
    messages, orders, params = shop
    src = sources(messages, orders)
    tables = {name: getattr(src, name).execute() for name in ("messages", "orders", "agents", "ratings", "complaints")}
    assert_same(engine(src, params), reference(tables, params))
