"""The leaderboard's pure functions: ranking within a role, the gap within a role, deltas and month targets.
Every expectation is worked out by hand from the records below."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest

from kefu.reports import leaderboard as lb
from kefu.targets import Target

ROSTER = {
    "s:ann": {"agent": "s:ann", "name": "安", "team": "售前一组", "employer": "in_house", "role": "presales"},
    "s:bob": {"agent": "s:bob", "name": "波", "team": "售前二组", "employer": "外包甲", "role": "presales"},
    "s:eve": {"agent": "s:eve", "name": "伊", "team": "售前一组", "employer": "in_house", "role": "presales"},
    "s:cat": {"agent": "s:cat", "name": "猫", "team": "售后组", "employer": "in_house", "role": "aftersales"},
    "s:dan": {"agent": "s:dan", "name": "丹", "team": "退款组", "employer": "in_house", "role": "refund"},
}
# refund and after-sales agents sell nothing and answer fastest
RECORDS = [
    {"agent": "s:ann", "sales_amount": 300.0, "avg_response_s": 40.0},
    {"agent": "s:bob", "sales_amount": 120.0, "avg_response_s": 25.0},
    {"agent": "s:eve", "sales_amount": 500.0, "avg_response_s": None},  # answered nothing: unranked on 平响
    {"agent": "s:cat", "sales_amount": 0.0, "avg_response_s": 10.0},
    {"agent": "s:dan", "sales_amount": 0.0, "avg_response_s": 60.0},
]
COLUMNS = ("avg_response_s", "sales_amount")


def by_role(groups):
    return {g["role"]: g for g in groups}


def ranks(group):
    return [(r["agent"], r["rank"]) for r in group["rows"]]


def test_sales_ranks_pre_sales_only_and_its_valley_is_not_a_refund_agent():
    groups = lb.board(RECORDS, ROSTER, COLUMNS, "sales_amount", None)
    assert [g["role"] for g in groups] == ["presales", "aftersales", "refund"]
    pre = by_role(groups)["presales"]
    assert ranks(pre) == [("s:eve", 1), ("s:ann", 2), ("s:bob", 3)] and pre["desc"] is True
    # within 售前: 500 − 120; across roles the valley would have been a ¥0 refund agent (gap 500)
    assert pre["spread"]["sales_amount"] == {
        "metric": "sales_amount",
        "peak": 500.0,
        "peak_agent": "s:eve",
        "valley": 120.0,
        "valley_agent": "s:bob",
        "gap": 380.0,
        "peak_name": "伊",
        "valley_name": "波",
    }
    after = by_role(groups)["aftersales"]
    # sales mean nothing for after-sales: not a column, and the group is ranked by 平响 instead
    assert after["columns"] == ["avg_response_s"] and after["sort"] == "avg_response_s" and after["desc"] is False
    assert ranks(after) == [("s:cat", 1)] and "sales_amount" not in after["spread"]


def test_response_time_ranks_within_each_role_undefined_last():
    groups = by_role(lb.board(RECORDS, ROSTER, COLUMNS, "avg_response_s", None))
    assert ranks(groups["presales"]) == [("s:bob", 1), ("s:ann", 2), ("s:eve", None)]
    assert groups["presales"]["spread"]["avg_response_s"]["gap"] == 15.0  # 40 − 25, not 60 − 10 across roles
    assert ranks(groups["refund"]) == [("s:dan", 1)]
    worst_first = by_role(lb.board(RECORDS, ROSTER, COLUMNS, "avg_response_s", True))
    assert ranks(worst_first["presales"]) == [("s:ann", 1), ("s:bob", 2), ("s:eve", None)]


def test_filters_by_role_team_and_employer():
    assert [r["agent"] for r in lb.select(RECORDS, ROSTER, role="presales")] == ["s:ann", "s:bob", "s:eve"]
    assert [r["agent"] for r in lb.select(RECORDS, ROSTER, team="售前一组")] == ["s:ann", "s:eve"]
    assert [r["agent"] for r in lb.select(RECORDS, ROSTER, employer="vendor")] == ["s:bob"]
    assert [r["agent"] for r in lb.select(RECORDS, ROSTER, role="presales", employer="in_house")] == ["s:ann", "s:eve"]


def test_which_metrics_apply_to_which_role():
    assert lb.applies("sales_amount", "presales") and not lb.applies("sales_amount", "refund")
    assert not lb.applies("inquiry_conversion", "aftersales") and not lb.applies("lost_buyers", "refund")
    for key in ("avg_response_s", "answer_ratio", "slow_response_buyers", "reply_rate"):
        assert all(lb.applies(key, role) for role in lb.ROLE_ORDER)
    assert lb.role_columns(("reply_rate", "sales_amount", "answer_ratio"), "aftersales") == [
        "reply_rate",
        "answer_ratio",
    ]


def test_deltas_against_the_previous_day_and_last_week():
    compare = {
        "previous": {"s:ann": {"agent": "s:ann", "sales_amount": 100.0, "avg_response_s": 55.0}},
        "last_week": {"s:ann": {"agent": "s:ann", "sales_amount": 300.0, "avg_response_s": None}},
    }
    rows = {
        r["agent"]: r
        for r in by_role(lb.board(RECORDS, ROSTER, COLUMNS, "sales_amount", None, compare=compare))["presales"]["rows"]
    }
    assert rows["s:ann"]["vs_previous"] == {"avg_response_s": -15.0, "sales_amount": 200.0}
    assert rows["s:ann"]["vs_last_week"] == {"avg_response_s": None, "sales_amount": 0.0}
    assert rows["s:bob"]["vs_previous"] == {"avg_response_s": None, "sales_amount": None}  # no figures the day before


def test_comparison_periods():
    day = dt.date(2026, 11, 11)
    assert lb.comparison_periods(day, day) == {
        "previous": (dt.date(2026, 11, 10),) * 2,
        "last_week": (dt.date(2026, 11, 4),) * 2,
    }
    week = lb.comparison_periods(dt.date(2026, 11, 5), day)
    assert week["previous"] == week["last_week"] == (dt.date(2026, 10, 29), dt.date(2026, 11, 4))
    assert lb.comparison_periods(dt.date(2026, 11, 1), dt.date(2026, 11, 10)) == {
        "previous": (dt.date(2026, 10, 22), dt.date(2026, 10, 31)),
        "last_week": (dt.date(2026, 10, 25), dt.date(2026, 11, 3)),
    }


def test_month_target_of_the_ranked_metric():
    targets = [
        Target("2026-11", "s", "agent", "s:ann", "sales_amount", 1000.0),
        Target("2026-11", "s", "agent", "s:cat", "sales_amount", 50.0),
        Target("2026-10", "s", "agent", "s:bob", "sales_amount", 10.0),
    ]  # another month
    mtd = {"s:ann": {"sales_amount": 450.0}, "s:bob": {"sales_amount": 120.0}}
    elapsed = lb.month_elapsed(dt.date(2026, 11, 11))
    assert elapsed == pytest.approx(11 / 30)
    groups = by_role(
        lb.board(
            RECORDS, ROSTER, COLUMNS, "sales_amount", None, mtd=mtd, targets=targets, month="2026-11", elapsed=elapsed
        )
    )
    rows = {r["agent"]: r for r in groups["presales"]["rows"]}
    ann = rows["s:ann"]["month_target"]
    assert ann["target"] == 1000.0 and ann["actual"] == 450.0 and ann["completion"] == pytest.approx(0.45)
    assert ann["expected_to_date"] == pytest.approx(1000 * 11 / 30) and ann["on_track"] is True
    assert rows["s:bob"]["month_target"] is None and rows["s:eve"]["month_target"] is None
    # the after-sales group is ranked by 平响: cat's sales target is not its ranked metric
    assert groups["aftersales"]["rows"][0]["month_target"] is None
    assert lb.month_elapsed(dt.date(2026, 2, 28)) == 1.0


def test_hidden_names_stay_hidden_in_the_gap():
    shown = {a: a == "s:bob" for a in ROSTER}
    pre = by_role(lb.board(RECORDS, ROSTER, COLUMNS, "sales_amount", None, shown=shown, viewer="s:bob"))["presales"]
    assert [(r["agent"], r["name"], r["me"]) for r in pre["rows"]] == [
        (None, None, False),
        (None, None, False),
        ("s:bob", "波", True),
    ]
    gap = pre["spread"]["sales_amount"]
    assert (gap["peak_agent"], gap["peak_name"], gap["valley_agent"], gap["valley_name"]) == (None, None, "s:bob", "波")


def test_docs_list_the_sales_metrics():
    text = (Path(__file__).parents[2] / "docs" / "metrics.md").read_text(encoding="utf-8")
    section = text.split("## Role-aware ranking")[1].split("\n## ")[0]
    listed = set(re.findall(r"`([a-z_0-9]+)`", section.split("apply to pre-sales")[0].split("the selling")[1]))
    assert listed == lb.SALES_METRICS
