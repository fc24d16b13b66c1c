"""Performance pay in the web app, on the hand-made November of tests/pay/month.py (every yuan worked out there):
the payroll, payslips and their drill-down, who sees what, vendor settlements, XLSX read back, the scheme editor's
what-if preview and save; then real Chromium: a manager opens the payroll and a payslip, an agent only their own."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from urllib.parse import quote, urlencode

import pytest
from openpyxl import load_workbook

from kefu.users import add_user
from kefu.workspace import Workspace
from tests.pay.month import MONTH, PRESALES, VENDOR, build
from tests.web.conftest import PASSWORD, csrf, login
from tests.web.live import serving

TOTALS = {"s:ann": 6000.0, "s:bob": 3463.0, "s:cat": 5719.05, "s:dan": 5190.04, "s:eve": 4500.0}


@pytest.fixture(scope="module")
def pay_app(tmp_path_factory):
    path = build(tmp_path_factory.mktemp("payweb"))
    ws = Workspace.open(path)
    for name, role, kw in [
        ("boss", "admin", {}),
        ("主管", "manager", {"shops": ["s"]}),
        ("别店主管", "manager", {"shops": ["t"]}),
        ("安", "agent", {"shops": ["s"], "agent": "s:ann"}),
        ("外包v1", "vendor", {"shops": ["s"], "employer": "v1"}),
        ("质检", "qc", {"shops": ["s"]}),
    ]:
        add_user(ws.con, name=name, role=role, password=PASSWORD, **kw)
    ws.close()
    from kefu.web.app import create_app

    app = create_app(path, secure_cookies=True)
    app.state.pay_path = path
    yield app
    app.state.store.close()


@pytest.fixture(scope="module")
def c(pay_app):
    return {
        role: login(pay_app, name)
        for role, name in (
            ("admin", "boss"),
            ("manager", "主管"),
            ("elsewhere", "别店主管"),
            ("agent", "安"),
            ("vendor", "外包v1"),
            ("qc", "质检"),
        )
    }


def test_payroll_json_has_the_hand_computed_totals(c):
    r = c["manager"].get("/api/pay/payroll", params={"month": MONTH})
    assert r.status_code == 200
    body = r.json()
    assert {row["agent"]: row["total"] for row in body["rows"]} == TOTALS
    assert body["total"] == pytest.approx(sum(TOTALS.values()))
    assert body["unassigned"] == ["s:mgr"] and body["coverage"] == ["2026-11-02", "2026-11-07"]
    ann = next(row for row in body["rows"] if row["agent"] == "s:ann")
    assert ann["components"]["销售提成"] == 1745.5 and ann["components"]["绩效封顶调整"] == -1015.5


def test_payroll_page_lists_every_agent_with_links_to_payslips(c):
    html = c["manager"].get("/pay", params={"month": MONTH}).text
    for agent in TOTALS:
        assert f'data-agent="{agent}"' in html and f'href="/pay/agents/{quote(agent, safe="")}?month={MONTH}"' in html
    assert "¥6,000.00" in html and "¥24,872.09" in html


def test_payslip_explains_every_line_and_the_rows_behind(c):
    e = c["manager"].get(f"/api/pay/agents/{quote('s:ann')}", params={"month": MONTH}).json()
    assert e["total"] == 6000.0 and sum(line["amount"] for line in e["lines"]) == pytest.approx(6000.0)
    commission = next(line for line in e["lines"] if line["component"] == "销售提成")
    assert commission["formula"].endswith("= ¥1,745.50")
    assert [r["refund_id"] for r in e["rows"]["refunds"]] == ["r2", "r1", "r5"]
    html = c["manager"].get(f"/pay/agents/{quote('s:ann')}", params={"month": MONTH}).text
    assert "陆仟元整" in html  # 6,000.00 in capitals
    assert (
        'data-section="credited_orders"' in html
        and f'href="/agents/{quote("s:ann", safe="")}/days/2026-11-04?metric=' in html
    )


def test_agent_sees_own_payslip_only_and_which_kpi_would_raise_it(c):
    agent = c["agent"]
    r = agent.get("/pay", params={"month": MONTH})
    assert r.status_code == 303 and r.headers["location"] == f"/pay/agents/s%3Aann?month={MONTH}"
    own = agent.get(f"/api/pay/agents/{quote('s:ann')}", params={"month": MONTH})
    assert own.status_code == 200
    # ann's reply rate 75 % scores 0 of 30 points: reaching 100 % adds 300 to the KPI score, but her
    # performance is capped (3,000), so the scheme pays nothing more — the hint must not promise it
    assert all(h["kpi"] != "reply_rate" for h in own.json()["hints"])
    for path in (
        f"/api/pay/agents/{quote('s:bob')}",
        f"/pay/agents/{quote('s:bob')}",
        "/api/pay/payroll",
        "/pay/payroll.xlsx",
        "/api/pay/settlement",
        "/pay/schemes",
    ):
        assert agent.get(path, params={"month": MONTH}).status_code == 403, path


def test_hints_on_bobs_payslip(c):
    html = c["manager"].get(f"/pay/agents/{quote('s:bob')}", params={"month": MONTH}).text
    # complaints 3 → 0 lifts the −300 penalty and earns the 600 bonus (tests/pay/test_month.py)
    assert 'data-kpi="complaints" data-gain="900' in html


def test_vendor_sees_their_settlement_and_their_agents_payslips(c):
    vendor = c["vendor"]
    assert vendor.get("/pay", params={"month": MONTH}).headers["location"] == f"/pay/settlement?month={MONTH}"
    found = vendor.get("/api/pay/settlement", params={"month": MONTH}).json()
    assert [(v["employer"], v["total"], [a["agent"] for a in v["agents"]]) for v in found] == [
        ("v1", 4500.0, ["s:eve"])
    ]
    assert vendor.get(f"/api/pay/agents/{quote('s:eve')}", params={"month": MONTH}).status_code == 200
    assert vendor.get(f"/api/pay/agents/{quote('s:ann')}", params={"month": MONTH}).status_code == 403
    assert vendor.get("/api/pay/settlement", params={"month": MONTH, "employer": "other"}).status_code == 403
    assert vendor.get("/api/pay/payroll", params={"month": MONTH}).status_code == 403


def test_other_roles_and_shops(c):
    assert c["qc"].get("/pay").status_code == 403
    assert c["elsewhere"].get("/api/pay/payroll", params={"month": MONTH, "shop": "s"}).status_code == 403
    assert c["elsewhere"].get("/api/pay/payroll", params={"month": MONTH}).status_code == 404  # no shop with data
    assert c["elsewhere"].get(f"/api/pay/agents/{quote('s:ann')}", params={"month": MONTH}).status_code == 403


def test_a_month_without_data_says_so(c):
    r = c["manager"].get("/pay", params={"month": "2026-12"})
    assert r.status_code == 404 and "no chat messages in 2026-12" in r.text
    assert c["manager"].get("/api/pay/payroll", params={"month": "2026-13"}).status_code == 422


def test_payroll_xlsx_read_back(c):
    r = c["manager"].get("/pay/payroll.xlsx", params={"month": MONTH})
    assert r.status_code == 200
    wb = load_workbook(io.BytesIO(r.content), data_only=True)
    sheet = wb["工资表"]
    header = [cell.value for cell in sheet[3]]
    rows = {row[3].value: row for row in sheet.iter_rows(min_row=4) if row[3].value}
    assert {a: rows[a][header.index("合计")].value for a in TOTALS} == pytest.approx(TOTALS)
    assert rows["s:ann"][header.index("销售提成")].value == pytest.approx(1745.5)
    total_row = next(row for row in sheet.iter_rows(min_row=4) if row[0].value == "合计")
    assert total_row[header.index("合计")].value == pytest.approx(sum(TOTALS.values()))  # the SUM's cached value
    details = [[cell.value for cell in row] for row in wb["明细"].iter_rows(min_row=2)]
    ann_lines = [d for d in details if d[0] == "s:ann"]
    assert sum(d[4] for d in ann_lines) == pytest.approx(6000.0) and any("超额累进" in d[5] for d in ann_lines)
    assert "xl/charts/chart1.xml" in zipfile.ZipFile(io.BytesIO(r.content)).namelist()  # a native Excel chart


def test_settlement_xlsx_read_back(c):
    r = c["vendor"].get("/pay/settlement.xlsx", params={"month": MONTH})
    wb = load_workbook(io.BytesIO(r.content), data_only=True)
    assert wb.sheetnames == ["汇总", "v1"]
    assert [cell.value for cell in wb["汇总"][2]] == ["v1", MONTH, 1, 4500, 4500]
    assert wb["v1"]["A4"].value == "伊"


def test_printable_payslip_is_a_standalone_chinese_page(c):
    html = c["agent"].get(f"/pay/agents/{quote('s:ann')}/print", params={"month": MONTH}).text
    assert html.startswith("<!doctype html>") and "@page { size: A4" in html and "员工签字" in html
    assert "/static/" not in html  # prints without the app's assets


def test_preview_edited_scheme_changes_nothing_until_saved(pay_app, c):
    manager, scheme_file = c["manager"], pay_app.state.pay_path / "schemes" / "vendor.toml"
    body = {"file": "vendor.toml", "text": VENDOR.replace("amount = 4500", "amount = 4800"), "month": MONTH}
    r = manager.post("/api/pay/schemes/preview", json=body, headers=csrf(manager)).json()
    assert r["ok"] and r["summary"]["change"] == 300.0 and r["summary"]["gain"] == 1
    eve = next(row for row in r["rows"] if row["agent"] == "s:eve")
    assert (eve["total_a"], eve["total_b"]) == (4500.0, 4800.0)
    assert scheme_file.read_text(encoding="utf-8") == VENDOR  # nothing saved
    bad = manager.post(
        "/api/pay/schemes/preview",
        json=body | {"text": VENDOR.replace("value = 40", 'value = "fast"')},
        headers=csrf(manager),
    ).json()
    assert not bad["ok"] and bad["problems"] == [
        'schemes/vendor.toml:15: components[2].when[1].value: \'fast\' is not a number, "shop" or "target"'
    ]
    fragment = manager.post("/pay/schemes/preview", data=body | {"csrf_token": manager.cookies.get("kefu_csrf")})
    assert 'id="preview-table"' in fragment.text and 'data-agent="s:eve" data-change="300.0"' in fragment.text


def test_saving_schemes(pay_app, c):
    manager, admin = c["manager"], c["admin"]
    folder = pay_app.state.pay_path / "schemes"
    text = VENDOR.replace("amount = 4500", "amount = 4600")
    # a manager may only save schemes that name their own shops
    r = manager.post("/api/pay/schemes", json={"file": "vendor.toml", "text": text}, headers=csrf(manager))
    assert r.status_code == 403
    assert (
        manager.post("/api/pay/schemes", json={"file": "../x.toml", "text": text}, headers=csrf(manager)).status_code
        == 422
    )
    # a second scheme paying eve is refused with both files named
    r = admin.post(
        "/api/pay/schemes",
        json={"file": "vendor-2.toml", "text": text.replace('"外包"', '"外包2"')},
        headers=csrf(admin),
    )
    assert (
        r.status_code == 422
        and "paid by two schemes" in r.json()["detail"][0]
        and not (folder / "vendor-2.toml").exists()
    )
    assert (
        c["agent"]
        .post("/api/pay/schemes", json={"file": "vendor.toml", "text": text}, headers=csrf(c["agent"]))
        .status_code
        == 403
    )
    # the admin saves; the payroll follows at once
    before = (folder / "vendor.toml").read_text(encoding="utf-8")
    try:
        r = admin.post(
            "/api/pay/schemes", json={"file": "vendor.toml", "text": text, "month": MONTH}, headers=csrf(admin)
        )
        assert r.status_code == 200
        rows = c["manager"].get("/api/pay/payroll", params={"month": MONTH}).json()["rows"]
        assert next(row["total"] for row in rows if row["agent"] == "s:eve") == 4600.0
        # once the scheme names the manager's shop, the manager may edit it (here with the form)
        scoped = text.replace('employers = ["v1"]', 'employers = ["v1"]\nshops = ["s"]')
        assert (
            admin.post(
                "/api/pay/schemes", json={"file": "vendor.toml", "text": scoped}, headers=csrf(admin)
            ).status_code
            == 200
        )
        edited = scoped.replace("amount = 4600", "amount = 4700")
        form = manager.post(
            "/pay/schemes",
            data={
                "file": "vendor.toml",
                "text": edited,
                "month": MONTH,
                "csrf_token": manager.cookies.get("kefu_csrf"),
            },
        )
        assert form.status_code == 303 and (folder / "vendor.toml").read_text(encoding="utf-8") == edited
    finally:
        (folder / "vendor.toml").write_text(before, encoding="utf-8")
    assert audit_shows(c["admin"], ("boss", "edit_scheme"))


def audit_shows(admin, entry: tuple[str, str], tries: int = 20) -> bool:
    """Whether the audit log holds (user, action). The server writes it in the background and a busy file
    delays the rows a moment (kefu.web.store), so ask a few times, for at most ~5 s."""
    import time

    for _ in range(tries):
        if entry in {(e["user"], e["action"]) for e in admin.get("/api/audit").json()}:
            return True
        time.sleep(0.25)
    return False


def test_schemes_page_lists_files_and_shows_problems(pay_app, c):
    folder = pay_app.state.pay_path / "schemes"
    (folder / "broken.toml").write_text('name = "坏"\neffective_from = "2026-1"\n', encoding="utf-8")
    try:
        html = c["manager"].get("/pay/schemes", params={"file": "broken.toml"}).text
        assert 'data-file="presales.toml"' in html and "broken.toml:2: effective_from" in html
        r = c["manager"].get("/api/pay/payroll", params={"month": MONTH})
        assert r.status_code == 422 and any("broken.toml" in p for p in r.json()["detail"])
    finally:
        (folder / "broken.toml").unlink()


# -- the scheme form (kefu.pay.scheme_form): the same file, validation, permissions and preview as the TOML ------------


def form_fields(text: str) -> list[tuple[str, str]]:
    from kefu.pay.scheme import parse_scheme
    from kefu.pay.scheme_form import scheme_fields

    return scheme_fields(parse_scheme(text))


def post_form(client, fields, *, file="vendor.toml", month=MONTH, path="/pay/schemes/form", hx=False):
    data = [
        ("csrf_token", client.cookies.get("kefu_csrf")),
        ("file", file),
        ("month", month),
        ("from_file", file),
        *fields,
    ]
    headers = {"Content-Type": "application/x-www-form-urlencoded"} | ({"HX-Request": "true"} if hx else {})
    return client.post(path, content=urlencode(data), headers=headers)


SCOPED_VENDOR = "# 外包方案 (kept on saving)\n" + VENDOR.replace(
    'employers = ["v1"]', 'employers = ["v1"]\nshops = ["s"]'
)


@pytest.fixture
def scoped_vendor(pay_app):
    """vendor.toml naming shop s, so that its manager may edit it; put back afterwards."""
    file = pay_app.state.pay_path / "schemes" / "vendor.toml"
    before = file.read_text(encoding="utf-8")
    file.write_text(SCOPED_VENDOR, encoding="utf-8")
    yield file
    file.write_text(before, encoding="utf-8")


def test_form_page_shows_every_component_with_its_parameters(c, scoped_vendor):
    html = c["manager"].get("/pay/schemes/form", params={"file": "vendor.toml", "month": MONTH}).text
    assert 'name="name" value="外包"' in html and 'name="base.amount" value="4500"' in html
    assert 'data-kind="commission"' in html and 'name="components.0.rate" value="0.008"' in html
    assert 'name="components.1.when.0.value" value="40"' in html and 'name="components.1.amount" value="-300"' in html
    assert 'name="applies_to.shops" value="s" checked' in html  # the manager's shop, ticked
    assert 'id="blank-kpi_score"' in html and "components.__C__.kpis.0.kpi" in html  # a new component of every kind
    assert "提成" in html and "底薪" in html  # Chinese labels
    assert (
        "Rate (0.01 or 1%)" in c["manager"].get("/pay/schemes/form", params={"file": "vendor.toml", "lang": "en"}).text
    )


def test_form_save_writes_the_toml_and_the_payroll_follows(pay_app, c, scoped_vendor):
    manager = c["manager"]
    fields = form_fields(SCOPED_VENDOR) + [  # add a KPI score by form
        ("components.2.kind", "kpi_score"),
        ("components.2.name", "响应考核"),
        ("components.2.amount", "1000"),
        ("components.2.kpis.0.kpi", "avg_response_s"),
        ("components.2.kpis.0.worst", "90"),
        ("components.2.kpis.0.best", "30"),
        ("components.2.kpis.0.weight", "1"),
    ]
    preview = post_form(manager, fields, path="/pay/schemes/form/preview", hx=True)
    # saved: −300 lifted to the floor 0 → 4,500; edited: 4,700 (worked out below)
    assert 'data-agent="s:eve" data-change="200.0"' in preview.text and "响应考核 +¥500.00" in preview.text
    assert 'id="pay-scheme-form"' in preview.text and "<html" not in preview.text  # the form alone, for HTMX to swap
    assert scoped_vendor.read_text(encoding="utf-8") == SCOPED_VENDOR  # a preview saves nothing
    r = post_form(manager, fields)
    assert r.status_code == 303 and r.headers["location"] == f"/pay/schemes/form?file=vendor.toml&month={MONTH}&saved=1"
    text = scoped_vendor.read_text(encoding="utf-8")
    assert text.startswith("# 外包方案 (kept on saving)\n")
    assert (
        'kind = "kpi_score"\nname = "响应考核"\namount = 1000\nkpis = [\n  { kpi = "avg_response_s", worst = 90, best = 30, weight = 1 },\n]'
        in text
    )
    # eve: base 4,500; commission 0.8 % of no sales = 0; 60 s between worst 90 and best 30 scores (90 − 60) / 60 = 0.5
    # of 1,000 = 500; 60 s > 40 s deducts 300: performance 0 + 500 − 300 = 200 (above the floor 0); total 4,700
    rows = manager.get("/api/pay/payroll", params={"month": MONTH}).json()["rows"]
    eve = next(row for row in rows if row["agent"] == "s:eve")
    assert (
        eve["total"] == 4700.0 and eve["components"]["响应考核"] == 500.0 and eve["components"]["慢响应扣罚"] == -300.0
    )
    assert ("主管", "edit_scheme") in {(e["user"], e["action"]) for e in c["admin"].get("/api/audit").json()}


def test_form_refuses_an_invalid_field_and_names_it(c, scoped_vendor):
    fields = [
        (k, "fast" if k == "components.1.when.0.value" else ("2.5" if k == "components.0.rate" else v))
        for k, v in form_fields(SCOPED_VENDOR)
    ]
    r = post_form(c["manager"], fields)
    assert r.status_code == 422 and scoped_vendor.read_text(encoding="utf-8") == SCOPED_VENDOR
    html = r.text
    rate = html.split('data-field="components.0.rate"')[1].split("</div>")[0]
    assert "rate 2.5 must be between 0 and 1" in rate and 'value="2.5"' in rate  # next to its input, as typed
    value = html.split('data-field="components.1.when.0.value"')[1].split("</td>")[0]
    assert "&#39;fast&#39; is not a number" in value and 'value="fast"' in value
    # the preview shows the same problems at the same inputs
    preview = post_form(c["manager"], fields, path="/pay/schemes/form/preview").text
    assert "rate 2.5 must be between 0 and 1" in preview.split('data-field="components.0.rate"')[1].split("</div>")[0]


def test_form_refuses_a_scheme_for_another_shop(c, scoped_vendor):
    manager = c["manager"]
    fields = [(k, v) for k, v in form_fields(SCOPED_VENDOR) if k != "applies_to.shops"] + [("applies_to.shops", "t")]
    assert post_form(manager, fields).status_code == 403
    no_shop = [(k, v) for k, v in form_fields(SCOPED_VENDOR) if k != "applies_to.shops"]  # = every shop
    assert post_form(manager, no_shop).status_code == 403
    other = [(k, "T店外包" if k == "name" else v) for k, v in fields]  # a new scheme of shop t: valid, pays no one of s
    assert post_form(c["admin"], other, file="new-t.toml", path="/pay/schemes/form/preview").status_code == 200
    assert post_form(manager, other, file="new-t.toml").status_code == 403
    assert scoped_vendor.read_text(encoding="utf-8") == SCOPED_VENDOR
    assert not (scoped_vendor.parent / "new-t.toml").exists()
    # presales.toml pays every shop: the manager reads it (as in the TOML editor) but may not take it over, even
    # when the form narrows it to their shop
    assert manager.get("/pay/schemes/form", params={"file": "presales.toml"}).status_code == 200
    presales = form_fields(PRESALES) + [("applies_to.shops", "s")]
    assert post_form(manager, presales, file="presales.toml").status_code == 403
    assert (scoped_vendor.parent / "presales.toml").read_text(encoding="utf-8") == PRESALES
    assert c["elsewhere"].get("/pay/schemes/form", params={"file": "vendor.toml"}).status_code in (403, 404)
    assert c["agent"].get("/pay/schemes/form").status_code == 403


def test_form_opens_only_schemes_it_can_write_back(pay_app, c):
    folder = pay_app.state.pay_path / "schemes"
    (folder / "broken.toml").write_text('name = "坏"\neffective_from = "2026-1"\n', encoding="utf-8")
    try:
        html = c["admin"].get("/pay/schemes/form", params={"file": "broken.toml"}).text
        assert (
            'id="toml-only"' in html and "broken.toml:2: effective_from" in html and 'id="pay-scheme-form"' not in html
        )
    finally:
        (folder / "broken.toml").unlink()


def test_views_and_exports_are_audited(c):
    c["agent"].get(f"/api/pay/agents/{quote('s:ann')}", params={"month": MONTH})
    c["manager"].get("/pay/payroll.xlsx", params={"month": MONTH})
    actions = {(e["user"], e["action"]) for e in c["admin"].get("/api/audit").json()}
    assert {("安", "view_payslip"), ("主管", "export_payroll")} <= actions


# -- real Chromium ---------------------------------------------------------------------------------

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "web"


@pytest.fixture(scope="module")
def server(pay_app):
    with serving(pay_app) as url:
        yield url


def open_as(browser, server, name: str):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport={"width": 1400, "height": 900}, base_url=server)
    page = context.new_page()
    page.goto("/login")
    page.fill("input[name=name]", name)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()
    return context, page


def test_browser_manager_opens_payroll_then_a_payslip(browser, server):
    context, page = open_as(browser, server, "主管")
    try:
        page.goto(f"/pay?month={MONTH}")
        page.wait_for_selector("body[data-charts-ready='1']")
        page.screenshot(path=str(ARTIFACTS / "pay-payroll.png"), full_page=True)
        assert page.locator("#payroll tbody tr").count() == len(TOTALS)
        assert page.locator("#payroll-total").inner_text() == "¥24,872.09"
        page.locator("#payroll tr[data-agent='s:bob'] td a").first.click()
        page.wait_for_selector("#slip-lines")
        assert page.locator("#slip-total").inner_text() == "¥3,463.00"
        assert page.locator("#slip-lines tr[data-component='投诉扣罚'] td.amount").inner_text() == "−¥300.00"
        assert page.locator("#hints tr[data-kpi='complaints']").count() == 1
        page.locator("details[data-section='complaints'] summary").click()
        assert page.locator("details[data-section='complaints'] tbody tr").count() == 3
        page.screenshot(path=str(ARTIFACTS / "pay-slip.png"), full_page=True)
    finally:
        context.close()


def test_browser_agent_sees_only_their_own_payslip(browser, server):
    context, page = open_as(browser, server, "安")
    try:
        page.click(".topbar nav a[href='/pay']")
        page.wait_for_selector("#slip-lines")
        assert page.locator("#slip").get_attribute("data-agent") == "s:ann"
        assert page.locator("#slip-total").inner_text() == "¥6,000.00"
        page.screenshot(path=str(ARTIFACTS / "pay-slip-agent.png"), full_page=True)
        r = page.goto(f"/pay/agents/{quote('s:bob')}?month={MONTH}")
        assert r.status == 403
        r = page.goto(f"/pay/payroll.xlsx?month={MONTH}")
        assert r.status == 403
    finally:
        context.close()
