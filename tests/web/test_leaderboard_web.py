"""The leaderboard, overview and agent page of a hand-made shop with pre-sales, after-sales and refund agents:
ranking within a role, provisional (未定) figures, 答问比 / 慢响应人数, deltas and month targets, 分:秒, labels.
Every number is worked out by hand from the chats below."""

from __future__ import annotations

import re

import pytest

from kefu.ingest.pipeline import import_paths
from kefu.targets import Target, save
from kefu.users import add_user
from kefu.web.formatting import clock, fmt, fmt_delta, tone
from kefu.workspace import Workspace
from tests.web.conftest import PASSWORD, login
from tests.web.test_api import MESSAGES, ORDERS

# ann and bob sell (see tests/web/test_api.py: ann answers b4 on 11-04 in 10 s, b3 on 11-10 in 120 s, b1 on 11-11 in
# 20 s and 100 s and sells o1 for 199.00; bob answers b2 on 11-11 in 30 s). cat handles after-sales, dan refunds:
# both answer faster than anyone and sell nothing.
EXTRA = """\
2026-11-10 11:00:00,s,b6,s:cat,buyer,什么时候退款
2026-11-10 11:00:40,s,b6,s:cat,agent,已经处理了
2026-11-11 11:00:00,s,b5,s:cat,buyer,怎么退货
2026-11-11 11:00:05,s,b5,s:cat,agent,"亲,申请退货即可"
2026-11-11 11:00:06,s,b5,s:cat,agent,地址发您
2026-11-11 12:00:00,s,b7,s:dan,buyer,退款到哪了
2026-11-11 12:00:08,s,b7,s:dan,agent,已原路退回
"""
AGENTS = """\
agent,name,shop,team,role,employer,active
s:ann,安,s,售前一组,presales,in_house,true
s:bob,波,s,售前二组,presales,外包甲,true
s:cat,猫,s,售后组,aftersales,in_house,true
s:dan,丹,s,退款组,refund,in_house,true
"""
DAY = {"date_from": "2026-11-11", "date_to": "2026-11-11"}


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    root = tmp_path_factory.mktemp("roles")
    data = root / "data"
    data.mkdir()
    for name, text in (("messages", MESSAGES + EXTRA), ("orders", ORDERS), ("agents", AGENTS)):
        (data / f"{name}.csv").write_text(text, encoding="utf-8")
    ws = Workspace.open(root / "ws", create=True)
    import_paths(ws, [data])
    add_user(ws.con, name="m", role="manager", password=PASSWORD, shops=["s"])
    save(ws.con, [Target("2026-11", "s", "agent", "s:ann", "sales_amount", 1000.0)])
    ws.close()
    from kefu.web.app import create_app

    application = create_app(root / "ws")
    yield application
    application.state.store.close()


@pytest.fixture(scope="module")
def manager(app):
    return login(app, "m")


def groups(board: dict) -> dict:
    return {g["role"]: g for g in board["groups"]}


def test_agents_are_ranked_within_their_role(manager):
    board = manager.get("/api/leaderboard", params={**DAY, "sort": "avg_response_s"}).json()
    g = groups(board)
    assert list(g) == ["presales", "aftersales", "refund"]
    # 售前: bob 30 s before ann 60 s; cat (5 s) and dan (8 s), faster than both, are ranked in their own roles
    assert [(r["agent"], r["rank"]) for r in g["presales"]["rows"]] == [("s:bob", 1), ("s:ann", 2)]
    assert [(r["agent"], r["rank"], r["role"]) for r in g["aftersales"]["rows"]] == [("s:cat", 1, "aftersales")]
    assert [(r["agent"], r["rank"]) for r in g["refund"]["rows"]] == [("s:dan", 1)]
    assert [r["agent"] for r in board["rows"]] == ["s:bob", "s:ann", "s:cat", "s:dan"]
    # the gap of 平响 within 售前 is 60 − 30 (across roles it would have been 60 − 5 with cat as the peak)
    assert (
        board["spread"]["avg_response_s"]["peak_agent"] == "s:bob" and board["spread"]["avg_response_s"]["gap"] == 30.0
    )
    assert g["presales"]["spread"]["avg_response_s"]["valley_name"] == "安"


def test_sales_are_not_shown_for_after_sales_and_refunds(manager):
    board = manager.get("/api/leaderboard", params=DAY).json()  # sorted by 客服销售额
    g = groups(board)
    assert g["presales"]["sort"] == "sales_amount"
    assert g["presales"]["spread"]["sales_amount"]["valley_agent"] == "s:bob"  # ¥0 of bob, not of a refund agent
    for role in ("aftersales", "refund"):
        assert "sales_amount" not in g[role]["columns"] and "inquiry_conversion" not in g[role]["columns"]
        assert g[role]["sort"] == "avg_response_s" and "avg_response_s" in g[role]["columns"]
    page = manager.get("/leaderboard", params=DAY).text
    aftersales = page.split('id="leaderboard-aftersales"')[1].split("</table>")[0]
    assert 'data-key="sales_amount"' not in aftersales and 'data-key="avg_response_s"' in aftersales
    assert "客服销售额不适用于售后" in page


