"""Damaged and unusual files through the real import (issue #12): no leak, no silent loss, no crash.

Every bad record is rejected with file, line and reason and `read = accepted + rejected`;
a file that cannot be read at all is named and skipped, and the folder's other files import.
"""

from __future__ import annotations

import datetime as dt

import openpyxl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from kefu.cli.main import app
from kefu.ingest.pipeline import import_paths
from kefu.workspace import Workspace

HEADER = "ts,shop,buyer,agent,sender,text\n"
ORDER_HEADER = "order_id,shop,buyer,created_at,paid_at,amount,status\n"
TAOBAO_HEADER = "订单编号,买家会员名,买家实付金额,订单状态,买家下单时间,买家付款时间\n"


@pytest.fixture
def ws():
    return Workspace.memory()


def write(path, content, encoding="utf-8"):
    path.write_bytes(content if isinstance(content, bytes) else content.encode(encoding))
    return path


def message(i: int, text: str = "") -> str:
    return f"2026-11-11 10:{i // 60:02d}:{i % 60:02d},s,b1,s:ann,buyer,{text or f'msg {i}'}\n"


def rejects(ws):
    return ws.con.execute("SELECT line, reason FROM rejects ORDER BY line").fetchall()


def counts(report):
    return report.read, report.accepted, report.rejected


def stored_lines(ws, table="messages"):
    return ws.con.execute(f"SELECT list(src_line ORDER BY src_line) FROM {table}").fetchone()[0] or []


# --- 7. an unclosed quote swallows nothing ------------------------------------------------


def test_a_quote_opened_on_the_second_line_is_rejected_and_the_29_rows_after_it_import(ws, tmp_path):
    text = HEADER + message(0, '"opens a quote') + "".join(message(i) for i in range(1, 30))
    [report] = import_paths(ws, [write(tmp_path / "messages.csv", text)])
    assert counts(report) == (30, 29, 1)
    [(line, reason)] = rejects(ws)
    assert line == 2 and "quoted value opened on line 2" in reason and "29 lines that read as records" in reason
    assert stored_lines(ws) == list(range(3, 32))
    assert ws.con.execute("SELECT max(length(text)) FROM messages").fetchone()[0] == len("msg 29")


def test_a_stray_quote_closed_rows_later_loses_only_its_own_line(ws, tmp_path):
    rows = [message(i) for i in range(10)]  # lines 2..11
    rows[3] = message(3, '"he said')  # line 5 opens a quote …
    rows[7] = message(7, 'ok"')  # … that line 9 closes
    [report] = import_paths(ws, [write(tmp_path / "messages.csv", HEADER + "".join(rows))])
    assert counts(report) == (10, 9, 1)
    assert [line for line, _ in rejects(ws)] == [5]
    assert stored_lines(ws) == [2, 3, 4, 6, 7, 8, 9, 10, 11]
    assert ws.con.execute("SELECT text FROM messages WHERE src_line = 9").fetchone() == ('ok"',)


def test_a_quote_left_open_at_the_end_of_the_file_is_one_rejected_record(ws, tmp_path):
    text = HEADER + message(0) + message(1) + message(2, '"继续说').rstrip("\n") + "\n还有\n"
    [report] = import_paths(ws, [write(tmp_path / "messages.csv", text)])
    assert counts(report) == (3, 2, 1)
    [(line, reason)] = rejects(ws)
    assert line == 4 and "never closed" in reason


def test_a_quoted_value_longer_than_any_message_is_rejected_and_its_lines_are_read(ws, tmp_path):
    long_text = '"' + "\n".join(f"第{i}行" for i in range(150)) + '"'
    text = HEADER + message(0) + message(1, long_text) + message(2)
    [report] = import_paths(ws, [write(tmp_path / "messages.csv", text)])
    # line 3 opens the 150-line value: rejected; its 149 further lines are read one by one
    # (each a 1-field record, rejected), and the row after it imports.
    assert counts(report) == (1 + 1 + 149 + 1, 2, 150)
    assert "runs over 150 lines" in rejects(ws)[0][1]
    assert stored_lines(ws) == [2, 153]


def test_real_multiline_messages_with_commas_are_still_one_record(ws, tmp_path):
    text = HEADER + message(0, '"尺码表:\nS,M,L\n颜色: 红,蓝\n"') + message(1)
    [report] = import_paths(ws, [write(tmp_path / "messages.csv", text)])
    assert counts(report) == (2, 2, 0)
    assert stored_lines(ws) == [2, 6]


