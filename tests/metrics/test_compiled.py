"""KPI queries are compiled once per key (kefu.metrics.compiled, kefu.engines.compiled, issue #13).

A repeated query compiles nothing; another grouping, parameter set or pair of
day bounds compiles a new query; the days are bound parameters, so one
compiled query serves every range and every workspace of the same shape, and
gives exactly what the query built and compiled afresh gives.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st
from shops import DAY, at, msg, order, shop

from kefu import api
from kefu.config import Params
from kefu.derive import workspace_sources
from kefu.engines.compiled import compiled_query, kpi_arrow
from kefu.ingest.pipeline import import_paths
from kefu.metrics.compiled import kpi_key
from kefu.metrics.derived import CUBE, DERIVED
from kefu.metrics.kpis import WHEN, WHO, kpi_table
from kefu.metrics.output import to_records
from kefu.simulate import simulate
from kefu.workspace import Workspace
from metrics.test_properties import FAST, shops, sources

NEXT = "2026-11-12"
#: Every grouping by at most one who and one when dimension, and the three-way groupings the product uses.
GROUPINGS = [[*w, *t] for w, t in itertools.product([[], *([d] for d in WHO)], [[], *([d] for d in WHEN)]) if w or t]
GROUPINGS += [["shop", "day", "hour"], ["employer", "week", "hour"], ["team", "agent", "month"]]


def compiles() -> int:
    return compiled_query.cache_info().misses


def two_days(tmp_path, reply_s: int = 30):
    """ann answers b1 after `reply_s` s on the 11th and b2 after 90 s on the 12th; b1 pays an order on the 11th."""
    return shop(
        tmp_path,
        [
            msg("10:00:00", "buyer"),
            msg(f"10:00:{reply_s:02d}", "agent"),
            msg(at("09:00:00", NEXT), "buyer", buyer="b2"),
            msg(at("09:01:30", NEXT), "agent", buyer="b2"),
        ],
        [order("o1", "10:05:00", "10:06:00", "88.00")],
    )


def test_a_repeated_query_compiles_nothing_and_a_new_grouping_or_parameter_set_compiles_once(tmp_path):
    ws = two_days(tmp_path)
    compiled_query.cache_clear()
    day1, day2 = dt.date.fromisoformat(DAY), dt.date.fromisoformat(NEXT)
    other = Params(slow_threshold_s=15)
    first = api.kpis(ws, ["agent", "day"], other, day1, day1)
    assert compiles() == 1
    # The same shape of query on the other day: the compiled SQL, with the day bound afresh.
    (ann,) = api.kpis(ws, ["agent", "day"], other, day2, day2)
    assert compiles() == 1
    assert (ann["day"], ann["questions"], ann["avg_response_s"], ann["slow_responses"], ann["sales_amount"]) == (
        NEXT,
        1,
        90.0,
        1,
        0,
    )
    assert api.kpis(ws, ["agent", "day"], other, day1, day1) == first
    assert (first[0]["day"], first[0]["avg_response_s"], first[0]["slow_responses"], first[0]["sales_amount"]) == (
        DAY,
        30.0,
        1,
        88.0,
    )
    assert compiles() == 1
    api.kpis(ws, ["agent", "day"], Params(slow_threshold_s=120), day1, day1)  # other parameters
    assert compiles() == 2
    (whole,) = api.kpis(ws, ["agent"], other, day1, day2)  # another grouping
    assert compiles() == 3
    assert (whole["questions"], whole["avg_response_s"]) == (2, 60.0)
    api.kpis(ws, ["agent"], other, day1)  # only a first day: another query
    assert compiles() == 4
    # The workspace's own parameters sum the KPI cube: the parameters are not in that query's key.
    api.kpis(ws, ["agent"], ws.config.params, day1, day2)
    assert compiles() == 5


def test_one_compiled_query_serves_every_workspace_of_the_same_shape(tmp_path):
    # New data changes no SQL: a second workspace with other figures runs the first one's query.
    (tmp_path / "fast").mkdir(), (tmp_path / "slow").mkdir()
    fast, slow = two_days(tmp_path / "fast", reply_s=10), two_days(tmp_path / "slow", reply_s=50)
    params, day = Params(slow_threshold_s=20), dt.date.fromisoformat(DAY)
    assert api.kpis(fast, ["agent"], params, day, day)[0]["avg_response_s"] == 10.0
    before = compiles()
    (ann,) = api.kpis(slow, ["agent"], params, day, day)
    assert compiles() == before
    assert (ann["avg_response_s"], ann["slow_responses"]) == (50.0, 1)


def test_a_table_added_to_the_workspace_is_another_key(tmp_path):
    ws = two_days(tmp_path)
    src = workspace_sources(ws)
    without_counts = dataclasses.replace(src, message_counts=None)
    params = Params(slow_threshold_s=15)
    assert kpi_key(src, ["agent"], params, None, None) != kpi_key(without_counts, ["agent"], params, None, None)
    assert to_records(kpi_arrow(without_counts, ["agent"], params)) == to_records(kpi_arrow(src, ["agent"], params))


def test_a_source_that_is_an_expression_is_built_afresh(tmp_path):
    # Its SQL would not stand on its own (kpi_key is None): kpi_arrow builds and compiles the query each time.
    ws = two_days(tmp_path)
    src = workspace_sources(ws)
    day2 = dataclasses.replace(
        src,
        messages=src.messages.filter(src.messages.ts.date() == dt.date.fromisoformat(NEXT)),
        questions=None,
        consultations=None,
        order_contacts=None,
        message_counts=None,
        cube=None,
    )
    assert kpi_key(day2, ["agent"], ws.config.params, None, None) is None
    before = compiles()
    (ann,) = to_records(kpi_arrow(day2, ["agent"], ws.config.params))
    assert compiles() == before
    assert (ann["questions"], ann["avg_response_s"], ann["sales_amount"]) == (1, 90.0, 0)


def test_workspace_sources_reads_the_schemas_ws_table_reads(tmp_path):
    # workspace_sources reads every schema in one catalog query; the tables must be the ones ws.table gives.
    ws = two_days(tmp_path)
    src = workspace_sources(ws)
    for name in ("messages", "orders", "agents", "ratings", "complaints", *DERIVED):
        assert getattr(src, name).op() == ws.table(name).op(), name
    assert src.cube.op() == ws.table(CUBE).op()
    assert src.cube_params == ws.config.params


@pytest.fixture(scope="module")
def simulated(tmp_path_factory):
    folder = tmp_path_factory.mktemp("simulated")
    simulate(folder, agents=4, days=3, start=dt.date(2026, 11, 10), seed=3)
    ws = Workspace.memory()
    import_paths(ws, [folder])
    yield ws
    ws.close()


@pytest.mark.parametrize("by", GROUPINGS, ids=[",".join(g) for g in GROUPINGS])
def test_compiled_and_freshly_built_queries_agree_on_every_grouping(simulated, by):
    src = workspace_sources(simulated)
    other = Params(slow_threshold_s=20, after_sales_days=2, credit_rule="payment")
    day1, day2 = dt.date(2026, 11, 11), dt.date(2026, 11, 12)
    for params, date_from, date_to in ((simulated.config.params, day1, day2), (other, None, day1)):
        cached = kpi_arrow(src, by, params, date_from, date_to)
        assert cached.equals(kpi_table(src, by, params, date_from, date_to).to_pyarrow()), (by, params)  # types too
        assert cached.num_rows >= 1


DAYS = st.sampled_from([None, dt.date(2026, 11, 10), dt.date(2026, 11, 11)])


@FAST
@given(shops(), st.sampled_from(GROUPINGS), DAYS, DAYS)
def test_compiled_and_freshly_built_queries_agree_on_random_shops(shop, by, date_from, date_to):
    messages, orders, params = shop
    src = sources(messages, orders)
    assert kpi_arrow(src, by, params, date_from, date_to).equals(
        kpi_table(src, by, params, date_from, date_to).to_pyarrow()
    )