def test_role_and_team_filters(manager):
    refund = manager.get("/api/leaderboard", params={**DAY, "role": "refund"}).json()
    assert [r["agent"] for r in refund["rows"]] == ["s:dan"] and refund["role"] == "refund"
    team = manager.get("/api/leaderboard", params={**DAY, "team": "售前一组"}).json()
    assert [r["agent"] for r in team["rows"]] == ["s:ann"]
    assert team["team_names"] == ["售前一组", "售前二组", "售后组", "退款组"] and team["roles"] == [
        "presales",
        "aftersales",
        "refund",
    ]
    bad = manager.get("/api/leaderboard", params={**DAY, "team": "售中"})
    assert bad.status_code == 422 and "售中" in bad.json()["detail"]
    assert manager.get("/api/leaderboard", params={**DAY, "role": "boss"}).status_code == 422
    page = manager.get("/leaderboard", params={**DAY, "role": "refund"}).text
    assert 'id="leaderboard-refund"' in page and 'id="leaderboard-presales"' not in page


def test_answer_ratio_and_slow_buyers_are_columns_and_the_sorted_column_is_shown(manager):
    board = manager.get("/api/leaderboard", params={**DAY, "sort": "answer_ratio"}).json()
    assert {"answer_ratio", "slow_response_buyers"} <= set(board["columns"])
    cat = next(r for r in board["rows"] if r["agent"] == "s:cat")
    assert cat["answer_ratio"] == 2.0 and cat["slow_response_buyers"] == 0  # two replies to one buyer message
    ann = next(r for r in board["rows"] if r["agent"] == "s:ann")
    assert ann["answer_ratio"] == pytest.approx(3 / 3) and ann["slow_response_buyers"] == 1  # b1 waited 100 s
    page = manager.get("/leaderboard", params={**DAY, "sort": "answer_ratio"}).text
    assert 'data-key="answer_ratio" title=' in page and "答问比" in page and "慢响应人数" in page
    # a metric outside the usual columns is added when it is the one ranked by
    questions = manager.get("/api/leaderboard", params={**DAY, "sort": "questions"}).json()
    assert questions["columns"][-1] == "questions"


def test_deltas_and_month_target_per_agent(manager):
    board = manager.get("/api/leaderboard", params=DAY).json()
    ann = next(r for r in board["rows"] if r["agent"] == "s:ann")
    # 11-11: ¥199.00, 60 s; 11-10: ¥0, 120 s; 11-04: ¥0, 10 s
    assert ann["vs_previous"]["sales_amount"] == 199.0 and ann["vs_last_week"]["sales_amount"] == 199.0
    assert ann["vs_previous"]["avg_response_s"] == -60.0 and ann["vs_last_week"]["avg_response_s"] == 50.0
    bob = next(r for r in board["rows"] if r["agent"] == "s:bob")
    assert bob["vs_previous"]["sales_amount"] is None  # no figures on 11-10
    target = ann["month_target"]
    assert target["target"] == 1000.0 and target["actual"] == 199.0 and target["completion"] == pytest.approx(0.199)
    assert target["on_track"] is False and bob["month_target"] is None
    assert board["comparison"] == {"previous": ["2026-11-10", "2026-11-10"], "last_week": ["2026-11-04", "2026-11-04"]}
    page = manager.get("/leaderboard", params=DAY).text
    row = page.split('data-agent="s:ann"')[1].split("</tr>")[0]
    assert '<td class="num" data-cmp="previous" data-value="199.0"><span class="delta good">+¥199.00</span>' in row
    assert 'data-cmp="month_target" data-value="0.199"' in row and "20%" in row
    assert "较前日" in page and "较上周同日" in page and "月目标" in page


def test_peak_and_valley_agents_are_named_on_the_page(manager):
    page = manager.get("/leaderboard", params={**DAY, "sort": "avg_response_s"}).text
    line = page.split('class="peak-valley" data-role="presales"')[1].split("</p>")[0]
    assert '<b class="peak-name">波</b> 30.0 秒' in line and '<b class="valley-name">安</b> 1:00' in line
    valley_row = page.split('id="leaderboard-presales"')[1].split('class="ends valley"')[1].split("</tr>")[0]
    assert 'data-key="avg_response_s" data-agent="s:ann">1:00<small>安</small>' in valley_row


def test_sorted_column_has_aria_sort(manager):
    page = manager.get("/leaderboard", params={**DAY, "sort": "avg_response_s"}).text
    sorted_th = re.findall(r'<th class="num sortable sorted" data-key="(\w+)"[^>]*aria-sort="(\w+)"', page)
    assert ("avg_response_s", "ascending") in sorted_th
    desc = manager.get("/leaderboard", params={**DAY, "sort": "sales_amount"}).text
    assert re.search(r'data-key="sales_amount"[^>]*aria-sort="descending"', desc)