# --- 8. Excel-damaged order numbers, wherever they come from ---------------------------------


def test_canonical_orders_csv_rejects_scientific_order_numbers_instead_of_merging_them(ws, tmp_path):
    text = ORDER_HEADER + (
        "1.23457E+18,s,b1,2026-11-11 10:00:00,,9.00,unpaid\n"
        "1.23457E+18,s,b2,2026-11-11 11:00:00,,19.00,unpaid\n"
        "2612345678901234567,s,b3,2026-11-11 12:00:00,,29.00,unpaid\n"
    )
    [report] = import_paths(ws, [write(tmp_path / "orders.csv", text)])
    assert counts(report) == (3, 1, 2)
    assert rejects(ws) == [
        (line, "order_id: '1.23457E+18' was damaged by Excel (scientific notation): digits lost") for line in (2, 3)
    ]
    assert ws.con.execute("SELECT list(order_id) FROM orders").fetchone()[0] == ["2612345678901234567"]


def test_refunds_reject_a_damaged_order_number(ws, tmp_path):
    text = "refund_id,order_id,shop,applied_at,amount\nr1,2.61235E+18,s,2026-11-12 10:00:00,9.00\n"
    [report] = import_paths(ws, [write(tmp_path / "refunds.csv", text)])
    assert counts(report) == (1, 0, 1)
    assert "order_id: '2.61235E+18' was damaged by Excel" in rejects(ws)[0][1]


def test_orders_xlsx_with_order_numbers_stored_as_numbers_keeps_no_invented_digits(ws, tmp_path):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(ORDER_HEADER.strip().split(","))
    # Excel keeps numbers as floats: a 19-digit order number comes back with invented digits
    sheet.append([2.612345678901234e18, "s", "b1", "2026-11-11 10:00:00", None, 9, "unpaid"])
    sheet.append([123456, "s", "b2", "2026-11-11 10:00:00", None, 9, "unpaid"])  # a small number keeps its digits
    book.save(tmp_path / "orders.xlsx")
    [report] = import_paths(ws, [tmp_path / "orders.xlsx"])
    assert counts(report) == (2, 1, 1)
    assert "damaged by Excel" in rejects(ws)[0][1] and rejects(ws)[0][0] == 2
    assert ws.con.execute("SELECT list(order_id) FROM orders").fetchone()[0] == ["123456"]


def test_orders_parquet_with_float_order_numbers_is_rejected(ws, tmp_path):
    table = pa.table(
        {
            "order_id": pa.array([2.612345678901234e18], pa.float64()),
            "shop": ["s"],
            "buyer": ["b1"],
            "created_at": ["2026-11-11 10:00:00"],
            "amount": ["9.00"],
        }
    )
    pq.write_table(table, tmp_path / "orders.parquet")
    [report] = import_paths(ws, [tmp_path / "orders.parquet"])
    assert counts(report) == (1, 0, 1)
    assert "'2.612345678901234e+18' was damaged by Excel" in rejects(ws)[0][1]


# --- 11. 千牛 headers without seconds, implausible years, a BOM before GBK ---------------------

CHAT = (
    "测试旗舰店:小王 2026-3-5 10:18:10\n"  # 1
    "亲，在的\n"  # 2
    "tb_buyer_05 2026-3-5 10:18:40\n"  # 3
    "有货吗\n"  # 4
    "明天 2026-3-6 10:00\n"  # 5 text: 明天 is nobody's name
    "tb_buyer_05 2026-3-5 10:19\n"  # 6 a header without seconds
    "还在吗\n"  # 7
    "测试旗舰店:小王 2026-3-5 10:20:00\n"  # 8
    "在的\n"  # 9
)


def test_a_chat_header_without_seconds_is_rejected_not_merged_into_the_message_before(ws, tmp_path):
    [messages, _events] = import_paths(ws, [write(tmp_path / "tb_buyer_05.txt", CHAT)])
    assert counts(messages) == (4, 3, 1)
    [(line, reason)] = rejects(ws)
    assert line == 6 and "'2026-3-5 10:19' has no seconds" in reason
    assert ws.con.execute("SELECT text FROM messages WHERE src_line = 3").fetchone() == ("有货吗\n明天 2026-3-6 10:00",)


