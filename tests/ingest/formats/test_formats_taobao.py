"""淘宝/天猫 ExportOrderList: both header generations, Excel damage, statuses."""

from __future__ import annotations

import pytest

from kefu.ingest.formats import FormatError, parse
from kefu.ingest.formats.orders import STATUS_MAP, status_of
from kefu.schema import ORDER_STATUSES

SHOP = "测试旗舰店"
NEW_HEADER = "订单编号,买家会员名,买家实付金额,订单状态,买家下单时间,买家付款时间"


def orders(parsed):
    return parsed.tables["orders"].to_pylist()


def test_classic_header(exports, check):
    parsed = parse(exports / "taobao" / "ExportOrderList_classic.csv", shop=SHOP)
    check(parsed)
    assert (parsed.format, parsed.encoding, parsed.read) == ("taobao_orders", "gb18030", 7)
    rows = orders(parsed)
    assert rows[0] == {
        "order_id": "2612345678901234567",
        "shop": SHOP,
        "buyer": "tb_buyer_01",
        "created_at": "2026-03-05 10:22:10",
        "paid_at": "2026-03-05 10:23:01",
        "amount": "199.00",
        "status": "success",
        "_line": 2,
    }
    assert [(r["order_id"][-3:], r["status"], r["paid_at"] != "") for r in rows] == [
        ("567", "success", True),
        ("568", "shipped", True),
        ("569", "paid", True),
        ("570", "unpaid", False),
        ("571", "closed", False),
        ("572", "closed", True),
        ("573", "refunding", True),
    ]  # 退款中: a paid order in refund (issue #11.6)
    # the second order's 买家留言 spans two lines: the next order starts on line 5
    assert [r["_line"] for r in rows] == [2, 3, 5, 6, 7, 8, 9]
    assert parsed.rejects == []


def test_newer_header_with_tab_protected_ids(exports, check):
    parsed = parse(exports / "taobao" / "ExportOrderList_new.csv", shop=SHOP)
    check(parsed)
    assert parsed.rejects == [] and parsed.read == 5
    rows = orders(parsed)
    assert [r["order_id"] for r in rows] == [f"37123456789012345{i:02d}" for i in range(1, 6)]
    assert [r["status"] for r in rows] == ["success", "paid", "shipped", "unpaid", "closed"]
    assert rows[3]["paid_at"] == "" and rows[0]["amount"] == "259.00"


def test_excel_scientific_ids_are_rejected(exports, check):
    parsed = parse(exports / "taobao" / "ExportOrderList_excel_damaged.csv", shop=SHOP)
    check(parsed)
    assert parsed.tables["orders"].num_rows == 0 and parsed.read == 4
    assert [r.line for r in parsed.rejects] == [2, 3, 4, 5]
    assert all("digits lost" in r.reason for r in parsed.rejects)
    assert "order number damaged by Excel (1.23457E+18): digits lost" in parsed.rejects[3].reason
    assert "has no seconds" in parsed.rejects[0].reason  # every problem of the row is named


def test_excel_rounded_ids_are_rejected(exports, check):
    parsed = parse(exports / "taobao" / "ExportOrderList_excel_rounded.csv", shop=SHOP)
    check(parsed)
    assert parsed.tables["orders"].num_rows == 0
    assert all("rounded by Excel" in r.reason for r in parsed.rejects)


def test_a_few_genuine_ids_ending_in_zeros_are_kept(write):
    rows = ["3712345678901230000", "3712345678901234502", "3712345678901234000", "3712345678901230001"]
    text = (
        NEW_HEADER
        + "\n"
        + "".join(f"{oid},tb_{i},1.00,交易成功,2026-03-05 10:00:00,2026-03-05 10:00:01\n" for i, oid in enumerate(rows))
    )
    parsed = parse(write(text, name="o.csv"), shop=SHOP)
    assert [r["order_id"] for r in orders(parsed)] == rows


@pytest.mark.parametrize(
    "cell, expected",
    [
        ('="2612345678901234567"', "2612345678901234567"),
        ('"=""2612345678901234567"""', "2612345678901234567"),
        ('"\t2612345678901234567"', "2612345678901234567"),
        ("\t2612345678901234567", "2612345678901234567"),
        ("2612345678901234567", "2612345678901234567"),
        (" 2612345678901234567 ", "2612345678901234567"),
    ],
)
def test_protected_ids_are_read_exactly(write, cell, expected):
    path = write(f"{NEW_HEADER}\n{cell},tb_a,10.00,交易成功,2026-03-05 10:00:00,2026-03-05 10:00:10\n", name="o.csv")
    assert orders(parse(path, shop=SHOP))[0]["order_id"] == expected


@pytest.mark.parametrize(
    "cell, reason",
    [
        ("1.23457E+18", "order number damaged by Excel (1.23457E+18): digits lost"),
        ("2.61235e18", "digits lost"),
        ("", "order number empty"),
        ("TB-123", "is not a number"),
    ],
)
def test_bad_ids_are_rejected(write, check, cell, reason):
    path = write(f"{NEW_HEADER}\n{cell},tb_a,10.00,交易成功,2026-03-05 10:00:00,2026-03-05 10:00:10\n", name="o.csv")
    parsed = parse(path, shop=SHOP)
    check(parsed)
    assert reason in parsed.rejects[0].reason


