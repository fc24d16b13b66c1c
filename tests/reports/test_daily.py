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
        "team": (rec(shop="s", consult_buyers=100, reply_rate=0.9, sales_amount=5000.0),
                 rec(shop="s", consult_buyers=80, reply_rate=0.95, sales_amount=4000.0),
                 rec(shop="s", consult_buyers=120, reply_rate=0.9, sales_amount=None)),
        "agents": ({"s:a": rec(consult_buyers=60, avg_response_s=30.0, sales_amount=3000.0),
                    "s:b": rec(consult_buyers=40, avg_response_s=90.0, sales_amount=2000.0)},
                   {"s:a": rec(consult_buyers=50, avg_response_s=40.0, sales_amount=1000.0)},
                   {}),
        "team_mtd": rec(consult_buyers=900, sales_amount=33000.0, reply_rate=0.93),
        "agents_mtd": {"s:a": rec(sales_amount=20000.0), "s:b": rec(sales_amount=13000.0)},
    }
    targets = [Target("2026-11", "s", "shop", "s", "sales_amount", 100000.0),
               Target("2026-11", "s", "shop", "s", "reply_rate", 0.95),
               Target("2026-11", "s", "agent", "s:a", "sales_amount", 40000.0),
               Target("2026-10", "s", "shop", "s", "consult_buyers", 1.0)]
    names = {"s:a": {"name": "阿", "team": "售前", "employer": "in_house"}, "s:b": {"name": "波", "team": "售前", "employer": "外包甲"}}
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
    assert spread["avg_response_s"] == {"metric": "avg_response_s", "peak": 30.0, "peak_agent": "s:a", "valley": 90.0,
                                        "valley_agent": "s:b", "gap": 60.0}
    assert spread["sales_amount"]["peak_agent"] == "s:a" and spread["sales_amount"]["gap"] == 1000.0
    assert peak_to_valley("reply_rate", {"x": None}) ["gap"] is None


def test_xlsx_cells_and_native_charts(report, tmp_path):
    path = tmp_path / "日报.xlsx"
    write_daily_xlsx(report, path)
    wb = load_workbook(path)
    assert wb.sheetnames == ["团队", "客服", "峰谷差", "图表"]
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
