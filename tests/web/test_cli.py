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
    assert (
        run(cli, ["user", "add", str(ws), "--name", "x", "--role", "vendor", "--shop", "云裳女装旗舰店"]).exit_code == 2
    )
    assert "小萍" in run(cli, ["user", "list", str(ws)]).output
    (tmp_path / "t.csv").write_text(
        "month,shop,scope,subject,metric,value\n2026-10,云裳女装旗舰店,shop,云裳女装旗舰店,sales_amount,90000\n",
        encoding="utf-8",
    )
    assert run(cli, ["targets", "import", str(ws), str(tmp_path / "t.csv")]).exit_code == 0
    (tmp_path / "bad.csv").write_text(
        "month,shop,scope,subject,metric,value\n2026-10,s,shop,s,sales,1\n", encoding="utf-8"
    )
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


def test_cli_user_management_and_team_targets(tmp_path):
    ws = build_workspace(tmp_path, agents=8, days=9, seed=4)
    shop = "云裳女装旗舰店"
    w = Workspace.open(ws)
    try:
        agent, team = w.con.execute(
            "SELECT agent, team FROM agents WHERE role = 'presales' ORDER BY agent LIMIT 1"
        ).fetchone()
        vendor = w.con.execute("SELECT min(employer) FROM agents WHERE employer <> 'in_house'").fetchone()[0]
    finally:
        w.close()
    # checked against the workspace
    r = run(cli, ["user", "add", str(ws), "--name", "x", "--role", "manager", "--shop", "别的店"])
    assert r.exit_code == 2 and "no shop '别的店'" in r.output
    r = run(cli, ["user", "add", str(ws), "--name", "x", "--role", "agent", "--shop", shop, "--agent", "nobody"])
    assert r.exit_code == 2 and f"no agent account '{shop}:nobody'" in r.output
    r = run(cli, ["user", "add", str(ws), "--name", "x", "--role", "vendor", "--shop", shop, "--employer", "不存在"])
    assert r.exit_code == 2 and "no outsourcing company" in r.output
    assert (
        run(
            cli, ["user", "add", str(ws), "--name", "v", "--role", "vendor", "--shop", shop, "--employer", vendor]
        ).exit_code
        == 0
    )
    r = run(
        cli,
        ["user", "add", str(ws), "--name", "a", "--role", "agent", "--shop", shop, "--agent", agent.split(":", 1)[1]],
    )
    assert r.exit_code == 0, r.output
    r = run(cli, ["user", "add", str(ws), "--name", "boss", "--role", "admin", "--password", "short"])
    assert r.exit_code == 2 and "at least 10 characters" in r.output

    # passwords: asked twice, or generated
    assert run(cli, ["user", "passwd", str(ws), "--name", "a"], input="Typed-pass-1\nTyped-pass-1\n").exit_code == 0
    r = run(cli, ["user", "passwd", str(ws), "--name", "a"], input="weakweakweak\nweakweakweak\n")
    assert r.exit_code == 2 and "at least two of" in r.output
    generated = run(cli, ["user", "passwd", str(ws), "--name", "v", "--generate"])
    assert generated.exit_code == 0
    new = generated.output.split(":")[-1].strip()
    assert run(cli, ["user", "passwd", str(ws), "--name", "nobody", "--generate"]).exit_code == 2

    # disable / enable
    assert run(cli, ["user", "disable", str(ws), "--name", "v"]).exit_code == 0
    assert "disabled" in run(cli, ["user", "list", str(ws)]).output
    w = Workspace.open(ws)
    try:
        assert authenticate(w.con, "a", "Typed-pass-1") is not None
        assert authenticate(w.con, "v", new) is None  # disabled
    finally:
        w.close()
    assert run(cli, ["user", "enable", str(ws), "--name", "v"]).exit_code == 0
    w = Workspace.open(ws)
    try:
        assert authenticate(w.con, "v", new) is not None
        team_mtd = next(
            r
            for r in api.kpis(w, ["team"], date_from=dt.date(2026, 10, 1), date_to=dt.date(2026, 10, 27))
            if r["team"] == team
        )
    finally:
        w.close()

    # a team target: checked against the roster, then shown with its gap in the printed report
    (tmp_path / "bad.csv").write_text(
        f"month,shop,scope,subject,metric,value\n2026-10,{shop},team,没有这个组,sales_amount,5\n", encoding="utf-8"
    )
    bad = run(cli, ["targets", "import", str(ws), str(tmp_path / "bad.csv")])
    assert bad.exit_code == 2 and "bad.csv line 2: no team '没有这个组'" in bad.output
    (tmp_path / "t.csv").write_text(
        f"month,shop,scope,subject,metric,value\n2026-10,{shop},team,{team},sales_amount,100000\n", encoding="utf-8"
    )
    assert run(cli, ["targets", "import", str(ws), str(tmp_path / "t.csv")]).exit_code == 0
    r = run(cli, ["report", "daily", str(ws), "--date", "2026-10-27"])
    assert r.exit_code == 0, r.output
    line = next(x for x in r.output.splitlines() if team in x and "客服销售额" in x)
    gap = team_mtd["sales_amount"] - 100000
    sign = "+" if gap > 0 else "−"
    assert f"¥{team_mtd['sales_amount']:,.2f}" in line and f"{sign}¥{abs(gap):,.2f}" in line and "¥100,000.00" in line
