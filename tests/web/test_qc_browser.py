"""QC in real Chromium at 1440 px (issue #11): the queue's bulk review — a reviewer ticks findings, confirms them
after the browser's confirmation, and they leave the unreviewed queue; then every remaining finding the filter
matches is dismissed in one go — and a rule of the library edited by form, without TOML."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

from tests.web.conftest import PASSWORD
from tests.web.qc_seed import seed_findings

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "web"


def logged_in(browser, server, name):
    context = browser.new_context(viewport={"width": 1440, "height": 900}, base_url=server)
    page = context.new_page()
    page.goto("/login")
    page.fill("input[name=name]", name)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state("networkidle")
    return context, page


def test_bulk_confirm_then_dismiss_all_matching(app, browser, server, world):
    ids = seed_findings(app.state.store, {"own": world.own}, world.day, per_agent=4)[
        "own"
    ]  # high, medium, high, medium
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    context, page = logged_in(browser, server, "质检")
    asked = []
    page.on("dialog", lambda d: (asked.append(d.message), d.accept()))
    try:
        page.goto(f"/qc?agent={quote(world.own)}&date_from={world.day}&date_to={world.day}&min_severity=all")
        assert page.evaluate("window.innerWidth") == 1440
        for finding_id in ids:
            assert page.locator(f"#f-{finding_id}").get_attribute("data-status") == "open"
        keep = [
            i
            for i in page.locator("article.finding").evaluate_all("els => els.map(e => e.dataset.id)")
            if i not in ids[:2]
        ]
        page.check(f"#f-{ids[0]} input.pick")
        page.check(f"#f-{ids[1]} input.pick")
        assert page.locator("#selected-count").inner_text() == "2"
        page.screenshot(path=str(ARTIFACTS / "qc-bulk-selected.png"), full_page=False)
        page.click("#qc-bulk button.bulk-confirm")
        page.wait_for_selector("#bulk-done")
        assert asked and "2" in asked[0]  # the browser asked first, naming how many
        # Confirmed: out of the unreviewed queue; the others still there.
        assert page.locator(f"#f-{ids[0]}").count() == 0 and page.locator(f"#f-{ids[1]}").count() == 0
        assert all(page.locator(f"#f-{i}").count() == 1 for i in keep)
        assert int(page.locator("#count-confirmed").get_attribute("data-count")) >= 2
        page.screenshot(path=str(ARTIFACTS / "qc-bulk-done.png"), full_page=False)
        # Stored as reviews: the confirmed view of the same filter lists them.
        page.goto(
            f"/qc?agent={quote(world.own)}&date_from={world.day}&date_to={world.day}&min_severity=all&status=confirmed"
        )
        assert page.locator(f"#f-{ids[0]}").get_attribute("data-status") == "confirmed"

        # Then every open finding the filter matches, across pages, dismissed after the confirmation.
        page.goto(f"/qc?agent={quote(world.own)}&date_from={world.day}&date_to={world.day}&min_severity=all")
        remaining = int(page.locator("#qc-bulk input[name=expected]").get_attribute("value"))
        assert remaining >= 2
        page.click("#qc-bulk button.bulk-dismiss-all")
        page.wait_for_selector("#bulk-done")
        assert str(remaining) in asked[-1]
        assert page.locator("article.finding").count() == 0 and page.locator("#no-findings").count() == 1
    finally:
        context.close()


def test_edit_a_rule_by_form(browser, server, world):
    context, page = logged_in(browser, server, "小萍")  # a manager
    try:
        page.goto("/qc/rules")
        page.click("#rules tr:has(code:text-is('missing_closing')) a.edit-rule")
        page.wait_for_selector("#rule-form")
        page.fill("#rule-form input[name=name]", "结束语缺失")
        page.select_option("#rule-form select[name=severity]", "medium")
        page.fill("#rule-form input[name=points]", "1")
        patterns = page.locator("#rule-form textarea[name=patterns]")
        patterns.fill(patterns.input_value() + "\n欢迎下次再来")
        page.screenshot(path=str(ARTIFACTS / "qc-rule-form.png"), full_page=False)
        page.click("#rule-save")
        page.wait_for_selector("#rules-saved")
        row = page.locator("#rules tr:has(code:text-is('missing_closing'))")
        assert "结束语缺失" in row.inner_text() and row.locator("td.num").first.inner_text() == "1.0"
        text = (world.path / "qc-rules.toml").read_text(encoding="utf-8")
        assert 'name = "结束语缺失"' in text and "'欢迎下次再来'" in text and 'severity = "medium"' in text
        assert page.locator("#rules-text").input_value() == text  # the TOML editor shows what the form wrote
    finally:
        context.close()
        (world.path / "qc-rules.toml").unlink(missing_ok=True)
