"""The leaderboard and the overview in real Chromium at a desktop (1440 px) and a phone (390 px) width: names,
teams and 归属 on one line, the wide table scrolling inside its card, agents ranked within their role with the
peak and valley named, the month elapsed labelled, the chart described in text. Screenshots go to test-artifacts/."""

from __future__ import annotations

import datetime as dt

import pytest

from kefu import api
from kefu.reports import leaderboard as lb
from kefu.web.formatting import fmt
from tests.web.conftest import PASSWORD, SHOP
from tests.web.live import needs_chromium, serving
from tests.web.test_browser import ARTIFACTS
from tests.web.test_pay_web import pay_app  # noqa: F401  (the hand-made pay month, for the payroll's layout)

pytestmark = needs_chromium

WIDTHS = {"desktop": (1440, 900), "phone": (390, 844)}


@pytest.fixture(params=list(WIDTHS))
def page(request, browser, server):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    width, height = WIDTHS[request.param]
    context = browser.new_context(viewport={"width": width, "height": height}, base_url=server)
    pg = context.new_page()
    pg.goto("/login")
    pg.fill("input[name=name]", "小萍")
    pg.fill("input[name=password]", PASSWORD)
    pg.click("button[type=submit]")
    pg.wait_for_url(server + "/")
    pg.size = request.param
    yield pg
    context.close()


def shot(page, name):
    page.screenshot(path=str(ARTIFACTS / f"{name}-{page.size}.png"), full_page=True)


def day_records(app, day):
    store = app.state.store
    with store.lock:
        return [r for r in api.kpis(store.ws, ["agent", "day"], date_from=day, date_to=day) if r["shop"] == SHOP]


# How many lines the text of each cell takes (a cell whose text wraps has more than one line box).
LINES = """els => els.map(td => { const r = document.createRange(); r.selectNodeContents(td);
  return new Set([...r.getClientRects()].map(x => Math.round(x.top))).size; })"""


def test_leaderboard_layout_role_ranking_and_named_ends(page, app, world):
    page.goto(f"/leaderboard?date_from={world.day}&date_to={world.day}&sort=avg_response_s")
    table = page.locator("#leaderboard-presales")
    table.wait_for()
    shot(page, "leaderboard")
    # names, teams and 归属 are one line each
    for column in (2, 3, 4):
        lines = table.locator(f"tbody td:nth-child({column})").evaluate_all(LINES)
        assert lines and set(lines) == {1}, (column, lines)
    # the table keeps its width and scrolls inside its card, which stays within the window
    box = page.locator(".board-scroll").first
    inner, outer = box.evaluate("e => [e.scrollWidth, e.clientWidth]")
    assert inner > outer
    assert (
        page.locator("#board > section.card").first.evaluate("e => e.getBoundingClientRect().right")
        <= page.viewport_size["width"] + 1
    )
    box.evaluate("e => { e.scrollLeft = e.scrollWidth; }")
    last = table.locator("thead th").last
    right, box_right = (
        last.evaluate("e => e.getBoundingClientRect().right"),
        box.evaluate("e => e.getBoundingClientRect().right"),
    )
    assert right <= box_right + 1  # the right-hand column is reachable, not cut off
    assert last.is_visible()

    # ranked within 售前, best (lowest) 平响 first; the peak and valley agents are named on the page
    roster = app.state.store.agents()
    pre = [
        r
        for r in day_records(app, world.day)
        if roster[r["agent"]]["role"] == "presales" and r["avg_response_s"] is not None
    ]
    best = min(pre, key=lambda r: (r["avg_response_s"], r["agent"]))
    worst = max(pre, key=lambda r: (r["avg_response_s"], r["agent"]))
    assert table.locator("tbody tr").first.get_attribute("data-agent") == best["agent"]
    shown = [
        float(v)
        for v in table.locator("tbody td[data-key='avg_response_s']").evaluate_all(
            "els => els.map(e => e.dataset.value)"
        )
        if v
    ]
    assert shown == sorted(shown) and len(shown) == len(pre)
    line = page.locator(".peak-valley[data-role='presales']")
    assert line.locator(".peak-name").inner_text() == roster[best["agent"]]["name"]
    assert line.locator(".valley-name").inner_text() == roster[worst["agent"]]["name"]
    assert fmt("avg_response_s", worst["avg_response_s"]) in line.inner_text()
    assert table.locator("th[data-key='avg_response_s']").get_attribute("aria-sort") == "ascending"
    # after-sales agents are ranked among themselves, on a table without sales
    after = page.locator("#leaderboard-aftersales")
    assert (
        after.locator("th[data-key='sales_amount']").count() == 0
        and after.locator("th[data-key='avg_response_s']").count() == 1
    )
    assert after.locator("tbody tr").first.locator("td.rank").inner_text() == "1"

    # sorting by 答问比 shows it (HTMX swaps the board)
    table.locator("th[data-key='answer_ratio'] a").click()
    page.wait_for_selector("#leaderboard-presales th.sorted[data-key='answer_ratio']")
    ratios = [
        float(v)
        for v in page.locator("#leaderboard-presales tbody td[data-key='answer_ratio']").evaluate_all(
            "els => els.map(e => e.dataset.value)"
        )
        if v
    ]
    assert ratios == sorted(ratios, reverse=True) and page.locator("#leaderboard-presales th.sorted").is_visible()
    shot(page, "leaderboard-answer-ratio")


