"""The daily report: hand-computed changes, targets and spread; the XLSX read back with openpyxl."""

from __future__ import annotations

import datetime as dt

import pytest
from openpyxl import load_workbook

from kefu.reports.daily import build, peak_to_valley
from kefu.reports.xlsx import write_daily_xlsx
from kefu.targets import Target

DAY = dt.date(2026, 11, 11)


def rec(**kw):
    return {"consult_buyers": None, "reply_rate": None, "avg_response_s": None, "sales_amount": None, **kw}


@pytest.fixture
def report():
    data = {
        "team": (
            rec(shop="s", consult_buyers=100, reply_rate=0.9, sales_amount=5000.0),
            rec(shop="s", consult_buyers=80, reply_rate=0.95, sales_amount=4000.0),
            rec(shop="s", consult_buyers=120, reply_rate=0.9, sales_amount=None),
        ),
        "agents": (
            {
                "s:a": rec(consult_buyers=60, avg_response_s=30.0, sales_amount=3000.0),
                "s:b": rec(consult_buyers=40, avg_response_s=90.0, sales_amount=2000.0),
            },
            {"s:a": rec(consult_buyers=50, avg_response_s=40.0, sales_amount=1000.0)},
            {},
        ),
        "team_mtd": rec(consult_buyers=900, sales_amount=33000.0, reply_rate=0.93),
        "agents_mtd": {"s:a": rec(sales_amount=20000.0), "s:b": rec(sales_amount=13000.0)},
        "teams_mtd": {"售前": rec(sales_amount=33000.0, reply_rate=0.93), None: rec(sales_amount=0.0)},
    }
    targets = [
        Target("2026-11", "s", "shop", "s", "sales_amount", 100000.0),
        Target("2026-11", "s", "shop", "s", "reply_rate", 0.95),
        Target("2026-11", "s", "agent", "s:a", "sales_amount", 40000.0),
        Target("2026-10", "s", "shop", "s", "consult_buyers", 1.0),
        Target("2026-11", "s", "team", "售前", "sales_amount", 60000.0),
        Target("2026-11", "s", "team", "售前", "reply_rate", 0.9),
        Target("2026-11", "s", "team", "售后", "complaints", 4.0),  # a team with a target and no figures yet
        Target("2026-11", "other", "team", "售前", "sales_amount", 1.0),
    ]  # another shop's team
    names = {
        "s:a": {"name": "阿", "team": "售前", "employer": "in_house"},
        "s:b": {"name": "波", "team": "售前", "employer": "外包甲"},
    }
    return build("s", DAY, data, targets, names)


def row(report, key):
    return next(r for r in report.team if r["metric"] == key)


def test_team_changes_against_previous_day_and_last_week(report):
    c = row(report, "consult_buyers")
    assert (c["value"], c["vs_previous"], c["vs_last_week"]) == (100, 20, -20)
    assert row(report, "reply_rate")["vs_previous"] == pytest.approx(-0.05)
    assert row(report, "sales_amount")["vs_last_week"] is None  # undefined stays undefined, not 0


def test_gap_to_monthly_target(report):
    s = row(report, "sales_amount")
    assert s["target"] == 100000.0 and s["completion"] == pytest.approx(0.33) and s["gap"] == pytest.approx(-67000.0)
    # 11 of 30 days gone: 36,667 expected by now, 33,000 done -> behind
    assert s["on_track"] is False
    assert row(report, "consult_buyers")["target"] is None  # October's target does not count in November
    a = next(x for x in report.agents if x["agent"] == "s:a")
    assert a["target_completion"] == pytest.approx(0.5) and a["target_on_track"] is True  # 20,000 ≥ 40,000 × 11/30


def test_agents_sorted_by_sales_with_changes(report):
    assert [a["name"] for a in report.agents] == ["阿", "波"]
    a = report.agents[0]["figures"]
    assert a["consult_buyers"]["vs_previous"] == 10 and a["avg_response_s"]["vs_previous"] == -10.0
    assert report.agents[1]["figures"]["consult_buyers"]["vs_previous"] is None  # b did not work the previous day


def test_peak_to_valley_respects_the_metric_direction(report):
    spread = {s["metric"]: s for s in report.spread}
    assert spread["avg_response_s"] == {
        "metric": "avg_response_s",
        "peak": 30.0,
        "peak_agent": "s:a",
        "valley": 90.0,
        "valley_agent": "s:b",
        "gap": 60.0,
    }
    assert spread["sales_amount"]["peak_agent"] == "s:a" and spread["sales_amount"]["gap"] == 1000.0
    assert peak_to_valley("reply_rate", {"x": None})["gap"] is None


