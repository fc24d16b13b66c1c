"""`kefu pay …` end to end on the hand-made November (tests/pay/month.py): the commands a manager runs."""

from __future__ import annotations

import json

import pytest
from openpyxl import load_workbook
from typer.testing import CliRunner

from kefu.cli.main import app
from tests.pay.month import MONTH, PRESALES, build

runner = CliRunner()
TOTALS = {"s:ann": 6000.0, "s:bob": 3463.0, "s:cat": 5719.05, "s:dan": 5190.04, "s:eve": 4500.0}


def kefu(*args: str):
    return runner.invoke(app, [str(a) for a in args], catch_exceptions=False)


def test_pay_ws_month_is_the_payroll_in_json(month_ws):
    r = kefu("pay", month_ws, "--month", MONTH, "--format", "json")
    assert r.exit_code == 0, r.output
    rows = json.loads(r.stdout)
    assert {x["agent"]: x["total"] for x in rows} == TOTALS
    ann = next(x for x in rows if x["agent"] == "s:ann")
    assert ann["base"] == 3000 and ann["components"]["KPI 考核"] == 520 and ann["scheme"] == "售前"
    assert kefu("pay", "run", month_ws, "--month", MONTH, "--format", "json").stdout == r.stdout  # the same command


def test_table_csv_and_xlsx(month_ws, tmp_path):
    table = kefu("pay", month_ws, "--month", MONTH, "--xlsx", tmp_path / "绩效.xlsx")
    assert table.exit_code == 0 and "工资表" in table.stdout and "24,872.09" in table.stdout
    assert "not paid by any scheme: s:mgr" in table.stderr
    sheet = load_workbook(tmp_path / "绩效.xlsx", data_only=True)["工资表"]
    header = [cell.value for cell in sheet[3]]
    assert {
        row[3].value: row[header.index("合计")].value for row in sheet.iter_rows(min_row=4) if row[3].value
    } == pytest.approx(TOTALS)
    csv = kefu("pay", month_ws, "--month", MONTH, "--format", "csv").stdout.splitlines()
    assert csv[0].startswith("month,agent,name,shop,team,role,employer,scheme,scheme_version,base,销售提成,")
    assert csv[0].endswith(",total") and csv[1].endswith(",6000.0")


def test_explain_prints_rules_formulas_and_rows(month_ws):
    r = kefu("pay", "explain", month_ws, "--month", MONTH, "--agent", "s:ann")
    assert r.exit_code == 0, r.output
    flat = r.stdout.replace("\n", " ")
    for text in ("销售提成", "1,745.50", "退款扣回", "r5", "落实订单"):
        assert text in flat, text
    assert "哪项 KPI 最能提高工资" not in flat  # ann's performance is capped: no KPI would raise it
    bob = kefu("pay", "explain", month_ws, "--month", MONTH, "--agent", "s:bob").stdout.replace("\n", " ")
    assert "哪项 KPI 最能提高工资" in bob and "+¥900.00" in bob
    data = json.loads(kefu("pay", "explain", month_ws, "--month", MONTH, "--agent", "s:ann", "--format", "json").stdout)
    assert data["total"] == 6000 and [o["order_id"] for o in data["rows"]["credited_orders"]] == ["o1", "o2"]


def test_compare_two_scheme_versions(month_ws, tmp_path):
    b = tmp_path / "2026-12-draft.toml"
    b.write_text(
        PRESALES.replace("amount = 3000", "amount = 3300").replace("cap = 3000", "cap = 3500"), encoding="utf-8"
    )
    r = kefu(
        "pay",
        "compare",
        month_ws,
        "--month",
        MONTH,
        "--scheme",
        month_ws / "schemes" / "presales.toml",
        "--against",
        b,
        "--format",
        "json",
    )
    assert r.exit_code == 0, r.output
    rows = {x["agent"]: x for x in json.loads(r.stdout)["rows"]}
    # ann: base +300; her performance (4,075.50 with the bonus now 20 % of 3,300) is capped at 3,500 (+500): 6,000 → 6,800
    assert (rows["s:ann"]["total_a"], rows["s:ann"]["total_b"], rows["s:ann"]["change"]) == (6000, 6800, 800)
    assert {c["component"]: c["change"] for c in rows["s:ann"]["components"]}["达标奖"] == 60
    # bob: base +300 and the −10 % penalty grows by 30: 3,463 → 3,733
    assert rows["s:bob"]["change"] == 270
    by = {c["component"]: c["change"] for c in rows["s:bob"]["components"]}
    assert by["基本工资"] == 300 and by["投诉扣罚"] == -30
    assert set(rows) == {"s:ann", "s:bob"}  # only the pre-sales scheme was given on both sides
    table = kefu("pay", "compare", month_ws, "--month", MONTH, "--scheme", month_ws / "schemes", "--against", b)
    assert table.exit_code == 0 and "方案对比" in table.stdout


