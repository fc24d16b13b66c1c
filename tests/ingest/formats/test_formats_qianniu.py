"""千牛 chat export: every convention of formats.md's chat section."""

from __future__ import annotations

import pytest

from kefu.ingest.formats import FormatError, detect, parse

SHOP = "测试旗舰店"


def messages(parsed):
    return parsed.tables["messages"].to_pylist()


def events(parsed):
    return parsed.tables["chat_events"].to_pylist()


def cols(rows, *names):
    return [tuple(r[n] for n in names) for r in rows]


# --- headers -------------------------------------------------------------------


@pytest.mark.parametrize(
    "header",
    [
        "tb_buyer_01 2026-3-5 10:18:40",  # space before the time
        "tb_buyer_012026-3-5 10:18:40",  # no space: the nick ends in digits
        "tb_buyer_01\t2026-03-05 10:18:40",  # tab, zero-padded
        "tb_buyer_01  2026-3-5 10:18:40  ",  # extra blanks
        "tb_buyer_01\n2026-3-5 10:18:40",  # time alone on the next line
        "tb_buyer_01 2026/3/5 10:18:40",  # slashes
    ],
)
def test_header_shapes(write, check, header):
    path = write(f"{header}\n在吗\n测试旗舰店:小王 2026-3-5 10:18:50\n在的\n")
    parsed = parse(path)
    check(parsed)
    assert cols(messages(parsed), "ts", "buyer", "sender", "text") == [
        ("2026-03-05 10:18:40", "tb_buyer_01", "buyer", "在吗"),
        ("2026-03-05 10:18:50", "tb_buyer_01", "agent", "在的"),
    ]


def test_one_digit_month_day_hour_are_zero_padded(write):
    parsed = parse(write("tb_b 2026-1-2 3:04:05\nhi\n测试旗舰店:小王 2026-12-31 23:59:59\nok\n"))
    assert [m["ts"] for m in messages(parsed)] == ["2026-01-02 03:04:05", "2026-12-31 23:59:59"]


def test_buyer_nick_ending_in_a_year_like_number(write):
    parsed = parse(
        write("buyer2025 2026-3-5 10:00:00\nx\nbuyer20252026-3-5 10:00:01\ny\n测试旗舰店:小王 2026-3-5 10:00:02\nz\n")
    )
    assert [m["buyer"] for m in messages(parsed)] == ["buyer2025"] * 3


def test_line_numbers_point_at_headers(write):
    parsed = parse(write("\n\ntb_b\n2026-3-5 10:00:00\n在吗\n测试旗舰店:小王 2026-3-5 10:00:09\n在\n"))
    assert [m["_line"] for m in messages(parsed)] == [3, 6]


def test_crlf_line_ends(write):
    parsed = parse(write("tb_b 2026-3-5 10:00:00\r\n两行\r\n文字\r\n测试旗舰店:小王 2026-3-5 10:00:09\r\n好\r\n"))
    assert [m["text"] for m in messages(parsed)] == ["两行\n文字", "好"]


# --- text ------------------------------------------------------------------------


def test_multi_line_message_stays_one_message(write):
    parsed = parse(write("tb_b 2026-3-5 10:00:00\n第一行\n\n第三行\n\n\n测试旗舰店:小王 2026-3-5 10:00:09\n好\n"))
    assert messages(parsed)[0]["text"] == "第一行\n\n第三行"
    assert parsed.read == 2


def test_read_status_lines_are_not_text(write):
    parsed = parse(
        write("测试旗舰店:小王 2026-3-5 10:00:00\n亲\n已读\n 未读 \n发送中\ntb_b 2026-3-5 10:00:09\n已读了吗\n未读\n")
    )
    assert [m["text"] for m in messages(parsed)] == ["亲", "已读了吗"]
    assert parsed.read == 2


def test_noise_lines_are_dropped(write):
    text = (
        "当前用户来自 手机淘宝\n由 服务助手 转交给 测试旗舰店:小王\n"
        "tb_b 2026-3-5 10:00:00\n在吗\n原因：【离线留言自动分配】\n"
        "测试旗舰店:小王 2026-3-5 10:00:09\n在的\n当前用户来自 PC 端\n"
    )
    parsed = parse(write(text))
    assert [m["text"] for m in messages(parsed)] == ["在吗", "在的"]
    assert parsed.rejects == [] and parsed.read == 2