def test_xlsx_cells_and_native_charts(report, tmp_path):
    path = tmp_path / "日报.xlsx"
    write_daily_xlsx(report, path)
    wb = load_workbook(path)
    assert wb.sheetnames == ["团队", "客服", "组别", "峰谷差", "图表"]
    team = wb["团队"]
    rows = {r[0].value: r for r in team.iter_rows(min_row=4)}
    sales = rows["客服销售额"]
    assert [c.value for c in sales[1:3]] == [5000.0, 4000.0] and sales[3].value == 1000.0
    assert sales[7].value == 100000.0 and sales[8].value == pytest.approx(0.33) and sales[8].number_format == "0.0%"
    assert rows["回复率"][3].value == pytest.approx(-5.0)  # percentage points
    agents = wb["客服"]
    assert [agents.cell(r, 1).value for r in (2, 3)] == ["阿", "波"]
    assert agents.cell(1, 4).value == "咨询人数" and agents.cell(2, 4).value == 60
    assert len(wb["图表"]._charts) == 2  # native Excel charts (read back by openpyxl)
    assert wb["峰谷差"].cell(2, 1).value == "咨询人数" and wb["峰谷差"].cell(2, 6).value == 20


def test_team_targets_month_to_date_and_gap(report):
    teams = {t["team"]: t for t in report.teams}
    assert list(teams) == ["售前", "售后", None]  # by name; agents without a team last
    reply, sales = teams["售前"]["targets"]  # in the registry's order
    assert (reply["metric"], sales["metric"]) == ("reply_rate", "sales_amount")
    # 33,000 of 60,000 after 11 of 30 days: 55% done, 22,000 expected by now -> on track; 27,000 still to go
    assert sales["completion"] == pytest.approx(0.55) and sales["expected_to_date"] == pytest.approx(22000.0)
    assert sales["gap"] == pytest.approx(-27000.0) and sales["on_track"] is True
    assert (
        reply["gap"] == pytest.approx(0.03) and reply["on_track"] is True and reply["expected_to_date"] == 0.9
    )  # rates as they are
    nothing = teams["售后"]["targets"][0]
    assert nothing["mtd"] is None and nothing["gap"] is None and nothing["on_track"] is None  # no figures: no verdict
    assert teams[None]["targets"] == [] and teams[None]["figures"]["sales_amount"] == 0.0


def test_xlsx_team_sheet(report, tmp_path):
    path = tmp_path / "日报.xlsx"
    write_daily_xlsx(report, path)
    rows = [[c.value for c in r] for r in load_workbook(path)["组别"].iter_rows(min_row=2)]
    assert rows[0][:2] == ["售前", "回复率"] and rows[0][6] == pytest.approx(
        3.0
    )  # the gap of a rate in percentage points
    assert rows[1][:8] == ["售前", "客服销售额", 33000.0, 60000.0, 22000.0, 0.55, -27000.0, "达标"]
    assert rows[2][:4] == ["售后", "投诉数", None, 4.0]
    assert rows[3][:3] == ["未分组", "客服销售额", 0.0]


def test_spread_of_a_selling_metric_spans_the_presales_agents_only():
    """A refund agent's ¥0 is not the valley of 客服销售额 (issue 11.3); 平响 still spans every role."""
    day = {
        "s:a": rec(avg_response_s=30.0, sales_amount=3000.0),
        "s:b": rec(avg_response_s=90.0, sales_amount=2000.0),
        "s:r": rec(avg_response_s=20.0, sales_amount=0.0),
    }
    data = {
        "team": (rec(), rec(), rec()),
        "agents": (day, {}, {}),
        "team_mtd": rec(),
        "agents_mtd": {},
        "teams_mtd": {},
    }
    names = {"s:a": {"role": "presales"}, "s:b": {"role": "presales"}, "s:r": {"role": "refund"}}
    spread = {s["metric"]: s for s in build("s", DAY, data, [], names).spread}
    assert (spread["sales_amount"]["valley_agent"], spread["sales_amount"]["gap"]) == ("s:b", 1000.0)
    assert (spread["avg_response_s"]["peak_agent"], spread["avg_response_s"]["gap"]) == ("s:r", 70.0)
