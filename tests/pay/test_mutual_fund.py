"""The 互查 fund as a pay component (`kind = "mutual_fund"`), on the hand-made November (tests/pay/month.py) with
a 互查 ledger added, worked out by hand. `kefu pay` opens the workspace read-only, as here.

kefu.toml [qc.mutual] as shipped: fund 100, an error 10, an error QC found that no colleague reported ×2 = 20.

    s:ann  bob reported a message of hers (confirmed, 10), eve reported a day of hers (confirmed, 10),
           bob's third report was rejected (nothing), QC found one more that nobody reported (20)
                                                           → 100 − 2 × 10 − 1 × 20 = 60
    s:bob  six errors QC found that nobody reported: 6 × 20 = 120 > 100 → 0 (the fund never goes below 0)
    s:cat  (after-sales, the pool scheme: no fund line) f1, f2 of month.py: 2 × 20 → 60 in the ledger
    in a warning-only month (warning_only_months = ["2026-11"]) every fund is paid in full: ann 100, bob 100.

The pre-sales scheme here is base 3,000 + the fund, so ann is paid 3,060.00 and bob 3,000.00.
"""

from __future__ import annotations

import datetime as dt
import io
import json
from decimal import Decimal as D
from pathlib import Path
from urllib.parse import quote

import pytest
from openpyxl import load_workbook

from kefu.pay import api as pay
from kefu.pay.output import slip_record, slip_summary
from kefu.pay.scheme import parse_scheme
from kefu.pay.xlsx import write_payroll_xlsx
from kefu.qc.ledger import decide, file_report
from kefu.workspace import CONFIG_FILE, Workspace
from tests.pay.month import MONTH, build

SCHEME = """\
name = "售前"
effective_from = "2026-01"
[applies_to]
roles = ["presales"]
employers = ["in_house"]
[base]
amount = 3000
[[components]]
kind = "mutual_fund"
name = "互查基金"
{extra}"""


def finding(con, finding_id: str, agent: str, ts: str, buyer: str) -> None:
    """A QC finding a supervisor confirmed in review (the contract of docs/qc.md)."""
    con.execute(
        "INSERT INTO qc_findings VALUES (?, 's', ?, ?, ?, ?::TIMESTAMP::DATE, 'r9', '禁用语', 'high', 5, 'agent_text', 't', '滚', 0, now(), NULL, 1, '')",
        [finding_id, agent, buyer, ts, ts],
    )
    con.execute("INSERT INTO qc_reviews VALUES (?, 'confirmed', '质检员', '', now())", [finding_id])


def build_month(root: Path, *, warning_only: bool = False) -> Path:
    path = build(root)
    with Workspace.open(path) as ws:
        con = ws.con
        decide(
            con,
            file_report(
                con,
                reporter="s:bob",
                description="发错商品链接",
                shop="s",
                agent="s:ann",
                buyer="b1",
                ts=dt.datetime(2026, 11, 2, 10, 0, 10),
            ),
            "confirmed",
            "质检员",
        )
        decide(
            con,
            file_report(
                con, reporter="s:eve", description="漏回复买家", shop="s", agent="s:ann", day=dt.date(2026, 11, 3)
            ),
            "confirmed",
            "质检员",
        )
        decide(
            con,
            file_report(con, reporter="s:bob", description="不算错", shop="s", agent="s:ann", day=dt.date(2026, 11, 4)),
            "rejected",
            "质检员",
        )
        finding(con, "ann-f", "s:ann", "2026-11-04 12:00:30", "b4")
        for i in range(6):
            finding(con, f"bob-f{i}", "s:bob", "2026-11-03 15:00:45", "b6")
    (path / "schemes" / "presales.toml").write_text(SCHEME.format(extra=""), encoding="utf-8")
    if warning_only:
        config = path / CONFIG_FILE
        text = config.read_text(encoding="utf-8")
        assert "warning_only_months = []" in text
        config.write_text(
            text.replace("warning_only_months = []", f'warning_only_months = ["{MONTH}"]'), encoding="utf-8"
        )
    return path


@pytest.fixture(scope="module")
def ws_path(tmp_path_factory):
    return build_month(tmp_path_factory.mktemp("mutual"))


@pytest.fixture(scope="module")
def ws(ws_path):
    with Workspace.open(ws_path, read_only=True) as opened:  # as `kefu pay` opens it
        yield opened


@pytest.fixture(scope="module")
def data(ws):
    return pay.month_data(ws, MONTH)


