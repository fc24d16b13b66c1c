"""Team (组别) targets shown: month to date per team from the engine's team grouping, against the team's monthly
targets, on the overview, the leaderboard, the daily report (JSON, page, XLSX). Numbers worked out by hand."""

from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook

from kefu.ingest.pipeline import import_paths
from kefu.metrics.registry import BY_KEY
from kefu.users import add_user
from kefu.workspace import Workspace
from tests.web.conftest import PASSWORD, csrf, login
from tests.web.test_api import MESSAGES, ORDERS

# ann in 售前, bob in 售后 (see tests/web/test_api.py for the chats: ann answers b4 on 11-04 in 10 s, b3 on 11-10 in
# 120 s, b1 on 11-11 in 20 s and 100 s and sells o1 for 199.00; bob answers b2 on 11-11 in 30 s and sells nothing)
AGENTS = """\
agent,name,shop,team,role,employer,active
s:ann,安,s,售前,presales,in_house,true
s:bob,波,s,售后,presales,外包甲,true
"""
TARGETS = [
    {"month": "2026-11", "shop": "s", "scope": "team", "subject": "售前", "metric": "sales_amount", "value": 1000},
    {
        "month": "2026-11",
        "shop": "s",
        "scope": "team",
        "subject": "售前",
        "metric": "inquiry_conversion",
        "value": "30%",
    },
    {"month": "2026-11", "shop": "s", "scope": "team", "subject": "售后", "metric": "avg_response_s", "value": 25},
    {
        "month": "2026-10",
        "shop": "s",
        "scope": "team",
        "subject": "售后",
        "metric": "sales_amount",
        "value": 1,
    },  # another month
]


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    root = tmp_path_factory.mktemp("teams")
    data = root / "data"
    data.mkdir()
    for name, text in (("messages", MESSAGES), ("orders", ORDERS), ("agents", AGENTS)):
        (data / f"{name}.csv").write_text(text, encoding="utf-8")
    ws = Workspace.open(root / "ws", create=True)
    import_paths(ws, [data])
    add_user(ws.con, name="m", role="manager", password=PASSWORD, shops=["s"])
    add_user(ws.con, name="ann", role="agent", password=PASSWORD, shops=["s"], agent="s:ann")
    add_user(ws.con, name="v", role="vendor", password=PASSWORD, shops=["s"], employer="外包甲")
    ws.close()
    from kefu.web.app import create_app

    application = create_app(root / "ws")
    manager = login(application, "m")
    assert manager.post("/api/targets", json=TARGETS, headers=csrf(manager)).json() == {"saved": 4}
    yield application
    application.state.store.close()


@pytest.fixture(scope="module")
def manager(app):
    return login(app, "m")


def by_team(teams: list[dict]) -> dict:
    return {t["team"]: {**t, "by_metric": {r["metric"]: r for r in t["targets"]}} for t in teams}


def check_team_progress(teams: list[dict]) -> None:
    t = by_team(teams)
    assert list(t) == ["售前", "售后"]
    pre, post = t["售前"], t["售后"]
    # 售前 = ann: consultations b4, b3, b1; all three inquiries, one converted
    assert pre["figures"]["consult_buyers"] == 3 and pre["figures"]["sales_amount"] == 199.0
    assert pre["figures"]["inquiry_conversion"] == pytest.approx(1 / 3)
    # mean over the team's four answered questions (10, 120, 20, 100 s), not the mean of daily means (63.3 s)
    assert pre["figures"]["avg_response_s"] == pytest.approx(62.5)
    sales = pre["by_metric"]["sales_amount"]
    assert sales["mtd"] == 199.0 and sales["target"] == 1000.0 and sales["completion"] == pytest.approx(0.199)
    assert sales["expected_to_date"] == pytest.approx(1000 * 11 / 30) and sales["gap"] == pytest.approx(-801.0)
    assert sales["on_track"] is False
    conversion = pre["by_metric"]["inquiry_conversion"]
    assert (
        conversion["target"] == 0.3
        and conversion["on_track"] is True
        and conversion["gap"] == pytest.approx(1 / 3 - 0.3)
    )
    # 售后 = bob: one answer in 30 s against a target of 25 s (lower is better): behind by 5 s; October's target not shown
    response = post["by_metric"]["avg_response_s"]
    assert response["mtd"] == 30.0 and response["gap"] == pytest.approx(5.0) and response["on_track"] is False
    assert set(post["by_metric"]) == {"avg_response_s"} and post["figures"]["sales_amount"] == 0.0


