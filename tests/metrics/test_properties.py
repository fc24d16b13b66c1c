"""Invariants of the KPI engine on random shops (hypothesis)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import random

import ibis
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from profiles import examples

from kefu.config import Params
from kefu.metrics.derived import derive
from kefu.metrics.kpis import Sources, kpi_table, measure_cube
from kefu.metrics.output import to_records
from kefu.schema import TABLES

START = dt.datetime(2026, 11, 10, 22, 0, 0)
ACCOUNTS = ("ann", "bob", "bot")
BUYERS = ("b1", "b2", "b3")
SHOPS = ("s0", "s1", "s2")


@st.composite
def one_shop(draw, shop: str):
    """A few buyers chatting with two humans and a bot around midnight, some orders."""
    n = draw(st.integers(1, 40))
    rows = []
    for _ in range(n):
        agent = draw(st.sampled_from(ACCOUNTS))
        sender = draw(st.sampled_from(("buyer", "bot" if agent == "bot" else "agent", "transfer")))
        if sender == "transfer" and agent == "bot":
            sender = "buyer"
        # Seconds on a coarse grid so that same-second ties happen often.
        ts = START + dt.timedelta(seconds=draw(st.integers(0, 40)) * 450)
        buyer, text = draw(st.sampled_from(BUYERS)), draw(st.sampled_from(("在吗", "好的", "")))
        rows.append((ts, shop, buyer, f"{shop}:{agent}", sender, text))
    orders = []
    for i in range(draw(st.integers(0, 6))):
        created = START + dt.timedelta(seconds=draw(st.integers(-3 * 86400, 2 * 86400)))
        paid = created + dt.timedelta(seconds=draw(st.integers(0, 3 * 86400))) if draw(st.booleans()) else None
        amount = draw(st.decimals(min_value=0, max_value=999, places=2, allow_nan=False))
        orders.append((f"o{i}", shop, draw(st.sampled_from(BUYERS)), created, paid, amount, None))
    return rows, orders


@st.composite
def shops(draw):
    """One to three shops (s0, s1, s2) in one example, so each compiled query checks several; the parameters."""
    rows, orders = [], []
    for i in range(draw(st.integers(1, 3))):
        shop_rows, shop_orders = draw(one_shop(f"s{i}"))
        rows += shop_rows
        orders += shop_orders
    params = Params(
        slow_threshold_s=draw(st.sampled_from((0, 60, 600))),
        after_sales_days=draw(st.sampled_from((0, 1, 15))),
        attribution_hours=draw(st.sampled_from((0, 1, 72))),
        credit_rule=draw(st.sampled_from(("order", "payment", "order_first"))),
    )
    return rows, orders, params


def sources(messages: list[tuple], orders: list[tuple]) -> Sources:
    con = ibis.duckdb.connect()

    def table(name, rows):
        schema = ibis.schema({c.name: _dtype(c.kind) for c in TABLES[name].columns})
        rows = [(*row, *[None] * (len(schema) - len(row))) for row in rows]  # optional columns at the end stay empty
        frame = pd.DataFrame(rows, columns=list(schema.names)) if rows else None
        return (
            con.create_table(name, frame, schema=schema) if frame is not None else con.create_table(name, schema=schema)
        )

    return Sources(
        messages=table("messages", messages),
        orders=table("orders", orders),
        agents=table("agents", [(f"{shop}:bot", "bot", shop, None, "bot", "in_house", True) for shop in SHOPS]),
        ratings=table("ratings", []),
        complaints=table("complaints", []),
    )


def _dtype(kind: str) -> str:
    return {"str": "string", "timestamp": "timestamp", "money": "decimal(18,2)", "int": "int32", "bool": "boolean"}[
        kind
    ]


def kpis(src: Sources, by: str, params: Params) -> list[dict]:
    return to_records(kpi_table(src, by.split(","), params).execute())


FAST = settings(max_examples=examples(12), deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(shops())
def test_counts_are_consistent(shop):
    messages, orders, params = shop
    for row in kpis(sources(messages, orders), "agent,day", params):
        assert not row["agent"].endswith(":bot")
        assert 0 <= row["received_buyers"] <= row["consult_buyers"]
        assert 0 <= row["answered_questions"] <= row["questions"]
        assert row["consult_buyers"] <= row["questions"]
        assert row["slow_responses"] <= row["answered_questions"]
        assert row["slow_response_buyers"] <= row["received_buyers"]
        assert row["next_day_paid_buyers"] <= row["converted_buyers"] <= row["inquiry_buyers"] <= row["consult_buyers"]
        assert row["converted_buyers"] + row["lost_buyers"] <= row["inquiry_buyers"]
        for ratio in ("reply_rate", "inquiry_conversion", "rate_3min"):
            assert row[ratio] is None or 0 <= row[ratio] <= 1


@FAST
@given(shops())
def test_agents_sales_plus_silent_sales_are_all_paid_sales(shop):
    messages, orders, params = shop
    by_shop = kpis(sources(messages, orders), "shop,month", params)
    for name in {o[1] for o in orders}:
        paid = [o for o in orders if o[1] == name and o[4] is not None]
        rows = [r for r in by_shop if r["shop"] == name]
        credited_and_silent = sum(r["sales_amount"] + r["silent_sales"] for r in rows)
        assert round(credited_and_silent, 2) == round(float(sum((o[5] for o in paid), start=0)), 2), name
        assert sum(r["attributed_orders"] + r["silent_orders"] for r in rows) == len(paid), name


@FAST
@given(shops(), st.randoms(use_true_random=False))
def test_shuffled_rows_give_identical_output(shop, rnd: random.Random):
    messages, orders, params = shop
    shuffled = messages[:]
    rnd.shuffle(shuffled)
    assert kpis(sources(shuffled, orders[::-1]), "agent,day", params) == kpis(
        sources(messages, orders), "agent,day", params
    )


@settings(FAST, max_examples=examples(8))
@given(shops())
def test_stored_derived_tables_give_the_same_kpis_as_the_canonical_tables(shop):
    # What an import materialises (questions, order contacts, consultations, message counts, the
    # measure cube) must change no figure, for any grouping, range of days and parameters.
    messages, orders, params = shop
    src = sources(messages, orders)
    con = src.messages._find_backend()
    stored = {
        name: con.create_table(f"d_{name}", expr.to_pyarrow())
        for name, expr in derive(src.messages, src.orders, src.bots).items()
    }
    materialised = dataclasses.replace(src, **stored)
    cube = con.create_table("d_cube", measure_cube(materialised, params).to_pyarrow())
    cubed = dataclasses.replace(materialised, cube=cube, cube_params=params)
    for by in ("agent,day", "shop,hour", "employer,week"):
        assert kpis(cubed, by, params) == kpis(src, by, params), by
    other = dataclasses.replace(params, slow_threshold_s=params.slow_threshold_s + 1)  # the cube does not apply
    assert kpis(cubed, "agent,hour", other) == kpis(src, "agent,hour", other)
    one_day = dt.date(2026, 11, 11)
    assert to_records(kpi_table(cubed, ["agent", "day"], params, one_day, one_day).execute()) == to_records(
        kpi_table(src, ["agent", "day"], params, one_day, one_day).execute()
    )


ADDITIVE = (
    "consult_buyers",
    "received_buyers",
    "questions",
    "answered_questions",
    "buyer_msgs",
    "agent_msgs",
    "slow_responses",
    "inquiry_buyers",
    "converted_buyers",
    "lost_buyers",
    "attributed_orders",
)


@FAST
@given(shops())
def test_agents_and_hours_add_up_to_the_shop_day(shop):
    messages, orders, params = shop
    src = sources(messages, orders)
    per_shop = {(r["shop"], r["day"]): r for r in kpis(src, "shop,day", params)}
    for by in ("agent,day", "shop,day,hour"):
        rows = kpis(src, by, params)
        for key in ADDITIVE:
            totals: dict[tuple, int] = {}
            for row in rows:
                totals[row["shop"], row["day"]] = totals.get((row["shop"], row["day"]), 0) + row[key]
            assert totals == {k: r[key] for k, r in per_shop.items() if k in totals}, (by, key)
