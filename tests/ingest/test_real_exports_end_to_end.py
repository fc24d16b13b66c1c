"""Real exports, as shops download them, imported and computed end to end (issue 3)."""

from pathlib import Path

from typer.testing import CliRunner

from kefu import api
from kefu.cli.main import app
from kefu.ingest.pipeline import import_paths
from kefu.workspace import Workspace

EXPORTS = Path(__file__).parent.parent / "fixtures" / "exports"
SHOP = "测试旗舰店"


def test_qianniu_chat_to_kpis(tmp_path):
    ws = Workspace.memory()
    reports = import_paths(ws, [EXPORTS / "qianniu"], shop=SHOP)
    assert all(r.read == r.accepted + r.rejected for r in reports)
    rows = {(r["agent"], r["day"]): r for r in api.kpis(ws, ["agent", "day"])}
    # 小王: asked 10:18:40, answered 10:19:02 → 22 s. The transfer at 10:19:30 follows an answered
    # message, so opens nothing; 小李 is asked at 10:20:05 and answers 10:21:00 → 55 s.
    wang, li = rows[(f"{SHOP}:小王", "2026-03-05")], rows[(f"{SHOP}:小李", "2026-03-05")]
    assert (wang["questions"], wang["avg_response_s"], wang["agent_msgs"], wang["buyer_msgs"]) == (1, 22.0, 2, 1)
    assert (li["questions"], li["avg_response_s"], li["buyer_msgs"]) == (1, 55.0, 2)
    # The recall is kept as an event, not counted as a message.
    assert (
        ws.con.execute("SELECT count(*) FROM chat_events WHERE buyer = 'tb_buyer_01' AND kind = 'recall'").fetchone()[0]
        == 1
    )


def test_excel_damaged_orders_are_rejected_with_the_reason(tmp_path):
    ws = Workspace.memory()
    [report] = import_paths(ws, [EXPORTS / "taobao" / "ExportOrderList_excel_damaged.csv"], shop=SHOP)
    assert (report.format, report.accepted, report.rejected) == ("taobao_orders", 0, report.read)
    assert all("damaged by Excel" in reason for _, reason in report.problems)


def test_cli_import_with_shop_dry_run_then_real(tmp_path):
    runner, ws = CliRunner(), tmp_path / "ws"
    args = [
        "import",
        str(ws),
        "--shop",
        SHOP,
        str(EXPORTS / "qianniu"),
        str(EXPORTS / "taobao" / "ExportOrderList_new.csv"),
    ]
    dry = runner.invoke(app, [*args[:2], "--dry-run", *args[2:]])
    assert dry.exit_code == 0 and "taobao_orders" in dry.output and not ws.exists()
    assert runner.invoke(app, args).exit_code == 0
    again = runner.invoke(app, args)
    assert again.exit_code == 0
    with Workspace.open(ws, read_only=True) as workspace:
        assert workspace.count("orders") == 5


def test_chat_of_a_main_account_uses_the_agents_imported_before_it_in_the_same_run(tmp_path):
    # z.txt (a copy of tb_buyer_05.txt) is written by the main account 测试旗舰店 (no 店铺:客服
    # prefix): only agents-extra.csv, imported earlier in the same run, says it is the shop's.
    # a.txt is parsed before agents-extra.csv is stored, so the known accounts must be re-read.
    folder = tmp_path / "export"
    folder.mkdir()
    (folder / "a.txt").write_bytes((EXPORTS / "qianniu" / "测试旗舰店-小王-tb_buyer_01.txt").read_bytes())
    (folder / "agents-extra.csv").write_text(f"agent,shop\n{SHOP},{SHOP}\n", encoding="utf-8")
    (folder / "z.txt").write_bytes((EXPORTS / "qianniu" / "tb_buyer_05.txt").read_bytes())
    ws = Workspace.memory()
    reports = import_paths(ws, [folder])
    assert not any(r.error for r in reports), [r.error for r in reports]
    main_account = ws.con.execute("SELECT DISTINCT agent FROM messages WHERE src_file LIKE '%z.txt'").fetchall()
    assert main_account == [(SHOP,)]
