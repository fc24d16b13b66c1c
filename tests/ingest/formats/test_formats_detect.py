"""detect(): real exports are recognised by content; canonical files are not ours."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from kefu.ingest.formats import FormatError, detect, parse


@pytest.mark.parametrize(
    "relative, fmt",
    [
        ("qianniu/测试旗舰店-小王-tb_buyer_01.txt", "qianniu_chat"),
        ("qianniu/tb_buyer_02.txt", "qianniu_chat"),
        ("qianniu/tb_buyer_04.txt", "qianniu_chat"),
        ("taobao/ExportOrderList_classic.csv", "taobao_orders"),
        ("taobao/ExportOrderList_new.csv", "taobao_orders"),
        ("taobao/ExportOrderList_excel_damaged.csv", "taobao_orders"),
        ("taobao/ExportOrderList_new.xlsx", "taobao_orders"),
        ("jd/jd_orders.csv", "jd_orders"),
        ("jd/jd_orders.xlsx", "jd_orders"),
    ],
)
def test_fixtures_are_detected(exports, relative, fmt):
    assert detect(exports / relative) == fmt


def test_canonical_files_are_not_ours(tmp_path):
    messages = tmp_path / "messages.csv"
    messages.write_text(
        "ts,shop,buyer,agent,sender,text\n2026-03-05 10:00:00,s,b1,s:ann,buyer,在吗\n", encoding="utf-8"
    )
    orders = tmp_path / "orders.csv"
    orders.write_text(
        "order_id,shop,buyer,created_at,paid_at,amount,status\n"
        "o1,s,b1,2026-03-05 10:07:00,2026-03-05 10:08:00,199.00,paid\n",
        encoding="utf-8-sig",
    )
    refunds = tmp_path / "refunds.csv"
    refunds.write_text(
        "refund_id,order_id,shop,applied_at,finished_at\nr1,o1,s,2026-03-05 10:00:00,2026-03-06 10:00:00\n",
        encoding="utf-8",
    )
    parquet = tmp_path / "messages.parquet"
    pq.write_table(pa.table({"ts": ["2026-03-05 10:00:00"], "shop": ["s"]}), parquet)
    for path in (messages, orders, refunds, parquet):
        assert detect(path) is None, path


def test_unknown_or_missing_files(tmp_path):
    assert detect(tmp_path / "missing.txt") is None
    assert detect(tmp_path) is None
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    assert detect(empty) is None
    with pytest.raises(FormatError):
        parse(empty)
    with pytest.raises(FormatError, match="cannot read"):
        parse(tmp_path / "missing.txt")


def test_order_header_after_a_title_row(write):
    path = write(
        "订单列表导出 2026-03-01 至 2026-03-31\n"
        "订单编号,买家会员名,买家实付金额,订单状态,买家下单时间,买家付款时间\n"
        '="3712345678901234501",tb_a,10.00,交易成功,2026-03-05 10:00:00,2026-03-05 10:00:10\n',
        name="ExportOrderList.csv",
    )
    assert detect(path) == "taobao_orders"
    parsed = parse(path, shop="s")
    assert parsed.tables["orders"].column("_line").to_pylist() == [3]


def test_legacy_xls_is_explained(tmp_path):
    path = tmp_path / "orders.xls"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600)
    assert detect(path) is None
    with pytest.raises(FormatError, match=r"\.xls"):
        parse(path, shop="s")


def test_damaged_xlsx(tmp_path):
    path = tmp_path / "orders.xlsx"
    path.write_bytes(b"PK\x03\x04" + b"garbage" * 10)
    assert detect(path) is None
    with pytest.raises(FormatError, match="xlsx"):
        parse(path, shop="s")