def test_labels_and_dates_inside_text_are_not_headers(write):
    text = (
        "测试旗舰店:小王 2026-3-5 10:00:00\n订单信息\n付款时间：2026-3-5 10:00:00\n"
        "付款时间:2026-3-5 10:00:00\n好的，2026-3-6 10:00:00 发货\n"
        "tb_b 2026-3-5 10:01:00\n谢谢\n"
    )
    parsed = parse(write(text))
    assert len(messages(parsed)) == 2
    assert messages(parsed)[0]["text"].count("\n") == 3


def test_text_before_the_first_header_is_rejected_not_lost(write, check):
    parsed = parse(
        write("聊天记录导出\n与 tb_b 的对话\ntb_b 2026-3-5 10:00:00\n在吗\n测试旗舰店:小王 2026-3-5 10:00:09\n在\n")
    )
    check(parsed)
    assert parsed.read == 3 and len(parsed.rejects) == 1
    reject = parsed.rejects[0]
    assert reject.line == 1 and "before the first message header" in reject.reason
    assert reject.raw == "聊天记录导出\n与 tb_b 的对话"


def test_invalid_calendar_time_is_rejected(write, check):
    parsed = parse(
        write(
            "tb_b 2026-2-30 10:00:00\n在吗\n测试旗舰店:小王 2026-3-5 25:00:00\n在\n"
            "测试旗舰店:小王 2026-3-5 10:00:00\n在的\n"
        )
    )
    check(parsed)
    assert [r.line for r in parsed.rejects] == [1, 3]
    assert "2026-2-30 10:00:00" in parsed.rejects[0].reason
    assert parsed.rejects[0].raw == "tb_b 2026-2-30 10:00:00\n在吗"


# --- parties, shops, transfers -----------------------------------------------------


def test_cntaobao_prefix_is_stripped(write):
    parsed = parse(write("cntaobaotb_b 2026-3-5 10:00:00\n在吗\ncntaobao测试旗舰店:小王 2026-3-5 10:00:09\n在\n"))
    assert cols(messages(parsed), "buyer", "agent", "shop") == [("tb_b", "测试旗舰店:小王", SHOP)] * 2


def test_sub_account_gives_the_shop_and_overrides_shop_argument(write):
    parsed = parse(write("测试旗舰店:小王 2026-3-5 10:00:00\n在\ntb_b 2026-3-5 10:00:09\n好\n"), shop="别的店")
    assert {m["shop"] for m in messages(parsed)} == {SHOP}


def test_buyer_messages_before_any_agent_go_to_the_files_shop_account(write):
    parsed = parse(
        write("tb_b 2026-3-5 10:00:00\n在吗\ntb_b 2026-3-5 10:00:05\n人呢\n测试旗舰店:小王 2026-3-5 10:01:00\n在\n")
    )
    assert cols(messages(parsed), "sender", "agent") == [
        ("buyer", "测试旗舰店:小王"),
        ("buyer", "测试旗舰店:小王"),
        ("agent", "测试旗舰店:小王"),
    ]


def test_transfer_row_and_addressee_after_it(write, check):
    text = (
        "tb_b 2026-3-5 10:00:00\n退货怎么弄\n"
        "测试旗舰店:小王 --> 测试旗舰店:售后小李 2026-3-5 10:00:30\n"
        "tb_b 2026-3-5 10:01:00\n在吗\n"
        "测试旗舰店:售后小李 2026-3-5 10:01:20\n亲，这边帮您处理\n"
    )
    parsed = parse(write(text))
    check(parsed)
    assert cols(messages(parsed), "ts", "sender", "agent", "text") == [
        ("2026-03-05 10:00:00", "buyer", "测试旗舰店:小王", "退货怎么弄"),
        ("2026-03-05 10:00:30", "transfer", "测试旗舰店:售后小李", "测试旗舰店:小王 --> 测试旗舰店:售后小李"),
        ("2026-03-05 10:01:00", "buyer", "测试旗舰店:售后小李", "在吗"),
        ("2026-03-05 10:01:20", "agent", "测试旗舰店:售后小李", "亲，这边帮您处理"),
    ]