@pytest.fixture(scope="module")
def payroll(ws, data):
    return pay.payroll(ws, MONTH, data=data)


def line(payroll, agent: str):
    return payroll.slip(agent).line("互查基金")


# -- the month, by hand ---------------------------------------------------------------------------------


def test_the_fund_of_the_month_is_read_from_the_ledger(data):
    ann, bob, cat = data.mutual["s:ann"], data.mutual["s:bob"], data.mutual["s:cat"]
    assert (ann.fund_start, ann.costs, ann.deductions, ann.balance) == (D("100.00"), D("40.00"), D("40.00"), D("60.00"))
    assert sorted((e.source, e.cost) for e in ann.errors) == [
        ("peer", D("10.00")),
        ("peer", D("10.00")),
        ("supervisor", D("20.00")),
    ]
    assert (bob.costs, bob.balance) == (D("120.00"), D("0.00"))
    assert cat.balance == D("60.00") and data.mutual["s:dan"].balance == D("100.00")
    assert (ann.peer_cost, ann.supervisor_cost, ann.warning_only) == (D("10.00"), D("20.00"), False)


def test_the_balance_is_paid_with_rule_and_formula(payroll):
    ann = line(payroll, "s:ann")
    assert ann.kind == "mutual_fund" and ann.amount == D("60.00")
    assert ann.formula == "¥100.00 − 2 × ¥10.00(同事互查) − 1 × ¥20.00(主管发现) = ¥60.00"
    assert ann.rule.startswith(
        "互查基金每月 ¥100.00：同事举报并经主管确认的差错每个扣 ¥10.00，主管质检发现而无同事举报的差错每个扣 ¥20.00"
    )
    assert {u.zh: u.shown for u in ann.used} == {
        "互查基金": "¥100.00",
        "同事互查确认差错": "2",
        "主管发现差错": "1",
        "互查扣款": "¥40.00",
    }
    assert payroll.slip("s:ann").total == D("3060.00")


def test_the_fund_never_goes_below_zero(payroll):
    bob = line(payroll, "s:bob")
    assert bob.amount == D("0.00")
    assert bob.formula == "¥100.00 − 6 × ¥20.00(主管发现) = −¥20.00，基金不低于 ¥0.00 = ¥0.00"
    assert payroll.slip("s:bob").total == D("3000.00")


def test_schemes_without_the_component_pay_no_fund(payroll):
    assert line(payroll, "s:cat") is None and line(payroll, "s:eve") is None
    assert payroll.slip("s:cat").total == D("5719.05")  # as in tests/pay/test_month.py


def test_a_warning_only_month_pays_the_whole_fund(tmp_path):
    path = build_month(tmp_path, warning_only=True)
    with Workspace.open(path, read_only=True) as ws:
        result = pay.payroll(ws, MONTH)
    ann, bob = line(result, "s:ann"), line(result, "s:bob")
    assert (ann.amount, bob.amount) == (D("100.00"), D("100.00"))
    assert (
        ann.formula
        == "警示月，只提示不扣款：差错 2 × ¥10.00(同事互查) + 1 × ¥20.00(主管发现) = ¥40.00 不扣；¥100.00 − ¥0.00 = ¥100.00"
    )
    assert {u.zh: (u.shown, u.source) for u in ann.used}["互查扣款"] == ("¥0.00", "警示月：只提示不扣款")
    assert result.slip("s:ann").total == D("3100.00")


@pytest.mark.parametrize(
    "extra, agent, amount, tail",
    [
        ("cap = 50\n", "s:ann", "50.00", "= ¥60.00，封顶 ¥50.00"),
        ("floor = 10\n", "s:bob", "10.00", "= ¥0.00，保底 ¥10.00"),
        ("cap = 50\n", "s:bob", "0.00", "= ¥0.00"),
    ],
)
def test_the_components_own_cap_and_floor(ws, data, extra, agent, amount, tail):
    result = pay.payroll(ws, MONTH, [parse_scheme(SCHEME.format(extra=extra))], data=data)
    found = line(result, agent)
    assert found.amount == D(amount) and found.formula.endswith(tail)
    assert result.slip(agent).total == D("3000.00") + D(amount)


# -- explain, JSON, XLSX, the CLI and the web app ---------------------------------------------------------


