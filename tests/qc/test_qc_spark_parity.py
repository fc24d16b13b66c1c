"""The QC engine gives the same findings on PySpark as on DuckDB (the hand-made shop of test_engine)."""

from __future__ import annotations

import pytest
from shops import order, shop
from test_engine import chats

from kefu.config import Params
from kefu.derive import workspace_sources
from kefu.qc.engine import inspect
from kefu.qc.rules import load_rules

pytestmark = pytest.mark.spark
COLUMNS = [
    "finding_key",
    "shop",
    "agent",
    "buyer",
    "ts",
    "day",
    "rule",
    "rule_name",
    "severity",
    "points",
    "scope",
    "text",
    "match",
    "match_start",
    "occurrences",
    "evidence",
]


def rows(src, rules) -> list[tuple]:
    with inspect(src, rules, Params()) as expr:
        frame = expr.execute()[COLUMNS]
    frame["day"] = frame["day"].astype(str).str[:10]
    frame["ts"] = frame["ts"].astype(str)
    return sorted(tuple(r) for r in frame.itertuples(index=False))


def test_duckdb_and_spark_find_the_same(spark_con, tmp_path):
    from kefu.engines.spark import sources_from_workspace

    ws = shop(
        tmp_path,
        chats(),
        [order("6222021234567890128", "14:05:00", "14:06:00", buyer="b4")],
        agents=[{"agent": "s:bot", "shop": "s", "role": "bot"}],
    )
    rules = load_rules(ws)
    expected = rows(workspace_sources(ws), rules)
    assert len(expected) == 18 and {r[6] for r in expected} >= {"personal_id_card", "personal_bank_card", "slow_reply"}
    assert rows(sources_from_workspace(spark_con, ws, prefix="qc_"), rules) == expected
    ws.close()