def test_transfer_with_time_on_next_line(write):
    parsed = parse(
        write(
            "tb_b 2026-3-5 10:00:00\n在吗\n测试旗舰店:小王 --> 测试旗舰店:小李\n"
            "2026-3-5 10:00:30\ntb_b 2026-3-5 10:01:00\n?\n"
        )
    )
    assert cols(messages(parsed), "sender", "agent") == [
        ("buyer", "测试旗舰店:小王"),
        ("transfer", "测试旗舰店:小李"),
        ("buyer", "测试旗舰店:小李"),
    ]


def test_buyer_addresses_the_last_shop_side_sender(write):
    text = (
        "测试旗舰店:小王 2026-3-5 10:00:00\n在\n测试旗舰店:小李 2026-3-5 10:00:05\n我来\ntb_b 2026-3-5 10:00:09\n好\n"
    )
    assert messages(parse(write(text)))[-1]["agent"] == "测试旗舰店:小李"


def test_recall_is_an_event_not_a_message(write, check):
    text = (
        "tb_b 2026-3-5 10:00:00\n在吗\ntb_b 撤回了一条消息\n测试旗舰店:小王 撤回了一条消息\n"
        "测试旗舰店:小王 2026-3-5 10:00:30\n在的\n"
    )
    parsed = parse(write(text))
    check(parsed)
    assert len(messages(parsed)) == 2 and parsed.read == 4
    assert cols(events(parsed), "ts", "agent", "kind", "text", "_line") == [
        ("2026-03-05 10:00:00", "测试旗舰店:小王", "recall", "tb_b 撤回了一条消息", 3),
        ("2026-03-05 10:00:00", "测试旗舰店:小王", "recall", "测试旗舰店:小王 撤回了一条消息", 4),
    ]


def test_recall_before_any_message_takes_the_next_messages_time(write):
    parsed = parse(write("tb_b撤回了一条消息\ntb_b 2026-3-5 10:00:00\n在吗\n测试旗舰店:小王 2026-3-5 10:00:30\n在\n"))
    assert cols(events(parsed), "ts", "_line") == [("2026-03-05 10:00:00", 1)]


def test_main_account_needs_shop_or_agents(write):
    path = write("tb_b 2026-3-10 14:00:00\n包邮吗\n测试旗舰店 2026-3-10 14:00:30\n包邮的亲\n")
    with pytest.raises(FormatError, match="cannot tell the buyer") as err:
        parse(path)
    assert str(path) in str(err.value)
    by_shop = parse(path, shop=SHOP)
    by_agents = parse(path, agents={SHOP: SHOP})
    for parsed in (by_shop, by_agents):
        assert cols(messages(parsed), "shop", "agent", "sender") == [(SHOP, SHOP, "buyer"), (SHOP, SHOP, "agent")]


def test_agents_table_gives_the_shop_of_a_main_account(write):
    path = write("tb_b 2026-3-10 14:00:00\n包邮吗\n小店主号 2026-3-10 14:00:30\n包邮的亲\n")
    parsed = parse(path, agents={"小店主号": "小店"}, shop="别的店")
    assert {m["shop"] for m in messages(parsed)} == {"小店"}


def test_main_account_next_to_its_sub_accounts_is_shop_side(write):
    text = (
        "tb_b 2026-3-5 10:00:00\n在吗\n测试旗舰店 2026-3-5 10:00:10\n在\n测试旗舰店:小王 2026-3-5 10:00:20\n我来接待\n"
    )
    parsed = parse(write(text))
    assert cols(messages(parsed), "sender", "agent", "shop") == [
        ("buyer", SHOP, SHOP),
        ("agent", SHOP, SHOP),
        ("agent", "测试旗舰店:小王", SHOP),
    ]


def test_shop_unknown_is_a_format_error_naming_the_file(write):
    path = write("tb_b 2026-3-5 10:00:00\n在吗\ntb_b 2026-3-5 10:00:05\n人呢\n")
    with pytest.raises(FormatError, match="shop") as err:
        parse(path)
    assert str(path) in str(err.value)