def test_leaderboard_role_filter(page, world):
    page.goto(f"/leaderboard?date_from={world.day}&date_to={world.day}")
    page.select_option("select[name=role]", "aftersales")
    page.click(".filters button.primary")  # HTMX swaps the board and pushes the URL
    page.wait_for_url("**role=aftersales**")
    page.wait_for_selector("#leaderboard-presales", state="detached")
    assert page.locator("#leaderboard-aftersales").count() == 1
    assert set(page.locator("#leaderboard tbody tr td:nth-child(3)").all_inner_texts()) == {"售后组"}
    shot(page, "leaderboard-aftersales")


def test_overview_cards_month_elapsed_and_chart_text(page, app, world):
    page.goto(f"/?date={world.day}")
    page.wait_for_selector("body[data-charts-ready='1']")
    shot(page, "overview")
    store = app.state.store
    with store.lock:
        team = next(
            r for r in api.kpis(store.ws, ["shop", "day"], date_from=world.day, date_to=world.day) if r["shop"] == SHOP
        )
    for key in ("consult_buyers", "avg_response_s", "inquiry_conversion"):
        assert page.locator(f".kpi[data-metric='{key}'] .value").inner_text() == fmt(key, team[key])
    # the last day of the simulated data: its conversion window is still open
    card = page.locator(".kpi[data-metric='inquiry_conversion']")
    assert card.get_attribute("data-provisional") == (world.day + dt.timedelta(days=2)).isoformat()
    assert "未定" in card.inner_text() and card.locator(".delta.bad").count() == 0
    pct = "%.0f%%" % (lb.month_elapsed(world.day) * 100)
    assert page.get_by_text(f"本月已过 {pct}").first.is_visible()
    chart = page.locator("[data-chart='sales-trend']")
    assert chart.get_attribute("role") == "img" and "客服销售额" in chart.get_attribute("aria-label")
    page.locator("#sales-trend-table summary").click()
    row = page.locator(f"#sales-trend-table tr[data-day='{world.day}'] td")
    assert row.nth(1).inner_text() == fmt("sales_amount", team["sales_amount"])
    shot(page, "overview-chart-data")


@pytest.mark.parametrize("width", [1440, 390])
def test_payroll_names_do_not_wrap_and_the_table_scrolls_in_its_card(browser, pay_app, width):  # noqa: F811 (the fixture)
    from tests.pay.month import MONTH

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with serving(pay_app) as url:
        context = browser.new_context(viewport={"width": width, "height": 900}, base_url=url)
        pg = context.new_page()
        pg.goto("/login")
        pg.fill("input[name=name]", "主管")
        pg.fill("input[name=password]", PASSWORD)
        pg.click("button[type=submit]")
        pg.wait_for_load_state()
        pg.goto(f"/pay?month={MONTH}")
        table = pg.locator("#payroll")
        table.wait_for()
        pg.screenshot(path=str(ARTIFACTS / f"payroll-{width}.png"), full_page=True)
        for column in (1, 2, 3):
            lines = table.locator(f"tbody td:nth-child({column})").evaluate_all(LINES)
            assert lines and set(lines) == {1}, (column, lines)
        box = pg.locator("#payroll").locator("xpath=..")
        box.evaluate("e => { e.scrollLeft = e.scrollWidth; }")
        right = table.locator("thead th").last.evaluate("e => e.getBoundingClientRect().right")
        assert right <= box.evaluate("e => e.getBoundingClientRect().right") + 1
        context.close()