def test_times_outside_2000_to_a_year_from_now_are_rejected(ws, tmp_path):
    latest = (dt.date.today() + dt.timedelta(days=365)).isoformat()
    text = (
        HEADER
        + "0001-01-01 10:00:00,s,b,s:a,buyer,x\n2099-01-01 10:00:00,s,b,s:a,buyer,y\n2026-11-11 10:00:00,s,b,s:a,buyer,z\n"
    )
    [report] = import_paths(ws, [write(tmp_path / "messages.csv", text)])
    assert counts(report) == (3, 1, 2)
    assert rejects(ws) == [
        (2, f"ts: '0001-01-01 10:00:00' is not between 2000-01-01 and {latest} (a year from today)"),
        (3, f"ts: '2099-01-01 10:00:00' is not between 2000-01-01 and {latest} (a year from today)"),
    ]


def test_a_taobao_export_with_an_order_in_2099_rejects_that_order(ws, tmp_path):
    text = TAOBAO_HEADER + (
        '="3712345678901234501",tb_a,10.00,交易成功,2099-03-05 10:00:00,2099-03-05 10:00:10\n'
        '="3712345678901234502",tb_b,20.00,交易成功,2026-03-05 10:00:00,2026-03-05 10:00:10\n'
    )
    [report] = import_paths(ws, [write(tmp_path / "ExportOrderList.csv", text, "gb18030")], shop="s")
    assert counts(report) == (2, 1, 1)
    assert rejects(ws)[0][0] == 2 and "created_at: '2099-03-05 10:00:00' is not between 2000-01-01" in rejects(ws)[0][1]


def test_a_utf8_bom_followed_by_gbk_bytes_is_refused(ws, tmp_path):
    path = write(tmp_path / "messages.csv", b"\xef\xbb\xbf" + (HEADER + message(0, "你好")).encode("gbk"))
    [report] = import_paths(ws, [path])
    assert report.error.startswith(f"{path}: starts with a UTF-8 BOM but byte offset ")
    assert ws.count("messages") == 0


# --- 12. no tracebacks: each bad file named, the rest of the folder imported -------------------


def folder_with(tmp_path, name, content):
    folder = tmp_path / "export"
    folder.mkdir()
    write(folder / "agents.csv", "agent,shop\ns:ann,s\n")
    bad = write(folder / name, content)
    return folder, bad


@pytest.mark.parametrize(
    "content, error",
    [
        (
            "ts,shop,buyer,agent,sender,text,text\n" + message(0).strip() + ",x\n",
            "line 1: column 'text' appears twice in the header (columns 6 and 7)",
        ),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)), "not a text file (NUL byte at offset 8)"),
        (
            HEADER.strip() + ",_seq\n" + message(0).strip() + ",1\n",
            "line 1: column 7 is named '_seq', a name kefu uses itself: rename it",
        ),
    ],
)
def test_an_unreadable_file_is_named_and_skipped_and_the_rest_imports(ws, tmp_path, content, error):
    folder, bad = folder_with(tmp_path, "messages.csv", content)
    reports = import_paths(ws, [folder])
    assert {r.file: r.error for r in reports} == {str(folder / "agents.csv"): None, str(bad): f"{bad}: {error}"}
    assert ws.count("agents") == 1
    assert ws.con.execute("SELECT line, reason FROM rejects").fetchall() == [(0, f"{bad}: {error}")]
    assert ws.con.execute("SELECT read FROM imports WHERE file = ?", [str(bad)]).fetchall() == [(None,)]


def test_the_cli_says_which_file_was_not_imported_and_exits_non_zero(tmp_path):
    folder, _ = folder_with(tmp_path, "messages.csv", "ts,shop,buyer,agent,sender,ts\n")
    result = CliRunner().invoke(app, ["import", str(tmp_path / "ws"), str(folder), "--lang", "en"])
    assert result.exit_code == 1
    output = " ".join(result.output.split())  # rich wraps long lines
    assert "not imported" in output and "column 'ts' appears twice in the header (columns 1 and 6)" in output
    with Workspace.open(tmp_path / "ws") as workspace:
        assert workspace.count("agents") == 1


def test_cr_only_line_endings_are_read_with_their_lines(ws, tmp_path):
    text = (HEADER + message(0) + message(1, "bad-sender").replace("buyer", "robot") + message(2)).replace("\n", "\r")
    [report] = import_paths(ws, [write(tmp_path / "messages.csv", text)])
    assert counts(report) == (3, 2, 1)
    assert rejects(ws)[0][0] == 3
    assert stored_lines(ws) == [2, 4]


