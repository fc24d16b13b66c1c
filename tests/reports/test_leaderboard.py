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


# -- the page: collect (through any kpis function) and page / teams_table (pure) -----------------------

DAY = dt.date(2026, 11, 11)


def fake_kpis(tables: dict, calls: list | None = None):
    """A `kpis(by, date_from, date_to)` answering from `tables`: (by, date_from, date_to) -> records."""

    def kpis(by, date_from, date_to):
        if calls is not None:
            calls.append((by, date_from, date_to))
        return tables.get((by, date_from, date_to), [])

    return kpis


def test_collect_reads_one_day_from_the_agent_day_table_and_keeps_only_the_agents_listed():
    by_day = [
        {"agent": "s:ann", "day": "2026-11-11", "sales_amount": 300.0},
        {"agent": "s:ann", "day": "2026-11-10", "sales_amount": 100.0},
        {"agent": "s:ann", "day": "2026-11-04", "sales_amount": 250.0},
        {"agent": "s:bob", "day": "2026-11-11", "sales_amount": 120.0},
        {"agent": "t:zed", "day": "2026-11-11", "sales_amount": 999.0},  # not listed
    ]
    month = [{"agent": "s:ann", "sales_amount": 650.0}, {"agent": "t:zed", "sales_amount": 999.0}]
    calls: list = []
    kpis = fake_kpis({(("agent", "day"), None, None): by_day, (("agent",), dt.date(2026, 11, 1), DAY): month}, calls)
    data = lb.collect(kpis, {"s:ann", "s:bob"}, DAY, DAY)
    assert data.period == [by_day[0], by_day[3]]
    assert data.compare == {"previous": {"s:ann": by_day[1]}, "last_week": {"s:ann": by_day[2]}}
    assert data.mtd == {"s:ann": month[0]}
    assert (("agent",), DAY, DAY) not in calls  # a day is never a query of its own


def test_collect_reads_a_period_from_the_agent_grouping():
    week = (dt.date(2026, 11, 5), DAY)
    rows = [{"agent": "s:ann", "sales_amount": 900.0}]
    before = [{"agent": "s:ann", "sales_amount": 700.0}]
    kpis = fake_kpis({(("agent",), *week): rows, (("agent",), dt.date(2026, 10, 29), dt.date(2026, 11, 4)): before})
    data = lb.collect(kpis, {"s:ann"}, *week)
    # the week just before and the same days a week earlier are the same period here (comparison_periods)
    assert data.period == rows and data.compare == {"previous": {"s:ann": before[0]}, "last_week": {"s:ann": before[0]}}


def board_data() -> lb.BoardData:
    return lb.BoardData(
        RECORDS,
        {"previous": {"s:ann": {"agent": "s:ann", "sales_amount": 100.0}}, "last_week": {}},
        {"s:ann": {"agent": "s:ann", "sales_amount": 650.0}},
    )


def test_page_ranks_compares_and_measures_against_the_month_target():
    targets = [Target("2026-11", "s", "agent", "s:ann", "sales_amount", 1000.0)]
    until = dt.datetime(2026, 11, 11, 23, 0)  # the day's conversion window is open until 11-13 00:00
    out = lb.page(
        lb.BoardQuery("s", DAY, DAY, "sales_amount"), board_data(), ROSTER, set(ROSTER), targets, data_until=until
    )
    assert [(r["agent"], r["rank"]) for r in out["rows"]] == [
        ("s:eve", 1),
        ("s:ann", 2),
        ("s:bob", 3),
        ("s:cat", 1),  # after-sales: ranked by 平响 within its role
        ("s:dan", 1),
    ]
    ann = out["rows"][1]
    assert ann["vs_previous"]["sales_amount"] == 200.0 and ann["vs_last_week"]["sales_amount"] is None
    assert ann["month_target"]["completion"] == pytest.approx(0.65) and ann["month_target"]["gap"] == -350.0
    assert out["desc"] is True and out["columns"] == list(lb.COLUMNS) and out["month"] == "2026-11"
    assert out["spread"]["sales_amount"]["gap"] == 380.0  # the first role's: 500 − 120
    assert out["roles"] == ["presales", "aftersales", "refund"]
    assert out["team_names"] == ["售前一组", "售前二组", "售后组", "退款组"]
    assert out["comparison"] == {"previous": ["2026-11-10", "2026-11-10"], "last_week": ["2026-11-04", "2026-11-04"]}
    assert out["provisional"] == {"inquiry_conversion": "2026-11-13", "lost_buyers": "2026-11-13"}
    assert out["names_hidden"] is False and out["teams"] is None
    later = lb.page(lb.BoardQuery("s", DAY, DAY, "sales_amount"), board_data(), ROSTER, set(ROSTER), [])
    assert later["provisional"] == {}  # no data_until: nothing is known to be open