def test_overview_shows_each_team_against_its_targets(manager):
    o = manager.get("/api/overview", params={"date": "2026-11-11"}).json()
    check_team_progress(o["teams"])
    page = manager.get("/", params={"date": "2026-11-11"}).text
    assert 'data-team="售前" data-metric="sales_amount"' in page and "¥199.00" in page


def test_daily_report_shows_the_gap_to_each_team_target(manager):
    report = manager.get("/api/reports/daily", params={"date": "2026-11-11"}).json()
    check_team_progress(report["teams"])
    page = manager.get("/reports/daily", params={"date": "2026-11-11"}).text
    assert 'id="team-targets"' in page and "−¥801.00" in page
    assert 'id="team-targets"' in manager.get("/reports/daily", params={"date": "2026-11-11", "print": "true"}).text
    book = load_workbook(io.BytesIO(manager.get("/reports/daily.xlsx", params={"date": "2026-11-11"}).content))
    rows = [[c.value for c in r] for r in book["组别"].iter_rows(min_row=2)]
    sales = next(r for r in rows if r[0] == "售前" and r[1] == "客服销售额")
    assert sales[2:5] == [199.0, 1000.0, pytest.approx(1000 * 11 / 30)] and sales[5] == pytest.approx(0.199)
    assert sales[6] == pytest.approx(-801.0) and sales[7] == "落后"
    response = next(r for r in rows if r[0] == "售后")
    assert response[1] == BY_KEY["avg_response_s"].zh and response[2:5] == [30.0, 25.0, 25.0]
    assert response[6] == pytest.approx(5.0) and response[7] == "落后"


def test_leaderboard_shows_teams_to_managers_only(app, manager):
    board = manager.get("/api/leaderboard", params={"date_from": "2026-11-11", "date_to": "2026-11-11"}).json()
    teams = {r["team"]: r for r in board["teams"]["rows"]}
    assert teams["售前"]["consult_buyers"] == 1 and teams["售前"]["sales_amount"] == 199.0  # b1 on the day
    assert teams["售后"]["consult_buyers"] == 1 and teams["售后"]["avg_response_s"] == 30.0
    check_team_progress(board["teams"]["targets"])
    week = manager.get("/api/leaderboard", params={"date_from": "2026-11-04", "date_to": "2026-11-11"}).json()
    assert {r["team"]: r["consult_buyers"] for r in week["teams"]["rows"]} == {"售前": 3, "售后": 1}
    assert (
        'id="team-board"'
        in manager.get("/leaderboard", params={"date_from": "2026-11-11", "date_to": "2026-11-11"}).text
    )
    for name in ("ann", "v"):  # team totals include other agents: not for agents and vendors
        assert login(app, name).get("/api/leaderboard").json()["teams"] is None


def test_team_targets_name_an_existing_team(manager):
    r = manager.post(
        "/api/targets",
        headers=csrf(manager),
        json=[
            {"month": "2026-11", "shop": "s", "scope": "team", "subject": "售中", "metric": "sales_amount", "value": 5},
            {
                "month": "2026-11",
                "shop": "s",
                "scope": "agent",
                "subject": "nobody",
                "metric": "sales_amount",
                "value": 5,
            },
            {
                "month": "2026-11",
                "shop": "s",
                "scope": "shop",
                "subject": "别的店",
                "metric": "sales_amount",
                "value": 5,
            },
        ],
    )
    assert r.status_code == 422
    problems = r.json()["detail"]
    assert any("no team '售中' in s (teams: 售前, 售后)" in p for p in problems)
    assert any("no agent account 's:nobody'" in p for p in problems) and any(
        "subject is the shop itself" in p for p in problems
    )