def test_slip_html_and_settlement(month_ws, tmp_path):
    out = tmp_path / "slip.html"
    r = kefu("pay", "slip", month_ws, "--month", MONTH, "--agent", "s:dan", "--html", out)
    assert r.exit_code == 0, r.output
    html = out.read_text(encoding="utf-8")
    assert "工资条" in html and "¥5,190.04" in html and "伍仟壹佰玖拾元零肆分" in html
    s = kefu("pay", "settlement", month_ws, "--month", MONTH, "--format", "json", "--xlsx", tmp_path / "结算.xlsx")
    assert json.loads(s.stdout)[0]["total"] == 4500
    assert load_workbook(tmp_path / "结算.xlsx")["v1"]["A4"].value == "伊"
    assert kefu("pay", "settlement", month_ws, "--month", MONTH, "--employer", "nobody").exit_code == 2


def test_import_then_payroll_follows(tmp_path):
    ws = build(tmp_path, with_inputs=False)
    bad = tmp_path / "att.csv"
    bad.write_text("agent,working_days\ns:cat,22\ns:cat,20\n", encoding="utf-8")
    r = kefu("pay", "import", ws, bad, "--month", MONTH, "--kind", "attendance")
    assert r.exit_code == 2 and "att.csv line 3: s:cat is already on line 2" in r.stderr
    # no attendance: the pool is shared by days with messages (1 each), and the prorated base needs scheduled days
    r = kefu("pay", ws, "--month", MONTH, "--format", "json")
    assert r.exit_code == 0, r.output
    rows = {x["agent"]: x for x in json.loads(r.stdout)}
    assert rows["s:cat"]["components"]["售后绩效池"] == 2400.0  # 5,000 × 1/2 − 2 × 50
    good = tmp_path / "good.csv"
    good.write_text("agent,working_days,scheduled_days\ns:cat,22,22\ns:dan,20,22\n", encoding="utf-8")
    r = kefu("pay", "import", ws, good, "--month", MONTH, "--kind", "attendance")
    assert r.exit_code == 0 and "2 rows of attendance" in r.stdout
    rows = {x["agent"]: x for x in json.loads(kefu("pay", ws, "--month", MONTH, "--format", "json").stdout)}
    assert (rows["s:cat"]["total"], rows["s:dan"]["total"]) == (5719.05, 5190.04)


def test_clear_errors(month_ws, tmp_path):
    r = kefu("pay", month_ws, "--month", "2026-12")
    assert r.exit_code == 2 and "no chat messages in 2026-12; the data covers 2026-10-30 … 2026-11-07" in r.stderr
    broken = tmp_path / "broken.toml"
    broken.write_text(PRESALES.replace('kpi = "reply_rate"', 'kpi = "reply_rat"'), encoding="utf-8")
    r = kefu("pay", month_ws, "--month", MONTH, "--scheme", broken)
    assert (
        r.exit_code == 2
        and f"{broken}:18: components[2].kpis[1].kpi: unknown KPI 'reply_rat' (did you mean reply_rate?)" in r.stderr
    )
    twice = tmp_path / "twice.toml"
    twice.write_text(PRESALES.replace('name = "售前"', 'name = "售前二"'), encoding="utf-8")
    r = kefu("pay", month_ws, "--month", MONTH, "--scheme", month_ws / "schemes" / "presales.toml", "--scheme", twice)
    assert r.exit_code == 2 and "s:ann (presales, A, in_house) is paid by two schemes" in r.stderr
    r = kefu("pay", "explain", month_ws, "--month", MONTH, "--agent", "s:nobody")
    assert r.exit_code == 2 and "no agent 's:nobody' in 2026-11" in r.stderr
    r = kefu("pay", tmp_path / "nowhere", "--month", MONTH)
    assert r.exit_code == 2 and "does not exist" in r.stderr


def test_check_validates_files_and_the_assignment(month_ws):
    r = kefu("pay", "check", month_ws / "schemes", "--ws", month_ws, "--month", MONTH)
    assert r.exit_code == 0, r.output
    assert "5 of 6 agents paid in 2026-11; not paid: s:mgr" in r.stdout.replace("\n", " ")
