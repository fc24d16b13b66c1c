"""What an import stores when an order comes again (issues #11, #12): the key is (shop, order id),
a state only moves forward, and every change is reported as 更新 with the fields it changed."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from kefu import api
from kefu.cli.main import app
from kefu.ingest.formats.orders import status_of
from kefu.ingest.pipeline import import_paths
from kefu.schema import ORDER_LIFECYCLE, ORDER_STATUSES
from kefu.workspace import Workspace

EXPORTS = Path(__file__).parent.parent / "fixtures" / "exports"
# The newer 淘宝 ExportOrderList header, as in tests/fixtures/exports/taobao/ExportOrderList_new.csv.
TAOBAO_HEADER = (
    "订单编号,买家会员名,买家支付宝账号,买家应付货款,买家应付邮费,买家实付金额,订单状态,买家留言,收货人姓名,"
    "收货地址,运送方式,联系手机,买家下单时间,买家付款时间,宝贝标题,宝贝规格,宝贝数量,商家备注,运单号,物流公司,"
    "发货时间,订单关闭原因,店铺名称"
)
ORDER_ID = "3712345678901234599"


def taobao_export(path: Path, *rows: tuple[str, str, str, str, str, str]) -> Path:
    """A GBK ExportOrderList with rows (order id, buyer, amount, status, created, paid)."""
    lines = [TAOBAO_HEADER]
    for oid, buyer, amount, status, created, paid in rows:
        lines.append(
            f"\t{oid},{buyer},{buyer}@example.com,{amount},0.00,{amount},{status},,李四,广东省 深圳市 南山区,快递,"
            f"\t13900000000,{created},{paid},连衣裙,颜色分类:黑色;尺码:M,1,,\tSF0000000001,顺丰速运,,,店"
        )
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode("gbk"))
    return path


def qianniu_chat(path: Path, shop: str, agent: str, buyer: str, day: str) -> Path:
    path.write_text(
        f"{buyer} {day} 10:00:00\n这款有M码吗\n{shop}:{agent} {day} 10:00:20\n有的亲\n已读\n", encoding="utf-8"
    )
    return path


def orders(ws: Workspace) -> list[tuple]:
    return ws.con.execute(
        "SELECT shop, order_id, buyer, status, paid_at::VARCHAR, amount::VARCHAR FROM orders ORDER BY shop, order_id"
    ).fetchall()


def counts(report) -> tuple[int, int, int]:
    return report.added, report.updated, report.duplicates


# --- A: an order id is unique within a shop ---------------------------------------------------------


def test_the_same_order_number_in_two_shops_is_two_orders_credited_to_each_shops_agent(tmp_path):
    ws = Workspace.memory()
    paid = ("2026-11-11 10:05:00", "2026-11-11 10:06:00")
    for shop, agent, buyer, amount in (
        ("甲店", "小王", "tb_buyer_a", "100.00"),
        ("乙店", "小李", "tb_buyer_b", "30.00"),
    ):
        folder = tmp_path / shop
        folder.mkdir()
        qianniu_chat(folder / f"{shop}-{agent}-{buyer}.txt", shop, agent, buyer, "2026-11-11")
        taobao_export(folder / "ExportOrderList.csv", (ORDER_ID, buyer, amount, "买家已付款，等待卖家发货", *paid))
        reports = {r.table: r for r in import_paths(ws, [folder], shop=shop)}
        assert counts(reports["orders"]) == (1, 0, 0)  # 新增 in each shop: nothing was replaced
    assert orders(ws) == [
        ("乙店", ORDER_ID, "tb_buyer_b", "paid", paid[1], "30.00"),
        ("甲店", ORDER_ID, "tb_buyer_a", "paid", paid[1], "100.00"),
    ]
    sales = {r["agent"]: (r["attributed_orders"], r["sales_amount"]) for r in api.kpis(ws, ["agent", "day"])}
    assert sales == {"甲店:小王": (1, 100.0), "乙店:小李": (1, 30.0)}


def test_refunds_are_keyed_by_shop_and_refund_id(tmp_path):
    ws = Workspace.memory()
    header = "refund_id,order_id,shop,applied_at,finished_at,amount,status,reason,agent\n"
    for shop in ("甲店", "乙店"):
        path = tmp_path / f"refunds-{shop}.csv"
        path.write_text(
            header + f"r1,o1,{shop},2026-11-12 10:00:00,,19.90,pending,多拍了,{shop}:小王\n", encoding="utf-8"
        )
        [report] = import_paths(ws, [path])
        assert counts(report) == (1, 0, 0)
    assert ws.con.execute("SELECT shop FROM refunds ORDER BY shop").fetchall() == [("乙店",), ("甲店",)]


# --- B: orders in refund are paid orders --------------------------------------------------------------


def test_a_taobao_order_in_refund_is_imported_as_paid_and_counts_in_sales_on_its_payment_day(tmp_path):
    ws = Workspace.memory()
    folder = tmp_path / "export"
    folder.mkdir()
    qianniu_chat(folder / "甲店-小王-tb_buyer_a.txt", "甲店", "小王", "tb_buyer_a", "2026-11-11")
    taobao_export(
        folder / "ExportOrderList.csv",
        (ORDER_ID, "tb_buyer_a", "259.00", "退款中", "2026-11-11 10:05:00", "2026-11-11 10:06:00"),
    )
    reports = {r.table: r for r in import_paths(ws, [folder], shop="甲店")}
    assert (reports["orders"].accepted, reports["orders"].rejected) == (1, 0)
    assert orders(ws) == [("甲店", ORDER_ID, "tb_buyer_a", "refunding", "2026-11-11 10:06:00", "259.00")]
    [row] = api.kpis(ws, ["agent", "day"])
    assert (row["day"], row["attributed_orders"], row["sales_amount"]) == ("2026-11-11", 1, 259.0)


@pytest.mark.parametrize(
    "text, status",
    [
        ("退款中", "refunding"),
        ("交易关闭", "closed"),
        ("退款成功", "closed"),
        ("部分退款", "paid"),
        ("等待买家确认收货", "shipped"),
        ("卖家已发货", "shipped"),
        ("卖家已发货，等待买家确认", "shipped"),
        ("等待出库", "paid"),
        ("等待确认收货", "shipped"),
        ("完成", "success"),
        ("已取消", "closed"),
        ("锁定", "refunding"),
    ],
)
def test_common_taobao_and_jd_statuses_are_known(text, status):
    assert status_of(text) == status


def test_a_truly_unknown_status_is_still_rejected_naming_it(tmp_path):
    ws = Workspace.memory()
    path = taobao_export(
        tmp_path / "ExportOrderList.csv", (ORDER_ID, "tb_buyer_a", "9.00", "神秘状态", "2026-11-11 10:05:00", "")
    )
    [report] = import_paths(ws, [path], shop="甲店")
    assert report.rejected == 1 and report.problems == [(2, "unknown 订单状态 '神秘状态'")]


def test_the_lifecycle_ranks_every_status():
    assert set(ORDER_STATUSES) == {s for rank in ORDER_LIFECYCLE for s in rank}


# --- C: a state only moves forward, and a change is reported as 更新 ------------------------------------


def test_a_later_state_updates_the_order_and_is_reported_with_what_changed(tmp_path):
    ws = Workspace.memory()
    created = "2026-11-11 10:05:00"
    import_paths(
        ws,
        [
            taobao_export(
                tmp_path / "ExportOrderList-1.csv", (ORDER_ID, "tb_buyer_a", "99.00", "等待买家付款", created, "")
            )
        ],
        shop="甲店",
    )
    [report] = import_paths(
        ws,
        [
            taobao_export(
                tmp_path / "ExportOrderList-2.csv",
                (ORDER_ID, "tb_buyer_a", "99.00", "买家已付款", created, "2026-11-11 10:06:00"),
            )
        ],
        shop="甲店",
    )
    assert counts(report) == (0, 1, 0) and report.changed == {"paid_at": 1, "status": 1}
    assert orders(ws) == [("甲店", ORDER_ID, "tb_buyer_a", "paid", "2026-11-11 10:06:00", "99.00")]
    ledger = ws.con.execute("SELECT added, updated, changed FROM imports ORDER BY import_id").fetchall()
    assert ledger == [(1, 0, None), (0, 1, "paid_at 1, status 1")]
    # The replaced version is kept.
    assert ws.con.execute("SELECT status, paid_at, import_id FROM orders_history").fetchall() == [("unpaid", None, 2)]


def test_an_older_export_imported_later_changes_nothing(tmp_path):
    ws = Workspace.memory()
    created, paid = "2026-11-11 10:05:00", "2026-11-11 10:06:00"
    import_paths(
        ws,
        [
            taobao_export(
                tmp_path / "ExportOrderList-new.csv", (ORDER_ID, "tb_buyer_a", "99.00", "交易关闭", created, paid)
            )
        ],
        shop="甲店",
    )
    for number, (status, paid_at) in enumerate((("等待买家付款", ""), ("买家已付款", paid), ("卖家已发货", paid))):
        [report] = import_paths(
            ws,
            [
                taobao_export(
                    tmp_path / f"ExportOrderList-old{number}.csv",
                    (ORDER_ID, "tb_buyer_a", "99.00", status, created, paid_at),
                )
            ],
            shop="甲店",
        )
        assert counts(report) == (0, 0, 1), status
    # closed stays closed, and the known payment is not erased (the day's sales stay).
    assert orders(ws) == [("甲店", ORDER_ID, "tb_buyer_a", "closed", paid, "99.00")]


def test_within_one_import_the_state_decides_not_the_file_name_order(tmp_path):
    ws = Workspace.memory()
    folder = tmp_path / "exports"
    folder.mkdir()
    created, paid = "2026-11-11 10:05:00", "2026-11-11 10:06:00"
    taobao_export(
        folder / "ExportOrderList-a.csv", (ORDER_ID, "tb_buyer_a", "99.00", "交易成功", created, paid)
    )  # newer, read first
    taobao_export(folder / "ExportOrderList-b.csv", (ORDER_ID, "tb_buyer_a", "99.00", "等待买家付款", created, ""))
    first, second = import_paths(ws, [folder], shop="甲店")
    assert (counts(first), counts(second)) == ((1, 0, 0), (0, 0, 1))
    assert orders(ws) == [("甲店", ORDER_ID, "tb_buyer_a", "success", paid, "99.00")]


def test_a_source_modification_time_decides_before_the_status(tmp_path):
    """After a withdrawn refund the order is 已发货 again: with 修改时间 the newest row wins even though
    退款中 ranks later; without it the lifecycle rank decides."""
    ws = Workspace.memory()
    header = "order_id,shop,buyer,created_at,paid_at,amount,status,updated_at,export\n"
    row = "o1,甲店,b1,2026-11-11 10:05:00,2026-11-11 10:06:00,99.00,{},{},{}\n"
    steps = [
        ("refunding", "2026-11-12 09:00:00", (1, 0, 0)),
        ("shipped", "2026-11-12 18:00:00", (0, 1, 0)),
        ("refunding", "2026-11-12 09:00:00", (0, 0, 1)),
        ("success", "", (0, 1, 0)),
    ]
    for number, (status, updated, expected) in enumerate(steps):
        path = tmp_path / f"orders-{number}.csv"
        path.write_text(header + row.format(status, updated, number), encoding="utf-8")
        [report] = import_paths(ws, [path])
        assert counts(report) == expected, (status, updated)
    assert ws.con.execute("SELECT status, updated_at::VARCHAR FROM orders").fetchall() == [
        ("success", "2026-11-12 18:00:00")
    ]


def test_kefu_import_prints_new_updated_and_duplicate_counts(tmp_path):
    runner, ws = CliRunner(), tmp_path / "ws"
    created = "2026-11-11 10:05:00"
    unpaid = taobao_export(
        tmp_path / "ExportOrderList-1.csv",
        (ORDER_ID, "tb_buyer_a", "99.00", "等待买家付款", created, ""),
        ("3712345678901234598", "tb_buyer_b", "10.00", "交易成功", created, created),
    )
    paid = taobao_export(
        tmp_path / "ExportOrderList-2.csv",
        (ORDER_ID, "tb_buyer_a", "99.00", "买家已付款", created, "2026-11-11 10:06:00"),
        ("3712345678901234598", "tb_buyer_b", "10.00", "交易成功", created, created),
    )
    assert runner.invoke(app, ["import", str(ws), "--shop", "甲店", str(unpaid)]).exit_code == 0
    result = runner.invoke(app, ["import", str(ws), "--shop", "甲店", str(paid)])
    assert result.exit_code == 0, result.output
    assert "更新" in result.output  # the table's column of updated rows
    assert "ExportOrderList-2.csv: 更新 1 (paid_at 1, status 1)" in result.output


def test_a_workspace_created_before_the_change_is_migrated(tmp_path):
    """A workspace file written by an earlier kefu (orders without updated_at, a ledger without
    updated/changed) opens and imports."""
    import duckdb

    folder = tmp_path / "ws"
    folder.mkdir()
    con = duckdb.connect(str(folder / "kefu.duckdb"))
    con.execute("""CREATE TABLE orders (order_id VARCHAR, shop VARCHAR, buyer VARCHAR, created_at TIMESTAMP, paid_at TIMESTAMP,
                   amount DECIMAL(18,2), status VARCHAR, extra VARCHAR, src_file VARCHAR, src_line INTEGER)""")
    con.execute(
        "INSERT INTO orders VALUES ('o1', '甲店', 'b1', '2026-11-11 10:05:00', NULL, 99.00, 'unpaid', NULL, 'old.csv', 2)"
    )
    con.execute("""CREATE TABLE imports (import_id INTEGER, file VARCHAR, sha256 VARCHAR, format VARCHAR, encoding VARCHAR,
                   tbl VARCHAR, read BIGINT, accepted BIGINT, rejected BIGINT, added BIGINT,
                   imported_at TIMESTAMP DEFAULT current_timestamp)""")
    con.execute(
        "INSERT INTO imports (import_id, file, sha256, tbl, read, accepted, rejected, added) VALUES (1, 'old.csv', 'x', 'orders', 1, 1, 0, 1)"
    )
    con.close()
    path = tmp_path / "orders.csv"
    path.write_text(
        "order_id,shop,buyer,created_at,paid_at,amount,status\no1,甲店,b1,2026-11-11 10:05:00,2026-11-11 10:06:00,99.00,paid\n",
        encoding="utf-8",
    )
    with Workspace.open(folder) as ws:
        [report] = import_paths(ws, [path])
        assert counts(report) == (0, 1, 0)
        assert ws.con.execute("SELECT status, updated_at FROM orders").fetchall() == [("paid", None)]


def test_a_refund_nets_only_its_own_shops_order(tmp_path):
    """Pay subtracts a finished refund from the credited order it belongs to: of its shop, not of
    another shop's order with the same number."""
    from kefu.config import Params
    from kefu.pay.sources import counted_refunds

    ws = Workspace.memory()
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "messages.csv").write_text(
        "ts,shop,buyer,agent,sender,text\n"
        + "".join(
            f"2026-11-11 10:00:00,{shop},b1,{shop}:小王,buyer,在吗\n2026-11-11 10:00:10,{shop},b1,{shop}:小王,agent,在的\n"
            for shop in ("甲店", "乙店")
        ),
        encoding="utf-8",
    )
    (folder / "orders.csv").write_text(
        "order_id,shop,buyer,created_at,paid_at,amount,status\n"
        + "".join(f"o1,{shop},b1,2026-11-11 10:05:00,2026-11-11 10:06:00,100.00,paid\n" for shop in ("甲店", "乙店")),
        encoding="utf-8",
    )
    (folder / "refunds.csv").write_text(
        "refund_id,order_id,shop,applied_at,finished_at,amount,status,reason,agent\n"
        "r1,o1,甲店,2026-11-12 10:00:00,2026-11-12 12:00:00,40.00,success,尺码不合适,甲店:小王\n",
        encoding="utf-8",
    )
    import_paths(ws, [folder])
    rows = counted_refunds(ws, Params()).execute()
    assert rows[["shop", "agent", "counted"]].astype(str).values.tolist() == [["甲店", "甲店:小王", "40.00"]]