def test_conversion_of_the_last_days_is_provisional(manager):
    # the newest row is o9 paid 2026-11-11 20:01: the conversion window of 11-11 runs to the end of 11-12
    board = manager.get("/api/leaderboard", params=DAY).json()
    assert board["provisional"] == {"inquiry_conversion": "2026-11-13", "lost_buyers": "2026-11-13"}
    old = manager.get("/api/leaderboard", params={"date_from": "2026-11-04", "date_to": "2026-11-04"}).json()
    assert old["provisional"] == {}
    overview = manager.get("/api/overview", params={"date": "2026-11-11"}).json()
    assert overview["provisional"] == {"inquiry_conversion": "2026-11-13", "lost_buyers": "2026-11-13"}
    page = manager.get("/", params={"date": "2026-11-11"}).text
    card = page.split('data-metric="inquiry_conversion" data-provisional="2026-11-13">')[1].split('<div class="card')[0]
    assert "未定" in card and "2026-11-13 起为最终值" in card and "delta bad" not in card and "delta good" not in card
    days = {r["day"]: r for r in manager.get("/api/agents/s:ann/kpis").json()}
    assert days["2026-11-11"]["provisional"]["inquiry_conversion"] == "2026-11-13"
    assert days["2026-11-10"]["provisional"]["lost_buyers"] == "2026-11-12" and days["2026-11-04"]["provisional"] == {}
    agent = manager.get("/agents/s:ann").text
    row = agent.split('<tr data-day="2026-11-11">')[1].split("</tr>")[0]
    assert 'data-key="inquiry_conversion" data-value="1.0" data-provisional="2026-11-13"' in row
    assert "data-provisional" not in agent.split('<tr data-day="2026-11-04">')[1].split("</tr>")[0]


def test_a_provisional_figure_is_never_coloured_as_a_drop():
    assert tone("inquiry_conversion", -0.2) == "bad"
    assert tone("inquiry_conversion", -0.2, provisional=True) == "provisional"
    assert tone("lost_buyers", 3, True) == "provisional" and tone("avg_response_s", 5.0) == "bad"


def test_agent_page_shows_its_roles_metrics_and_answer_ratio(manager):
    ann = manager.get("/agents/s:ann").text
    head = ann.split('id="agent-days"')[1].split("</thead>")[0]
    assert "答问比" in head and "慢响应人数" in head and "客服销售额" in head
    assert "明细: " not in ann and "点击数字查看背后的明细" in ann
    cat = manager.get("/agents/s:cat").text
    head = cat.split('id="agent-days"')[1].split("</thead>")[0]
    assert "答问比" in head and "客服销售额" not in head and "询单→最终付款转化率" not in head
    assert 'data-metric="avg_response_s"' in cat  # the trend of an after-sales agent defaults to 平响
    assert 'role="img" aria-label="趋势: 平均响应时间(平响)' in cat and 'id="agent-trend-table"' in cat
    row = cat.split('<tr data-day="2026-11-11">')[1].split("</tr>")[0]
    assert 'data-key="answer_ratio" data-value="2.0"' in row and 'data-key="slow_response_buyers" data-value="0"' in row


def test_month_elapsed_is_labelled(manager):
    page = manager.get("/", params={"date": "2026-11-11"}).text
    assert "本月已过 37%" in page  # 11 of 30 days
    assert "本月已过 37%" in manager.get("/leaderboard", params=DAY).text
    assert "37% of the month gone" in manager.get("/", params={"date": "2026-11-11", "lang": "en"}).text


def test_overview_chart_has_a_text_alternative(manager):
    page = manager.get("/", params={"date": "2026-11-11"}).text
    assert 'data-chart="sales-trend" role="img" aria-label="趋势: 客服销售额, 静默销售额, 咨询人数' in page
    table = page.split('id="sales-trend-table"')[1].split("</details>")[0]
    assert (
        '<tr data-day="2026-11-11"><td>2026-11-11</td><td class="num">¥199.00</td><td class="num">¥50.00</td>' in table
    )


@pytest.mark.parametrize(
    "seconds, zh, en",
    [
        (66.3, "1:06", "1:06"),
        (59.4, "59.4 秒", "59.4 s"),
        (59.6, "1:00", "1:00"),
        (120.0, "2:00", "2:00"),
        (3725.0, "1:02:05", "1:02:05"),
        (5.0, "5.0 秒", "5.0 s"),
    ],
)
def test_times_over_a_minute_are_minutes_and_seconds(seconds, zh, en):
    assert fmt("avg_response_s", seconds, "zh") == zh and fmt("avg_response_s", seconds, "en") == en


def test_a_change_of_more_than_a_minute_reads_as_minutes():
    assert fmt_delta("avg_response_s", -66.3) == "−1:06" and fmt_delta("avg_response_s", 50.0) == "+50.0 秒"
    assert clock(3600) == "1:00:00"


def test_the_provisional_note_names_only_the_columns_shown(manager):
    pre = manager.get("/leaderboard", params={**DAY, "role": "presales"}).text
    note = pre.split('id="provisional-note"')[1].split("</p>")[0]
    assert "询单→最终付款转化率 (2026-11-13 起为最终值)" in note and "询单流失人数" in note
    assert 'id="provisional-note"' not in manager.get("/leaderboard", params={**DAY, "role": "refund"}).text