@pytest.mark.parametrize(
    "created, paid, problem",
    [
        ("2026/3/5 10:00:00", "", None),
        ("2026-3-5 9:00:00", "2026-3-5 9:00:01", None),
        ("2026-03-05 10:00:00.0", "", None),
        ("", "", "买家下单时间 empty"),
        ("2026/3/5 10:00", "", "has no seconds"),
        ("2026/3/5", "", "no time of day"),
        ("2026-02-30 10:00:00", "", "'2026-02-30 10:00:00': no such date 2026-02-30"),
        ("2026-03-05 10:00:00", "昨天", "买家付款时间 '昨天' is not a time"),
    ],
)
def test_times(write, created, paid, problem):
    path = write(f'{NEW_HEADER}\n="1",tb_a,10.00,交易成功,{created},{paid}\n', name="o.csv")
    parsed = parse(path, shop=SHOP)
    if problem is None:
        row = orders(parsed)[0]
        assert row["created_at"][:10] == ("2026-03-05")
        assert len(row["created_at"]) == 19 and (row["paid_at"] == "" or len(row["paid_at"]) == 19)
    else:
        assert problem in parsed.rejects[0].reason


@pytest.mark.parametrize(
    "text, status",
    [
        ("等待买家付款", "unpaid"),
        ("买家已付款", "paid"),
        ("等待卖家发货", "paid"),
        ("买家已付款，等待卖家发货", "paid"),
        ("买家已付款,等待卖家发货", "paid"),
        ("卖家已发货", "shipped"),
        ("等待买家确认", "shipped"),
        ("卖家已发货，等待买家确认", "shipped"),
        ("交易成功", "success"),
        ("交易关闭", "closed"),
        (" 交易成功 ", "success"),
        ("等待付款", "unpaid"),
        ("等待出库", "paid"),
        ("等待确认收货", "shipped"),
        ("完成", "success"),
        ("已取消", "closed"),
        ("锁定", "refunding"),
        ("退款中", "refunding"),
        ("", None),
        ("paid", None),
    ],
)
def test_status_mapping(text, status):
    assert status_of(text) == status


def test_every_status_maps_to_a_canonical_value():
    assert set(STATUS_MAP.values()) == set(ORDER_STATUSES)


def test_amount_cleaning(write):
    text = (
        NEW_HEADER + "\n"
        '="1",tb_a,"¥1,299.00",交易成功,2026-03-05 10:00:00,\n'
        '="2",tb_b,="88.5",交易成功,2026-03-05 10:00:00,\n'
        '="3",tb_c,免费,交易成功,2026-03-05 10:00:00,\n'
        '="4",tb_d,,交易成功,2026-03-05 10:00:00,\n'
    )
    parsed = parse(write(text, name="o.csv"), shop=SHOP)
    # an amount that is not a number is passed through for validation to reject
    assert [r["amount"] for r in orders(parsed)] == ["1299.00", "88.5", "免费"]
    assert "买家实付金额 empty" in parsed.rejects[0].reason


def test_short_rows_blank_rows_and_trailing_commas(write, check):
    text = NEW_HEADER + ',\n="1",tb_a,10.00,交易成功,2026-03-05 10:00:00,,\n,,,,,\n\n="2",tb_b,10.00\n'
    parsed = parse(write(text, name="o.csv"), shop=SHOP)
    check(parsed)
    assert parsed.read == 2
    assert parsed.rejects[0].line == 5 and "row has 3 fields" in parsed.rejects[0].reason


def test_shop_is_required(exports):
    with pytest.raises(FormatError, match="shop") as err:
        parse(exports / "taobao" / "ExportOrderList_new.csv")
    assert "ExportOrderList_new.csv" in str(err.value)


def test_missing_required_column(write):
    path = write('订单编号,买家会员名,订单状态,买家下单时间,买家付款时间\n="1",a,交易成功,,\n', name="o.csv")
    with pytest.raises(FormatError, match="买家实际支付金额/买家实付金额"):
        parse(path, shop=SHOP)


def test_tab_separated_export(write):
    text = NEW_HEADER.replace(",", "\t") + "\n1\ttb_a\t10.00\t交易成功\t2026-03-05 10:00:00\t\n"
    assert orders(parse(write(text, name="o.txt"), shop=SHOP))[0]["buyer"] == "tb_a"


def test_xlsx_export(exports, check):
    parsed = parse(exports / "taobao" / "ExportOrderList_new.xlsx", shop=SHOP)
    check(parsed)
    assert (parsed.format, parsed.encoding) == ("taobao_orders", "xlsx")
    assert orders(parsed)[0] == {
        "order_id": "3712345678901234501",
        "shop": SHOP,
        "buyer": "tb_buyer_1",
        "created_at": "2026-11-11 00:01:05",
        "paid_at": "2026-11-11 00:01:09",
        "amount": "259",
        "status": "success",
        "_line": 2,
    }


def test_xlsx_numeric_ids_are_rejected(exports, check):
    parsed = parse(exports / "taobao" / "ExportOrderList_damaged.xlsx", shop=SHOP)
    check(parsed)
    assert parsed.tables["orders"].num_rows == 0 and len(parsed.rejects) == 2
    assert all("stored as a number by Excel" in r.reason and "digits lost" in r.reason for r in parsed.rejects)
