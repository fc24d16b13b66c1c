"""Provisional (未定) figures (issue #11.2) on the hand-made shop of tests/reports/two_days.py: the newest
row is 2026-11-11 11:01, so the conversion figures of the 10th (final on the 12th) and of the 11th (final on
the 13th) can still change; a message on the 13th makes both final."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest
from openpyxl import load_workbook
from typer.testing import CliRunner

from kefu import api
from kefu.cli.main import app
from kefu.metrics.provisional import period_end
from kefu.metrics.registry import AGENT_METRICS
from kefu.workspace import Workspace
from tests.reports.two_days import D11, add_late_message, build

runner = CliRunner()
SETTLING = ("converted_buyers", "inquiry_conversion", "next_day_paid_buyers", "next_day_conversion", "lost_buyers")


def kefu(*args) -> str:
    result = runner.invoke(app, [str(a) for a in args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.stdout


@pytest.fixture
def shop(tmp_path):
    return build(tmp_path), tmp_path


def test_data_until_is_the_newest_message_or_order_time(shop):
    ws, root = shop
    with Workspace.open(ws, read_only=True) as w:
        assert api.data_until(w.con, "s") == dt.datetime(2026, 11, 11, 11, 1)  # b1's payment, after the last message
        assert api.data_until(w.con) == dt.datetime(2026, 11, 11, 11, 1)
        assert api.data_until(w.con, "another shop") is None
    add_late_message(ws, root)
    with Workspace.open(ws, read_only=True) as w:
        assert api.data_until(w.con, "s") == dt.datetime(2026, 11, 13, 0, 0, 5)


def test_period_end_of_each_grouping():
    until = dt.datetime(2026, 11, 11, 11, 1)
    assert period_end({"day": "2026-11-10"}, None, until) == dt.date(2026, 11, 10)
    assert period_end({"week": "2026-W46"}, None, until) == dt.date(2026, 11, 15)  # Monday 9th .. Sunday 15th
    assert period_end({"week": "2026-W46"}, dt.date(2026, 11, 11), until) == dt.date(2026, 11, 11)  # --to cuts it
    assert period_end({"month": "2026-02"}, None, until) == dt.date(2026, 2, 28)
    assert period_end({"hour": 10}, None, until) == dt.date(2026, 11, 11)  # the whole range: to where the data ends
    assert period_end({"shop": "s"}, None, None) is None


def test_kpi_json_says_which_figures_are_provisional_until_when(shop):
    ws, root = shop
    rows = json.loads(kefu("kpi", ws, "--by", "agent,day", "--format", "json"))
    assert [list(r) for r in rows] == [["shop", "agent", "day", *(m.key for m in AGENT_METRICS), "provisional"]] * 2
    assert [(r["day"], r["provisional"]) for r in rows] == [
        ("2026-11-10", {k: "2026-11-12" for k in SETTLING}),
        ("2026-11-11", {k: "2026-11-13" for k in SETTLING}),
    ]
    [week] = json.loads(kefu("kpi", ws, "--by", "shop,week", "--format", "json"))
    assert week["provisional"] == {k: "2026-11-17" for k in SETTLING}  # the week ends on Sunday the 15th
    add_late_message(ws, root)
    rows = json.loads(kefu("kpi", ws, "--by", "agent,day", "--format", "json"))
    assert [(r["day"], r["provisional"]) for r in rows] == [
        ("2026-11-10", {}),
        ("2026-11-11", {}),
        ("2026-11-13", {k: "2026-11-15" for k in SETTLING}),
    ]
    assert (
        "provisional" not in kefu("kpi", ws, "--by", "agent,day", "--format", "csv").splitlines()[0]
    )  # one column per metric


def test_kpi_table_marks_provisional_figures(shop):
    ws, _ = shop
    out = kefu(
        "kpi", ws, "--by", "agent,day", "--metrics", "consult_buyers,inquiry_conversion,lost_buyers", "--lang", "en"
    )
    day11 = next(line for line in out.splitlines() if "2026-11-11" in line)
    assert "25.0% provisional" in day11 and "3 provisional" in day11 and "4 provisional" not in day11
    assert "final on 2026-11-12, final on 2026-11-13" in out.replace("\n", " ")


def test_daily_report_marks_provisional_figures_in_the_table_and_the_xlsx(shop):
    ws, root = shop
    out = kefu("report", "daily", ws, "--date", D11, "--xlsx", root / "日报.xlsx")
    conversion = next(line for line in out.splitlines() if "│ 询单→最终付款转化率" in line)
    assert "25.0% 未定" in conversion and "未定" not in next(line for line in out.splitlines() if "│ 回复率" in line)
    assert "2026-11-13 起为最终值" in out and "数据截至 2026-11-11 11:01:00" in out
    team = {r[0].value: [c.value for c in r] for r in load_workbook(root / "日报.xlsx")["团队"].iter_rows(min_row=4)}
    assert team["询单→最终付款转化率"][10] == "未定, 2026-11-13 起为最终值" and team["询单→最终付款转化率"][1] == 0.25
    assert team["询单流失人数"][10] == "未定, 2026-11-13 起为最终值" and team["回复率"][10] is None
    header = [c.value for c in load_workbook(root / "日报.xlsx")["客服"][1]]
    assert "询单→最终付款转化率 (未定)" in header and "回复率" in header

    add_late_message(ws, root)
    out = kefu("report", "daily", ws, "--date", D11, "--xlsx", root / "final.xlsx")
    assert "未定" not in out
    team = {r[0].value: [c.value for c in r] for r in load_workbook(root / "final.xlsx")["团队"].iter_rows(min_row=4)}
    assert team["询单→最终付款转化率"][10] is None


def row_html(page: str, table: str, metric: str) -> str:
    """The <tr data-metric=…> of a table in the page (the HTML is the app's own, one row per line)."""
    body = page[page.index(f'id="{table}"') :]
    return re.search(rf'<tr data-metric="{metric}"[^>]*>.*?</tr>', body, re.S).group(0)


def delta_classes(html: str) -> list[str]:
    return re.findall(r'<span class="delta ([a-z ]+)">', html)


def test_web_daily_report_never_colours_a_provisional_change_as_a_drop(shop):
    from fastapi.testclient import TestClient

    from kefu.users import add_user
    from kefu.web.app import create_app

    ws, _ = shop
    with Workspace.open(ws) as w:
        add_user(w.con, name="boss", role="admin", password="s3cret-pass")
    application = create_app(ws, secure_cookies=True)
    try:
        client = TestClient(application, base_url="https://testserver", follow_redirects=False)
        client.get("/login")
        assert (
            client.post(
                "/api/session",
                json={"name": "boss", "password": "s3cret-pass"},
                headers={"X-CSRF-Token": client.cookies.get("kefu_csrf")},
            ).status_code
            == 200
        )
        data = client.get("/api/reports/daily", params={"shop": "s", "date": D11}).json()
        assert (
            data["provisional"] == {k: "2026-11-13" for k in SETTLING} and data["data_until"] == "2026-11-11T11:01:00"
        )
        page = client.get("/reports/daily", params={"shop": "s", "date": D11}).text
        conversion = row_html(page, "team", "inquiry_conversion")  # 100 % on the 10th, 25 % on the 11th
        assert 'data-final-on="2026-11-13"' in conversion and ">未定</span>" in conversion and "−75.0 pp" in conversion
        assert delta_classes(conversion) == ["provisional", "provisional"]  # vs the 10th, vs last week: never "bad"
        assert delta_classes(row_html(page, "team", "lost_buyers"))[0] == "provisional"  # +3 lost: not yet a drop
        assert delta_classes(row_html(page, "team", "avg_response_s"))[0] == "bad"  # final: 66.25 s after 66 s is worse
        assert "未定" not in row_html(page, "team", "reply_rate")
        assert 'id="provisional-note"' in page and "2026-11-13 起为最终值" in page
        agents = page[page.index('id="agents"') :]
        assert re.search(r"询单→最终付款转化率 <span class=\"prov\"[^>]*>未定</span></th>", agents)
        cell = re.search(r'<td class="num" data-key="inquiry_conversion".*?</td>', agents, re.S).group(0)
        assert delta_classes(cell) == ["provisional"]
    finally:
        application.state.store.close()
