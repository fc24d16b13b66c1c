"""`kefu qc review …` and `kefu qc ledger …` on a workspace folder: what a 质检 or a 主管 types."""

from __future__ import annotations

import json

import pytest
from qc_rows import add_finding
from shops import msg, write_table
from typer.testing import CliRunner

from kefu.cli.main import app
from kefu.ingest.pipeline import import_paths
from kefu.workspace import Workspace

runner = CliRunner()


@pytest.fixture
def ws(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    write_table(
        data,
        "messages",
        [
            msg("2026-11-03 10:00:00", "buyer", agent="s:ann"),
            msg("2026-11-03 10:00:10", "agent", agent="s:ann", text="滚"),
            msg("2026-11-03 11:00:00", "buyer", agent="s:bob", buyer="b2"),
            msg("2026-11-03 11:00:10", "agent", agent="s:bob", buyer="b2"),
        ],
    )
    write_table(data, "orders", [])
    path = tmp_path / "ws"
    with Workspace.open(path, create=True) as w:
        import_paths(w, [data])
        add_finding(w.con, "F1", "s:ann", "2026-11-03 10:00:10", severity="critical")
        add_finding(w.con, "F2", "s:ann", "2026-11-03 10:00:10", rule="r2", severity="low")
    return path


def kefu(*args: str):
    return runner.invoke(app, ["qc", *map(str, args)])


def test_review_from_the_command_line(ws):
    listed = json.loads(kefu("review", "list", ws, "--format", "json").stdout)
    assert [(f["finding_id"], f["status"]) for f in listed] == [("F1", "open"), ("F2", "open")]
    r = kefu("review", "confirm", ws, "F1", "--reviewer", "质检", "--comment", "辱骂买家")
    assert r.exit_code == 0 and "F1: confirmed by 质检" in r.stdout
    assert kefu("review", "dismiss", ws, "F2", "--reviewer", "质检").exit_code == 0
    confirmed = json.loads(kefu("review", "list", ws, "--status", "confirmed", "--format", "json").stdout)
    assert [(f["finding_id"], f["comment"]) for f in confirmed] == [("F1", "辱骂买家")]
    assert kefu("review", "reopen", ws, "F2").exit_code == 0
    assert [
        f["finding_id"] for f in json.loads(kefu("review", "list", ws, "--status", "open", "--format", "json").stdout)
    ] == ["F2"]
    table = kefu("review", "list", ws)
    assert table.exit_code == 0 and "F1" in table.stdout and "confirmed" in table.stdout


@pytest.mark.parametrize(
    "args, reason",
    [
        (("review", "confirm", "{ws}", "nope", "--reviewer", "质检"), "no QC finding 'nope'"),
        (("review", "list", "{ws}", "--status", "maybe"), "status is one of"),
        (("ledger", "report", "{ws}", "--reporter", "s:ann", "--description", "x", "--finding", "F1"), "own error"),
        (("ledger", "decide", "{ws}", "nope", "confirmed", "--by", "小萍"), "no peer report"),
        (("ledger", "month", "{ws}", "--month", "2026-13"), "YYYY-MM"),
    ],
)
def test_refusals_say_why_and_exit_2(ws, args, reason):
    r = kefu(*(a.format(ws=ws) for a in args))
    assert r.exit_code == 2 and reason in r.stderr


def test_ledger_from_the_command_line(ws):
    # s:bob reports F1 of s:ann; confirmed: one peer error (10). F2 confirmed in review, nobody reported it: 20.
    r = kefu("ledger", "report", ws, "--reporter", "s:bob", "--description", "说了不该说的", "--finding", "F1")
    assert r.exit_code == 0, r.stderr
    report_id = r.stdout.split()[1].rstrip(":")
    assert kefu("ledger", "decide", ws, report_id, "confirmed", "--by", "小萍").exit_code == 0
    assert kefu("review", "confirm", ws, "F2", "--reviewer", "质检").exit_code == 0
    rows = {
        r["agent"]: r for r in json.loads(kefu("ledger", "month", ws, "--month", "2026-11", "--format", "json").stdout)
    }
    assert (rows["s:ann"]["errors"], rows["s:ann"]["costs"], rows["s:ann"]["balance"]) == (2, 30.0, 70.0)
    assert rows["s:bob"]["balance"] == 100.0
    errors = json.loads(kefu("ledger", "errors", ws, "--month", "2026-11", "--format", "json").stdout)
    assert sorted((e["source"], e["cost"]) for e in errors) == [("peer", 10.0), ("supervisor", 20.0)]
    public = kefu("ledger", "public", ws, "--month", "2026-11", "--shop", "s", "--format", "json").stdout
    assert "说了不该说的" in public and "s:ann" not in public and "s:bob" not in public
    reports = json.loads(kefu("ledger", "reports", ws, "--status", "confirmed", "--format", "json").stdout)
    assert [r["report_id"] for r in reports] == [report_id]
    by_message = kefu(
        "ledger",
        "report",
        ws,
        "--reporter",
        "s:ann",
        "--description",
        "回复慢",
        "--shop",
        "s",
        "--agent",
        "s:bob",
        "--buyer",
        "b2",
        "--ts",
        "2026-11-03 11:00:10",
    )
    assert by_message.exit_code == 0, by_message.stderr


def test_settings_come_from_kefu_toml(ws):
    toml = (
        (ws / "kefu.toml")
        .read_text(encoding="utf-8")
        .replace("fund = 100", "fund = 50")
        .replace("warning_only_months = []", 'warning_only_months = ["2026-11"]')
    )
    (ws / "kefu.toml").write_text(toml, encoding="utf-8")
    kefu("review", "confirm", ws, "F1", "--reviewer", "质检")
    rows = {
        r["agent"]: r for r in json.loads(kefu("ledger", "month", ws, "--month", "2026-11", "--format", "json").stdout)
    }
    assert (
        rows["s:ann"]["fund_start"],
        rows["s:ann"]["costs"],
        rows["s:ann"]["deductions"],
        rows["s:ann"]["balance"],
        rows["s:ann"]["warning_only"],
    ) == (50.0, 20.0, 0.0, 50.0, True)