def test_page_adds_a_ranked_metric_that_is_not_a_column_and_filters():
    q = lb.BoardQuery("s", DAY, DAY, "converted_buyers", desc=False, employer="vendor", role="presales")
    out = lb.page(q, board_data(), ROSTER, set(ROSTER))
    assert out["columns"] == [*lb.COLUMNS, "converted_buyers"] and out["desc"] is False
    assert [r["agent"] for r in out["rows"]] == ["s:bob"] and out["employer"] == "vendor"


def test_page_hides_other_names_from_an_agent_and_ignores_the_filters_that_would_name_them():
    q = lb.BoardQuery("s", DAY, DAY, "sales_amount", team="售前一组", employer="in_house")
    out = lb.page(q, board_data(), ROSTER, set(ROSTER), viewer="s:bob", names_hidden=True)
    assert out["names_hidden"] is True and out["team"] is None and out["employer"] is None
    shown = [(r["agent"], r["name"], r["team"], r["employer"], r["me"]) for r in out["rows"] if r["role"] == "presales"]
    assert shown == [
        (None, None, None, None, False),
        (None, None, None, None, False),
        ("s:bob", "波", "售前二组", "外包甲", True),
    ]


def test_page_refuses_a_team_the_agents_do_not_have():
    with pytest.raises(lb.LeaderboardError, match=r"no team '夜班' in s \(teams: 售前一组, 售前二组, 售后组, 退款组\)"):
        lb.page(lb.BoardQuery("s", DAY, DAY, "sales_amount", team="夜班"), board_data(), ROSTER, set(ROSTER))


def test_teams_table_lists_teams_by_name_with_their_month_to_date_against_team_targets():
    day = dt.date(2026, 11, 15)  # half of November: counts and money are expected at half their target
    period = [
        {"shop": "s", "team": "B组", "consult_buyers": 5},
        {"shop": "s", "team": None, "consult_buyers": 1},
        {"shop": "s", "team": "A组", "consult_buyers": 9, "sales_amount": 800.0},
        {"shop": "t", "team": "A组", "consult_buyers": 99},  # another shop
    ]
    mtd = [{"shop": "s", "team": "A组", "sales_amount": 1800.0}, {"shop": "t", "team": "A组", "sales_amount": 1.0}]
    kpis = fake_kpis(
        {(("team", "day"), None, None): [], (("team",), day, day): [], (("team",), dt.date(2026, 11, 1), day): mtd}
    )
    kpis_period = fake_kpis(
        {(("team",), dt.date(2026, 11, 9), day): period, (("team",), dt.date(2026, 11, 1), day): mtd}
    )
    assert lb.collect_teams(kpis, "s", day, day).period == []  # one day: from the team × day table
    data = lb.collect_teams(kpis_period, "s", dt.date(2026, 11, 9), day)
    assert data.mtd == {"A组": mtd[0]}
    table = lb.teams_table(data, [Target("2026-11", "s", "team", "A组", "sales_amount", 3000.0)], "s", day)
    assert [r["team"] for r in table["rows"]] == ["A组", "B组", None]
    assert table["rows"][0]["sales_amount"] == 800.0 and table["rows"][1]["sales_amount"] is None
    assert set(table["rows"][0]) == {"team", *lb.COLUMNS}
    assert table["month"] == "2026-11" and table["elapsed_share"] == 0.5 and table["columns"] == list(lb.COLUMNS)
    (a,) = table["targets"][0]["targets"]
    assert (a["mtd"], a["expected_to_date"], a["completion"], a["gap"], a["on_track"]) == (
        1800.0,
        1500.0,
        0.6,
        -1200.0,
        True,
    )
