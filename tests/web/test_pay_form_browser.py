"""The pay scheme form in real Chromium at 1440 px, on the hand-made November of tests/pay/month.py: open 售前 by
form from the scheme list, change a component's parameter (投诉扣罚 −10 % → −20 % of the base), add a row and
remove it, preview (bob: 3,463.00 → 3,163.00), save, and read back the file and the payroll. Screenshots go to
test-artifacts/web/."""

from __future__ import annotations

import pytest

from kefu.pay.scheme import parse_scheme
from tests.pay.month import MONTH
from tests.web.conftest import PASSWORD, login
from tests.web.live import needs_chromium, serving
from tests.web.test_browser import ARTIFACTS
from tests.web.test_pay_web import pay_app  # noqa: F401  (the hand-made pay month, its own copy for this module)

pytestmark = needs_chromium


@pytest.fixture(scope="module")
def server(pay_app):  # noqa: F811
    with serving(pay_app) as url:
        yield url


@pytest.fixture
def page(server, browser):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport={"width": 1440, "height": 900}, base_url=server)
    pg = context.new_page()
    errors: list[str] = []
    pg.on(
        "console", lambda m: errors.append(m.text) if m.type == "error" and "404" not in m.text else None
    )  # CSP refusals
    pg.on("response", lambda r: errors.append(r.url) if r.status == 404 and "favicon" not in r.url else None)
    pg.goto("/login")
    pg.fill("input[name=name]", "boss")
    pg.fill("input[name=password]", PASSWORD)
    pg.click("button[type=submit]")
    pg.wait_for_load_state()
    pg.console_errors = errors
    yield pg
    context.close()


def test_edit_a_component_by_form_preview_and_save(page, pay_app):  # noqa: F811
    file = pay_app.state.pay_path / "schemes" / "presales.toml"
    before = file.read_text(encoding="utf-8")
    try:
        page.goto(f"/pay/schemes?file=presales.toml&month={MONTH}")
        page.click("#scheme-files tr[data-file='presales.toml'] a.by-form")
        page.wait_for_selector("#pay-scheme-form")
        penalty = page.locator("fieldset.component[data-group='components.3']")
        assert penalty.locator("input[name='components.3.name']").input_value() == "投诉扣罚"
        page.fill("input[name='components.3.percent_of_base']", "-20")
        # a row added by pay.js, then removed again: nothing of it is saved
        tiers = page.locator("fieldset.rows[data-field='components.0.tiers']")
        tiers.locator("button[data-add-row]").click()
        assert tiers.locator("tbody tr").count() == 4
        tiers.locator("input[name='components.0.tiers.3.from']").fill("300000")
        tiers.locator("tbody tr").last.locator("button[data-remove]").click()
        assert tiers.locator("tbody tr").count() == 3
        page.click("#preview-form")
        page.wait_for_selector("#preview-table")
        bob = page.locator("#preview-table tr[data-agent='s:bob']")
        assert bob.get_attribute("data-change") == "-300.0"  # 3,000 × (−20 % − −10 %)
        assert bob.locator("td").nth(3).inner_text() == "¥3,163.00"
        assert (
            page.locator("#preview-table tr[data-agent='s:ann']").get_attribute("data-change") == "0.0"
        )  # no complaints
        assert file.read_text(encoding="utf-8") == before  # a preview saves nothing
        page.screenshot(path=str(ARTIFACTS / "pay-scheme-form-1440.png"), full_page=True)
        page.click("#save-form")
        page.wait_for_selector("#scheme-saved")
        saved = file.read_text(encoding="utf-8")
        assert (
            'name = "投诉扣罚"\nwhen = [\n  { kpi = "complaints", op = ">=", value = 3 },\n]\npercent_of_base = -20\n'
            in saved
        )
        assert "300000" not in saved
        assert parse_scheme(saved).components[3].percent_of_base == -20
        assert page.locator("input[name='components.3.percent_of_base']").input_value() == "-20"
        rows = login(pay_app, "主管").get("/api/pay/payroll", params={"month": MONTH}).json()["rows"]
        assert {r["agent"]: r["total"] for r in rows}["s:bob"] == 3163.0  # 3,000 + 3 + 760 − 600
        assert page.console_errors == []
    finally:
        file.write_text(before, encoding="utf-8")


def test_a_problem_is_shown_next_to_its_input(page, pay_app):  # noqa: F811
    page.goto(f"/pay/schemes/form?file=presales.toml&month={MONTH}")
    page.select_option("#add-kind", "commission")
    page.click("#add-component")
    added = page.locator("fieldset.component[data-group='components.7']")
    added.locator("input[name='components.7.name']").fill("第二提成")
    added.locator("input[name='components.7.rate']").fill("150%")
    page.click("#preview-form")
    page.wait_for_selector("#form-invalid")
    assert (
        "rate 1.5 must be between 0 and 1"
        in page.locator("[data-field='components.7.rate'] .field-errors").inner_text()
    )
    assert page.locator("input[name='components.7.rate']").input_value() == "150%"  # kept as typed
    page.screenshot(path=str(ARTIFACTS / "pay-scheme-form-problem-1440.png"), full_page=True)
    assert page.console_errors == []
