"""京东 order export: several lines per order fold into one order."""

from __future__ import annotations

from kefu.ingest.formats import parse

SHOP = "京东测试店"
HEADER = "订单号,商品ID,订购数量,下单时间,京东价,订单金额,应付金额,订单状态,下单帐号,付款确认时间"


def orders(parsed):
    return {r["order_id"]: r for r in parsed.tables["orders"].to_pylist()}


def test_fixture_folding(exports, check):
    parsed = parse(exports / "jd" / "jd_orders.csv", shop=SHOP)
    check(parsed)
    assert (parsed.format, parsed.encoding) == ("jd_orders", "utf-8-sig")
    rows = orders(parsed)
    # 12 lines: 7 orders + 1 line whose order number Excel destroyed = 8 records
    assert (parsed.read, len(rows), len(parsed.rejects)) == (8, 6, 2)
    assert rows["301234567890"] == {
        "order_id": "301234567890",
        "shop": SHOP,
        "buyer": "jd_buyer_a",
        "created_at": "2026-06-18 00:05:11",
        "paid_at": "2026-06-18 00:05:40",
        "amount": "288.00",
        "status": "success",
        "_line": 2,
    }  # 应付金额 once, not 3 × 288
    assert rows["301234567891"]["paid_at"] == "" and rows["301234567891"]["status"] == "unpaid"
    assert rows["301234567892"]["amount"] == "208.00"  # values only on the first line
    assert rows["301234567893"]["status"] == "shipped"
    assert rows["301234567894"]["status"] == "closed"
    reasons = {r.line: r.reason for r in parsed.rejects}
    assert "disagree on 应付金额 ('188.00' vs '178.00')" in reasons[10]
    assert rows["301234567896"]["status"] == "refunding"  # 锁定: frozen while a cancellation is decided (issue #11.6)
    assert "digits lost" in reasons[13]
    assert parsed.rejects[0].raw.count("\n") == 1  # both lines of the order are shown


def test_fixture_xlsx(exports, check):
    parsed = parse(exports / "jd" / "jd_orders.xlsx", shop=SHOP)
    check(parsed)
    csv_rows = orders(parse(exports / "jd" / "jd_orders.csv", shop=SHOP))
    xlsx_rows = orders(parsed)
    assert xlsx_rows.keys() == csv_rows.keys()
    for oid, row in xlsx_rows.items():
        assert float(row["amount"]) == float(csv_rows[oid]["amount"])
        assert row["created_at"] == csv_rows[oid]["created_at"]


def test_order_amount_falls_back_to_order_total(write):
    text = (
        "订单号,商品ID,下单时间,订单金额,订单状态,下单帐号,付款确认时间\n"
        "1001,a,2026-06-18 10:00:00,50.00,完成,jd_x,2026-06-18 10:00:05\n"
        "1001,b,2026-06-18 10:00:00,50.00,完成,jd_x,2026-06-18 10:00:05\n"
    )
    assert orders(parse(write(text, name="jd.csv"), shop=SHOP))["1001"]["amount"] == "50.00"


def test_lines_of_one_order_need_not_be_adjacent(write, check):
    text = (
        HEADER + "\n"
        "2001,a,1,2026-06-18 10:00:00,10,30,25,完成,jd_x,2026-06-18 10:00:05\n"
        "2002,a,1,2026-06-18 11:00:00,10,10,10,等待付款,jd_y,\n"
        "2001,b,2,2026-06-18 10:00:00,10,30,25,完成,jd_x,2026-06-18 10:00:05\n"
    )
    parsed = parse(write(text, name="jd.csv"), shop=SHOP)
    check(parsed)
    rows = orders(parsed)
    assert parsed.read == 2 and rows["2001"]["amount"] == "25" and rows["2001"]["_line"] == 2


def test_disagreeing_buyer_is_rejected(write):
    text = (
        HEADER + "\n"
        "3001,a,1,2026-06-18 10:00:00,10,30,25,完成,jd_x,2026-06-18 10:00:05\n"
        "3001,b,1,2026-06-18 10:00:00,10,30,25,完成,jd_z,2026-06-18 10:00:05\n"
    )
    parsed = parse(write(text, name="jd.csv"), shop=SHOP)
    assert parsed.read == 1 and "disagree on 下单帐号" in parsed.rejects[0].reason