def test_explain_lists_the_errors_behind_the_fund(ws, data):
    e = pay.explain(ws, MONTH, "s:ann", data=data)
    behind = [(r["day"], r["source"], r["description"], r["cost"]) for r in e["rows"]["mutual_errors"]]
    assert behind == [
        ("2026-11-02", "同事互查", "发错商品链接", 10),
        ("2026-11-03", "同事互查", "漏回复买家", 10),
        ("2026-11-04", "主管发现", "禁用语: 滚", 20),
    ]
    assert (
        all(r["report_id"] for r in e["rows"]["mutual_errors"][:2])
        and e["rows"]["mutual_errors"][2]["finding_id"] == "ann-f"
    )
    assert e["total"] == 3060 == sum(x["amount"] for x in e["lines"])
    # cat has errors in the ledger, but her scheme does not pay the fund: the shop's internal ledger is not shown
    assert pay.explain(ws, MONTH, "s:cat", data=data)["rows"]["mutual_errors"] == []


def test_json_and_xlsx_carry_the_line_and_add_up(payroll):
    ann = slip_summary(payroll.slip("s:ann"))
    assert (
        ann["components"] == {"互查基金": 60.0}
        and ann["base"] + sum(ann["components"].values()) == ann["total"] == 3060.0
    )
    record = slip_record(payroll.slip("s:ann"))
    assert json.loads(json.dumps(record, ensure_ascii=False))["lines"][1]["detail"][0]["balance"] == 60
    buf = io.BytesIO()
    write_payroll_xlsx(payroll, buf)
    book = load_workbook(io.BytesIO(buf.getvalue()), data_only=True)
    sheet = book["工资表"]
    header = [cell.value for cell in sheet[3]]
    rows = {row[3].value: row for row in sheet.iter_rows(min_row=4) if row[3].value and row[3].value.startswith("s:")}
    assert rows["s:ann"][header.index("互查基金")].value == 60 and rows["s:ann"][header.index("合计")].value == 3060
    assert rows["s:cat"][header.index("互查基金")].value is None
    details = [[c.value for c in row] for row in book["明细"].iter_rows(min_row=2)]
    assert details[1][:5] == ["s:ann", "安", "售前", "互查基金", 60] and details[1][6].endswith("= ¥60.00")


def test_kefu_pay_reads_the_fund_on_the_read_only_workspace(ws_path):
    from typer.testing import CliRunner

    from kefu.cli.main import app

    run = CliRunner().invoke(app, ["pay", str(ws_path), "--month", MONTH, "--format", "json"], catch_exceptions=False)
    assert run.exit_code == 0, run.output
    rows = {r["agent"]: r for r in json.loads(run.stdout)}
    assert rows["s:ann"]["components"] == {"互查基金": 60.0} and rows["s:bob"]["total"] == 3000.0
    explained = CliRunner().invoke(
        app, ["pay", "explain", str(ws_path), "--month", MONTH, "--agent", "s:ann"], catch_exceptions=False
    )
    assert explained.exit_code == 0 and "互查差错" in explained.stdout and "发错商品链接" in explained.stdout


def test_the_web_payslip_uses_the_workspace_settings(tmp_path):
    """The web app reads kefu.toml's [qc.mutual] (here a warning-only month) for the payslip, as `kefu pay` does."""
    from kefu.users import add_user
    from kefu.web.app import create_app
    from tests.web.conftest import PASSWORD, login

    path = build_month(tmp_path, warning_only=True)
    with Workspace.open(path) as ws:
        add_user(ws.con, name="主管", role="manager", password=PASSWORD, shops=["s"])
    app = create_app(path, secure_cookies=True)
    try:
        manager = login(app, "主管")
        e = manager.get(f"/api/pay/agents/{quote('s:ann')}", params={"month": MONTH}).json()
        fund = next(x for x in e["lines"] if x["component"] == "互查基金")
        assert (fund["kind"], fund["amount"], e["total"]) == ("mutual_fund", 100.0, 3100.0)
        assert [r["source"] for r in e["rows"]["mutual_errors"]] == ["同事互查", "同事互查", "主管发现"]
        html = manager.get(f"/pay/agents/{quote('s:ann')}", params={"month": MONTH}).text
        assert 'data-kind="mutual_fund"' in html and 'data-section="mutual_errors"' in html and "互查差错" in html
        payroll = manager.get("/api/pay/payroll", params={"month": MONTH}).json()
        assert {r["agent"]: r["components"].get("互查基金") for r in payroll["rows"]}["s:bob"] == 100.0
    finally:
        app.state.store.close()