def test_the_year_9999_is_a_rejected_row_not_a_crash(ws, tmp_path):
    text = (
        ORDER_HEADER
        + "o1,s,b1,9999-12-31 10:00:00,9999-12-31 23:59:59,9.00,paid\no2,s,b1,2026-11-11 10:00:00,,9.00,unpaid\n"
    )
    write(tmp_path / "messages.csv", HEADER + "9999-12-31 10:00:00,s,b1,s:a,buyer,x\n" + message(0))
    reports = import_paths(ws, [write(tmp_path / "orders.csv", text), tmp_path / "messages.csv"])
    assert sorted(counts(r) for r in reports) == [(2, 1, 1), (2, 1, 1)]
    assert ws.count("messages") == ws.count("orders") == 1


def test_an_unnamed_column_with_values_is_kept_as_an_extra_column(ws, tmp_path):
    text = "ts,shop,buyer,agent,sender,,text\n2026-11-11 10:00:00,s,b,s:a,buyer,备注,x\n"
    [report] = import_paths(ws, [write(tmp_path / "messages.csv", text)])
    assert counts(report) == (1, 1, 0)
    assert ws.con.execute("SELECT extra, text FROM messages").fetchone() == ('{"column 6":"备注"}', "x")


def test_empty_unnamed_columns_left_by_excel_are_ignored(ws, tmp_path):
    text = "ts,shop,buyer,agent,sender,text,,\n2026-11-11 10:00:00,s,b,s:a,buyer,x,,\n"
    [report] = import_paths(ws, [write(tmp_path / "messages.csv", text)])
    assert counts(report) == (1, 1, 0)


# --- 13. errors that say what is wrong ------------------------------------------------------------


def test_a_legacy_xls_is_asked_to_be_saved_as_xlsx(ws, tmp_path):
    path = write(tmp_path / "ExportOrderList.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600)
    [report] = import_paths(ws, [path], shop="s")
    assert report.error == f"{path}: legacy Excel .xls workbook: save it as .xlsx or CSV first"


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be"])
def test_utf16_without_a_bom_is_named(ws, tmp_path, encoding):
    path = write(tmp_path / "messages.csv", HEADER + message(0, "你好"), encoding)
    [report] = import_paths(ws, [path])
    assert report.error == (
        f"{path}: UTF-16 text ({encoding[-2:].upper()}) without a byte-order mark: save it again as CSV UTF-8"
    )


def test_an_impossible_date_is_called_by_its_name(ws, tmp_path):
    text = HEADER + "2026-02-29 10:00:00,s,b,s:a,buyer,x\n2026-11-11 24:00:00,s,b,s:a,buyer,y\n"
    import_paths(ws, [write(tmp_path / "messages.csv", text)])
    assert rejects(ws) == [
        (2, "ts: '2026-02-29 10:00:00' has no such date 2026-02-29"),
        (3, "ts: '2026-11-11 24:00:00' is not a time YYYY-MM-DD HH:MM:SS"),
    ]


def test_an_impossible_date_in_an_export_is_called_by_its_name(ws, tmp_path):
    text = TAOBAO_HEADER + '="3712345678901234501",tb_a,10.00,交易成功,2026-2-29 10:00:00,\n'
    import_paths(ws, [write(tmp_path / "ExportOrderList.csv", text)], shop="s")
    assert rejects(ws) == [(2, "买家下单时间 '2026-2-29 10:00:00': no such date 2026-02-29")]


def test_canonical_orders_csv_rejects_order_numbers_excel_rounded_to_15_digits(ws, tmp_path):
    """Every long number of the file ends in zeros after the 15th digit: Excel rounded them (#12.8)."""
    rounded = ["2612345678901230000", "2612345678901240000", "2612345678901250000"]
    text = ORDER_HEADER + "".join(f"{oid},s,b{i},2026-11-11 10:00:00,,9.00,unpaid\n" for i, oid in enumerate(rounded))
    text += "123456,s,b9,2026-11-11 10:00:00,,9.00,unpaid\n"  # a short number keeps its digits
    [report] = import_paths(ws, [write(tmp_path / "orders.csv", text)])
    assert counts(report) == (4, 1, 3)
    assert [line for line, _ in rejects(ws)] == [2, 3, 4]
    assert all("rounded by Excel to 15 digits" in reason for _, reason in rejects(ws))


def test_one_long_order_number_ending_in_zeros_among_genuine_ones_is_kept(ws, tmp_path):
    ids = ["2612345678901230000", "2612345678901234567", "2612345678901234568"]
    text = ORDER_HEADER + "".join(f"{oid},s,b{i},2026-11-11 10:00:00,,9.00,unpaid\n" for i, oid in enumerate(ids))
    [report] = import_paths(ws, [write(tmp_path / "orders.csv", text)])
    assert counts(report) == (3, 3, 0)