def test_buyer_only_file_with_shop_rejects_each_message(write, check):
    parsed = parse(write("tb_b 2026-3-5 10:00:00\n在吗\ntb_b 2026-3-5 10:00:05\n人呢\n"), shop=SHOP)
    check(parsed)
    assert parsed.read == 2 and len(parsed.rejects) == 2
    assert "no shop account" in parsed.rejects[0].reason


def test_agent_only_file_rejects_each_message(write, check):
    parsed = parse(write("测试旗舰店:小王 2026-3-5 10:00:00\n亲，您的订单已发货\n"))
    check(parsed)
    assert parsed.read == 1 and "no buyer" in parsed.rejects[0].reason


def test_a_file_without_any_header_is_not_a_chat(write):
    path = write("只是一段文字\n没有时间\n")
    assert detect(path) is None
    with pytest.raises(FormatError, match="not a known export"):
        parse(path)


# --- the fixture folder -----------------------------------------------------------


def test_fixture_basic_chat(exports, check):
    parsed = parse(exports / "qianniu" / "测试旗舰店-小王-tb_buyer_01.txt")
    check(parsed)
    assert (parsed.format, parsed.encoding, parsed.read) == ("qianniu_chat", "utf-8", 8)
    assert cols(messages(parsed), "ts", "sender", "agent", "text") == [
        ("2026-03-05 10:18:10", "agent", "测试旗舰店:小王", "亲，在的，有什么可以帮您？"),
        ("2026-03-05 10:18:40", "buyer", "测试旗舰店:小王", "这个有大码吗\n能便宜点吗"),
        ("2026-03-05 10:19:02", "agent", "测试旗舰店:小王", "有的亲，XL和XXL都有货"),
        ("2026-03-05 10:19:30", "transfer", "测试旗舰店:小李", "测试旗舰店:小王 --> 测试旗舰店:小李"),
        ("2026-03-05 10:20:05", "buyer", "测试旗舰店:小李", "那我拍了，什么时候发货"),
        ("2026-03-05 10:20:31", "buyer", "测试旗舰店:小李", "拍了XL的\n\n备注一下要黑色"),
        ("2026-03-05 10:21:00", "agent", "测试旗舰店:小李", "好的亲，今天下午四点前发出"),
    ]
    assert cols(events(parsed), "ts", "agent", "kind", "_line") == [
        ("2026-03-05 10:20:05", "测试旗舰店:小李", "recall", 15)
    ]


def test_fixture_gbk_chat_without_spaces(exports):
    parsed = parse(exports / "qianniu" / "tb_buyer_02.txt")
    assert parsed.encoding == "gb18030"
    rows = messages(parsed)
    assert {r["buyer"] for r in rows} == {"tb_buyer_02"}
    assert rows[0]["ts"] == "2026-03-06 09:05:07"
    assert rows[-1]["text"] == "亲，帮您查一下\n付款时间：2026-3-5 10:00:00\n已经催仓库了"


def test_fixture_gb18030_chat_with_characters_outside_gbk(exports):
    raw = (exports / "qianniu" / "tb_buyer_03.txt").read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("gbk")
    parsed = parse(exports / "qianniu" / "tb_buyer_03.txt")
    assert parsed.encoding == "gb18030"
    assert messages(parsed)[0]["text"] == "收到了😀 质量很好，𠮷字也印对了"


def test_fixture_bom_chat_with_time_on_next_line(exports):
    parsed = parse(exports / "qianniu" / "tb_buyer_04.txt")
    assert parsed.encoding == "utf-8-sig"
    assert cols(messages(parsed), "ts", "sender", "_line") == [
        ("2026-03-08 23:59:58", "buyer", 1),
        ("2026-03-09 00:00:12", "agent", 4),
        ("2026-03-09 00:00:20", "agent", 8),
    ]
    assert len(events(parsed)) == 1


def test_fixture_folder_of_chat_files(exports, check):
    files = sorted((exports / "qianniu").glob("*.txt"))
    assert len(files) >= 5
    total = 0
    for path in files:
        assert detect(path) == "qianniu_chat"
        parsed = parse(path, shop=SHOP)
        check(parsed)
        assert parsed.rejects == []
        buyers = {m["buyer"] for m in messages(parsed)}
        assert len(buyers) == 1 and path.stem.endswith(buyers.pop())
        total += parsed.tables["messages"].num_rows
    assert total == 7 + 4 + 2 + 3 + 2


