"""Real Chromium at a phone's 390 px and a desktop's 1440 px: no page is wider than the screen for any role, the menu
opens on a phone, and the loss list pages and filters. Screenshots go to test-artifacts/web/."""

from __future__ import annotations

import datetime as dt
from urllib.parse import quote

import pytest

from tests.web.conftest import PASSWORD, SHOP
from tests.web.live import needs_chromium
from tests.web.test_browser import ARTIFACTS, shot

pytestmark = needs_chromium

PHONE, DESKTOP = {"width": 390, "height": 844}, {"width": 1440, "height": 900}
USERS = {"admin": "boss", "manager": "小萍", "qc": "质检", "agent": "agent_user", "vendor": "vendor_user"}


def logged_in(browser, server, name: str, viewport: dict):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport=viewport, base_url=server)
    page = context.new_page()
    page.goto("/login")
    page.fill("input[name=name]", name)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()
    return page


def every_page(world) -> list[str]:
    own, day = quote(world.own, safe=""), world.day
    return [
        "/",
        "/leaderboard",
        f"/agents/{own}",
        f"/agents/{own}/days/{day}",
        "/chats",
        f"/chats?agent={own}&date={day}",
        "/heatmap",
        "/losses",
        "/reports/daily",
        "/targets",
        "/users",
        "/account/password",
        "/qc",
        "/qc/rules",
        "/qc/ledger",
        f"/qc/feedback/{own}",
        "/pay",
        "/pay/settlement",
        "/pay/schemes",
    ]


@pytest.mark.parametrize("role", USERS)
def test_no_page_is_wider_than_a_phone(browser, server, world, role):
    page = logged_in(browser, server, USERS[role], PHONE)
    too_wide = {}
    for url in every_page(world):  # 403 and 404 pages too: they must fit as well
        page.goto(url)
        page.wait_for_load_state("networkidle")
        width = page.evaluate("document.documentElement.scrollWidth")
        if width > PHONE["width"]:
            too_wide[url] = width
    shot(page, f"phone-{role}-last")
    page.context.close()
    assert too_wide == {}


def test_the_menu_opens_on_a_phone(browser, server):
    page = logged_in(browser, server, "小萍", PHONE)
    nav, toggle = page.locator(".topbar nav"), page.locator(".menu-toggle")
    assert toggle.is_visible() and not nav.is_visible() and toggle.get_attribute("aria-expanded") == "false"
    toggle.click()
    assert toggle.get_attribute("aria-expanded") == "true" and nav.is_visible()
    shot(page, "phone-menu-open")
    page.locator(".topbar nav a[href='/losses']").click()
    page.wait_for_selector("#lost")
    assert page.url.endswith("/losses")
    page.locator(".menu-toggle").click()
    page.locator(".menu-toggle").click()
    assert not page.locator(".topbar nav").is_visible()  # and closes again
    page.context.close()


def test_the_menu_button_is_hidden_on_a_desktop(browser, server):
    page = logged_in(browser, server, "小萍", DESKTOP)
    assert not page.locator(".menu-toggle").is_visible() and page.locator(".topbar nav a[href='/losses']").is_visible()
    page.context.close()


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_loss_list_pages_and_filters(browser, server, app, world, viewport):
    store = app.state.store
    team = store.agents()[world.own]["team"]
    first = world.day - dt.timedelta(days=1)
    expected = [r for r in store.lost(SHOP, first, world.day).itertuples() if store.agents()[r.agent]["team"] == team]
    assert len(expected) > 20, "the simulated team should lose more than a page of buyers in two days"
    page = logged_in(browser, server, "小萍", viewport)
    page.goto(f"/losses?date_from={world.day}&date_to={world.day}")
    page.fill("input[name=date_from]", str(first))
    page.select_option("select[name=team]", team)
    page.select_option("select[name=page_size]", "20")
    page.click("#loss-filters button.primary")
    page.wait_for_selector("#loss-page")
    pages = -(-len(expected) // 20)
    assert page.locator("#loss-total").inner_text() == str(len(expected))
    assert page.locator("#loss-page").inner_text() == f"第 1 / {pages} 页"
    assert page.locator("#lost tbody tr").count() == min(20, len(expected))
    assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
    name = "desktop" if viewport is DESKTOP else "phone"
    shot(page, f"losses-{name}")
    page.click("#loss-pager a[rel=next]")
    page.wait_for_selector("#loss-page")
    assert page.locator("#loss-page").inner_text() == f"第 2 / {pages} 页"
    assert page.locator("#lost tbody tr").count() == min(20, len(expected) - 20)
    shown = page.locator("#lost tbody tr").evaluate_all("rows => rows.map(r => r.dataset.agent)")
    assert {store.agents()[a]["team"] for a in shown} == {team}
    shot(page, f"losses-{name}-page2")
    page.context.close()


def contrast(fg: str, bg: str) -> float:
    """WCAG contrast ratio of two `rgb(r, g, b)` colours."""

    def luminance(css: str) -> float:
        channels = [int(x) / 255 for x in css[css.index("(") + 1 : css.index(")")].split(",")[:3]]
        r, g, b = (c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
        return 0.2126 * r + 0.7152 * g + 0.0722 * b

    hi, lo = sorted((luminance(fg), luminance(bg)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def test_qc_agent_names_are_readable(browser, server, app, world):
    from tests.web.qc_seed import seed_findings

    seed_findings(app.state.store, {"own": world.own}, world.day)
    page = logged_in(browser, server, "质检", DESKTOP)
    page.goto(f"/qc?date_from={world.day}&date_to={world.day}")
    name = page.locator(".finding .who a").first
    fg = name.evaluate("e => getComputedStyle(e).color")
    bg = name.evaluate(
        "e => { for (let x = e; x; x = x.parentElement) { const c = getComputedStyle(x).backgroundColor;"
        " if (c !== 'rgba(0, 0, 0, 0)') return c; } return 'rgb(255, 255, 255)'; }"
    )
    assert contrast(fg, bg) >= 4.5, (fg, bg)
    page.context.close()
