"""`kefu user add/list`, `kefu report daily --xlsx`, `kefu targets import` through Typer's runner."""

from __future__ import annotations

import datetime as dt

import typer
from openpyxl import load_workbook
from typer.testing import CliRunner

from kefu import api
from kefu.cli.web import register
from kefu.users import authenticate
from kefu.workspace import Workspace
from tests.web.conftest import build_workspace

cli = typer.Typer()


@cli.command()
def _placeholder() -> None:  # a Typer app needs one command of its own to take sub-commands
    pass


register(cli)
run = CliRunner().invoke


def test_cli_commands(tmp_path):
    ws = build_workspace(tmp_path, agents=8, days=9, seed=4)
    r = run(cli, ["user", "add", str(ws), "--name", "小萍", "--role", "manager", "--shop", "云裳女装旗舰店"])
    assert r.exit_code == 0, r.output
    password = r.output.split("password:")[1].split()[0]
    assert run(cli, ["user", "add", str(ws), "--name", "x", "--role", "vendor", "--shop", "云裳女装旗舰店"]).exit_code == 2
    assert "小萍" in run(cli, ["user", "list", str(ws)]).output
    (tmp_path / "t.csv").write_text("month,shop,scope,subject,metric,value\n2026-10,云裳女装旗舰店,shop,云裳女装旗舰店,sales_amount,90000\n", encoding="utf-8")
    assert run(cli, ["targets", "import", str(ws), str(tmp_path / "t.csv")]).exit_code == 0
    (tmp_path / "bad.csv").write_text("month,shop,scope,subject,metric,value\n2026-10,s,shop,s,sales,1\n", encoding="utf-8")
    bad = run(cli, ["targets", "import", str(ws), str(tmp_path / "bad.csv")])
    assert bad.exit_code == 2 and "unknown metric 'sales'" in bad.output
    out = tmp_path / "日报.xlsx"
    r = run(cli, ["report", "daily", str(ws), "--date", "2026-10-27", "--xlsx", str(out)])
    assert r.exit_code == 0, r.output
    w = Workspace.open(ws)
    try:
        assert authenticate(w.con, "小萍", password) is not None
        day = dt.date(2026, 10, 27)
        team = api.kpis(w, ["shop", "day"], date_from=day, date_to=day)[0]
    finally:
        w.close()
    sheet = load_workbook(out)["团队"]
    cells = {row[0].value: row for row in sheet.iter_rows(min_row=4)}
    assert cells["咨询人数"][1].value == team["consult_buyers"]
    assert cells["客服销售额"][1].value == team["sales_amount"] and cells["客服销售额"][7].value == 90000