# --- more edges ---------------------------------------------------------------------


def test_text_after_a_recall_line_stays_with_the_recall(write, check):
    parsed = parse(
        write("tb_b 2026-3-5 10:00:00\n在吗\ntb_b 撤回了一条消息\n(图片)\n测试旗舰店:小王 2026-3-5 10:00:30\n在的\n")
    )
    check(parsed)
    assert [m["text"] for m in messages(parsed)] == ["在吗", "在的"]
    assert events(parsed)[0]["text"] == "tb_b 撤回了一条消息\n(图片)"


def test_a_header_without_text_is_still_a_message(write):
    # pictures and emoticons leave an empty text in copies
    parsed = parse(write("tb_b 2026-3-5 10:00:00\n\n测试旗舰店:小王 2026-3-5 10:00:30\n在的\n"))
    assert [m["text"] for m in messages(parsed)] == ["", "在的"]


def test_trailing_blanks_and_full_width_spaces(write):
    parsed = parse(
        write("tb_b 2026-3-5 10:00:00 \u3000\r\n在吗\t\r\n测试旗舰店:小王 2026-3-5 10:00:30\xa0\r\n在的\r\n")
    )
    assert cols(messages(parsed), "ts", "text") == [("2026-03-05 10:00:00", "在吗"), ("2026-03-05 10:00:30", "在的")]


def test_names_with_spaces_or_too_long_are_text(write):
    long_name = "x" * 81
    parsed = parse(
        write(
            f"tb_b 2026-3-5 10:00:00\n订单 号 2026-3-5 10:00:01\n{long_name} 2026-3-5 10:00:02\n"
            "测试旗舰店:小王 2026-3-5 10:00:30\n好\n"
        )
    )
    assert len(messages(parsed)) == 2
    assert messages(parsed)[0]["text"].startswith("订单 号 2026-3-5 10:00:01\nxxx")


def test_transfer_to_a_main_account(write):
    text = (
        "tb_b 2026-3-5 10:00:00\n在吗\n测试旗舰店:小王 --> 测试旗舰店 2026-3-5 10:00:30\n"
        "测试旗舰店 2026-3-5 10:01:00\n我是店长\n"
    )
    parsed = parse(write(text))
    assert cols(messages(parsed), "sender", "agent", "shop") == [
        ("buyer", "测试旗舰店:小王", SHOP),
        ("transfer", SHOP, SHOP),
        ("agent", SHOP, SHOP),
    ]


def test_messages_keep_file_order_and_same_second(write):
    parsed = parse(
        write("tb_b 2026-3-5 10:00:00\n一\ntb_b 2026-3-5 10:00:00\n二\n测试旗舰店:小王 2026-3-5 10:00:00\n三\n")
    )
    assert [m["text"] for m in messages(parsed)] == ["一", "二", "三"]


def test_docs_example(write, check):
    """The example of docs/import-formats.md."""
    parsed = parse(
        write(
            "测试旗舰店:小王 2026-3-5 10:18:10\n亲，在的\n已读\ntb_buyer_01 2026-3-5 10:18:40\n"
            "这个有大码吗\n能便宜点吗\n测试旗舰店:小王 --> 测试旗舰店:小李 2026-3-5 10:19:30\n"
            "tb_buyer_01 撤回了一条消息\ntb_buyer_01 2026-3-5 10:20:31\n拍了XL的\n"
        )
    )
    check(parsed)
    assert parsed.read == 5
    assert cols(messages(parsed), "agent", "sender", "_line") == [
        ("测试旗舰店:小王", "agent", 1),
        ("测试旗舰店:小王", "buyer", 4),
        ("测试旗舰店:小李", "transfer", 7),
        ("测试旗舰店:小李", "buyer", 9),
    ]
    assert cols(events(parsed), "ts", "agent", "_line") == [("2026-03-05 10:19:30", "测试旗舰店:小李", 8)]
