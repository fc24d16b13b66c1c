"""Importing canonical files: nothing lost, nothing twice, exact lines, all or nothing."""

from __future__ import annotations

import json

import openpyxl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from kefu.ingest import pipeline
from kefu.ingest.pipeline import import_paths
from kefu.workspace import Workspace

HEADER = "ts,shop,buyer,agent,sender,text\n"


def write(path, text, encoding="utf-8"):
    path.write_bytes(text.encode(encoding))
    return path


def rejects(ws):
    return ws.con.execute("SELECT line, reason FROM rejects ORDER BY line").fetchall()


@pytest.fixture
def ws():
    return Workspace.memory()


def test_rejected_rows_keep_their_true_line_across_multiline_text_and_crlf(ws, tmp_path):
    text = HEADER + (
        '2026-11-11 10:00:00,s,b1,s:ann,buyer,"第一行\r\n第二行"\r\n'  # lines 2-3
        "2026-11-11 10:00:05,s,b1,s:ann,agent,ok\r\n"  # line 4
        "2026-11-11 25:00:00,s,b1,s:ann,agent,bad hour\r\n"  # line 5
        '2026-11-11 10:01:00,s,b1,s:ann,robot,"x\ny\nz"\r\n'  # lines 6-8
        ",s,b1,s:ann,agent,no time\r\n"  # line 9
    )
    [report] = import_paths(ws, [write(tmp_path / "messages.csv", text)])
    assert (report.read, report.accepted, report.rejected, report.added) == (5, 2, 3, 2)
    assert [line for line, _ in rejects(ws)] == [5, 6, 9]
    reasons = dict(rejects(ws))
    assert "'2026-11-11 25:00:00' is not a time YYYY-MM-DD HH:MM:SS" in reasons[5]
    assert "sender: 'robot' is not one of buyer, agent, bot, transfer" in reasons[6]
    assert reasons[9] == "ts: required value is empty"


def test_blank_lines_and_short_records_fall_back_to_an_exact_reader(ws, tmp_path):
    text = (
        HEADER
        + "2026-11-11 10:00:00,s,b1,s:ann,buyer,a\n\n2026-11-11 10:00:01,s,b1\n2026-11-11 10:00:02,s,b1,s:ann,agent,b\n"
    )
    [report] = import_paths(ws, [write(tmp_path / "messages.csv", text)])
    assert (report.read, report.accepted, report.rejected) == (3, 2, 1)
    assert rejects(ws) == [(4, "expected 6 fields, found 3")]
    assert ws.con.execute("SELECT list(src_line ORDER BY src_line) FROM messages").fetchone()[0] == [2, 5]


def test_reimporting_a_file_changes_nothing(ws, tmp_path):
    path = write(tmp_path / "messages.csv", HEADER + "2026-11-11 10:00:00,s,b1,s:ann,buyer,a\n")
    import_paths(ws, [path])
    [again] = import_paths(ws, [path])
    assert again.skipped and ws.count("messages") == 1


def test_overlapping_exports_add_each_row_once(ws, tmp_path):
    row = "2026-11-11 10:00:0{},s,b1,s:ann,buyer,a\n"
    last_week = write(tmp_path / "messages-w45.csv", HEADER + row.format(1) + row.format(2))
    this_week = write(tmp_path / "messages-w46.csv", HEADER + row.format(2) + row.format(3) + row.format(3))
    import_paths(ws, [last_week])
    [report] = import_paths(ws, [this_week])
    # Row 2 is stored already; row 3 is sent twice in the same second: both copies count (D14).
    assert (report.read, report.accepted, report.added, report.duplicates) == (3, 3, 2, 1)
    assert ws.count("messages") == 4


def test_a_later_export_updates_an_order_by_its_number(ws, tmp_path):
    header = "order_id,shop,buyer,created_at,paid_at,amount,status\n"
    unpaid = write(tmp_path / "orders-1.csv", header + "o1,s,b1,2026-11-11 10:00:00,,99.00,unpaid\n")
    paid = write(tmp_path / "orders-2.csv", header + "o1,s,b1,2026-11-11 10:00:00,2026-11-11 11:00:00,99.00,paid\n")
    import_paths(ws, [unpaid])
    [report] = import_paths(ws, [paid])
    assert (report.added, report.updated, report.changed) == (0, 1, {"paid_at": 1, "status": 1})
    assert ws.con.execute("SELECT count(*), max(status), max(paid_at)::VARCHAR FROM orders").fetchone() == (
        1,
        "paid",
        "2026-11-11 11:00:00",
    )


def test_conflicting_rows_for_one_order_reject_the_later_one(ws, tmp_path):
    header = "order_id,shop,buyer,created_at,paid_at,amount,status\n"
    text = (
        header
        + "o1,s,b1,2026-11-11 10:00:00,,99.00,unpaid\no1,s,b1,2026-11-11 10:00:00,,98.00,unpaid\no1,s,b1,2026-11-11 10:00:00,,99.00,unpaid\n"
    )
    [report] = import_paths(ws, [write(tmp_path / "orders.csv", text)])
    assert (report.accepted, report.rejected, report.added) == (2, 1, 1)
    assert rejects(ws) == [(3, "order_id o1 appears on line 2 of this file with different values")]


def test_extra_columns_are_kept(ws, tmp_path):
    import_paths(
        ws,
        [
            write(
                tmp_path / "messages.csv",
                "ts,shop,buyer,agent,sender,text,device\n2026-11-11 10:00:00,s,b1,s:ann,buyer,a,pc\n",
            )
        ],
    )
    assert json.loads(ws.con.execute("SELECT extra FROM messages").fetchone()[0]) == {"device": "pc"}


def test_a_crash_mid_import_leaves_the_workspace_as_it_was(ws, tmp_path, monkeypatch):
    import_paths(ws, [write(tmp_path / "messages.csv", HEADER + "2026-11-10 10:00:00,s,b0,s:ann,buyer,a\n")])
    folder = tmp_path / "b"
    folder.mkdir()
    write(folder / "messages.csv", HEADER + "2026-11-11 10:00:00,s,b1,s:ann,buyer,a\n")
    write(
        folder / "orders.csv",
        "order_id,shop,buyer,created_at,paid_at,amount,status\no1,s,b1,2026-11-11 10:00:00,,1.00,\n",
    )
    real_store = pipeline._store

    def store_then_crash(con, table, import_id):
        if table.name == "orders":
            raise RuntimeError("disk full")
        return real_store(con, table, import_id)

    monkeypatch.setattr(pipeline, "_store", store_then_crash)
    with pytest.raises(RuntimeError):
        import_paths(ws, [folder])
    assert (ws.count("messages"), ws.count("orders"), ws.count("imports")) == (1, 0, 1)


def test_dry_run_changes_nothing(ws, tmp_path):
    [report] = import_paths(
        ws,
        [write(tmp_path / "messages.csv", HEADER + "2026-11-11 10:00:00,s,b1,s:ann,buyer,a\nbad,s,b1,s:ann,buyer,a\n")],
        dry_run=True,
    )
    assert (report.added, report.rejected, report.problems[0][0]) == (1, 1, 3)
    assert (ws.count("messages"), ws.count("rejects"), ws.count("imports")) == (0, 0, 0)


def test_gbk_canonical_file_is_detected(ws, tmp_path):
    [report] = import_paths(
        ws, [write(tmp_path / "messages.csv", HEADER + "2026-11-11 10:00:00,s,b1,s:小王,buyer,这款有XL吗\n", "gbk")]
    )
    assert (report.encoding, report.added) == ("gb18030", 1)
    assert ws.con.execute("SELECT text FROM messages").fetchone()[0] == "这款有XL吗"


def test_utf8_bom_is_tolerated(ws, tmp_path):
    [report] = import_paths(
        ws, [write(tmp_path / "messages.csv", "\ufeff" + HEADER + "2026-11-11 10:00:00,s,b1,s:ann,buyer,a\n")]
    )
    assert (report.encoding, report.added) == ("utf-8-sig", 1)


def test_undecodable_file_is_rejected_whole_with_the_reason(ws, tmp_path):
    path = tmp_path / "messages.csv"
    path.write_bytes(HEADER.encode() + b"\xff\xfe\xfa\xfb\x80\x81 broken\n")
    [report] = import_paths(ws, [path])
    assert report.error and "not UTF-8" in report.error and "GB18030" in report.error
    assert ws.con.execute("SELECT line FROM rejects").fetchall() == [(0,)]


def test_missing_required_column_names_it(ws, tmp_path):
    [report] = import_paths(
        ws, [write(tmp_path / "messages.csv", "ts,shop,buyer,agent,text\n2026-11-11 10:00:00,s,b1,s:ann,a\n")]
    )
    assert "missing required column(s) sender" in report.error


def test_parquet_and_xlsx_files(ws, tmp_path):
    import datetime as dt

    pq.write_table(
        pa.table(
            {
                "ts": pa.array([dt.datetime(2026, 11, 11, 10, 0, 0)], pa.timestamp("s")),
                "shop": ["s"],
                "buyer": ["b1"],
                "agent": ["s:ann"],
                "sender": ["buyer"],
                "text": ["在吗"],
            }
        ),
        tmp_path / "messages.parquet",
    )
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["agent", "name", "shop", "team", "role", "employer", "active"])
    sheet.append(["s:ann", "安", "s", "售前一组", "presales", "宿迁云客服", "true"])
    sheet.append(["s:bot", "店小蜜", "s", None, "robot", None, None])
    book.save(tmp_path / "agents.xlsx")
    reports = {r.table: r for r in import_paths(ws, [tmp_path])}
    assert (reports["messages"].added, reports["agents"].added, reports["agents"].rejected) == (1, 1, 1)
    assert rejects(ws) == [
        (3, "role: 'robot' is not one of presales, aftersales, refund, review, qc, trainer, manager, bot")
    ]
    assert ws.con.execute("SELECT ts::VARCHAR FROM messages").fetchone()[0] == "2026-11-11 10:00:00"


def test_a_file_with_an_unknown_name_is_reported_not_guessed(ws, tmp_path):
    [report] = import_paths(ws, [write(tmp_path / "stuff.csv", HEADER)])
    assert "does not say which table" in report.error


def test_a_table_with_its_own_reason_column_imports(ws, tmp_path):
    # refunds.reason is a canonical column: validation's own bookkeeping must not clash with it.
    text = (
        "refund_id,order_id,shop,applied_at,finished_at,amount,status,reason,agent\n"
        "r1,o1,s,2026-11-12 10:00:00,,19.90,processing,多拍了,s:ann\n"
    )
    [report] = import_paths(ws, [write(tmp_path / "refunds.csv", text)])
    assert (report.accepted, report.rejected) == (1, 0)
    assert ws.con.execute("SELECT reason FROM refunds").fetchone()[0] == "多拍了"


@pytest.mark.parametrize("row_hash", ["real", "all_collide"])
def test_dedup_is_exact_even_when_every_row_hash_collides(tmp_path, monkeypatch, row_hash):
    """Copies are found by a 64-bit hash first; rows whose hashes match are compared column by
    column, so a collision never drops a distinct row (here every row gets the same hash)."""
    if row_hash == "all_collide":
        monkeypatch.setattr(pipeline, "_row_hash", lambda table: "42::UBIGINT")
    ws = Workspace.memory()
    rows = [
        "2026-11-11 10:00:01,s,b1,s:ann,buyer,a",
        "2026-11-11 10:00:01,s,b1,s:ann,buyer,",
        "2026-11-11 10:00:01,s,b2,s:ann,buyer,a",
        "2026-11-11 10:00:02,s,b1,s:ann,agent,a",
    ]
    first = write(tmp_path / "messages-1.csv", HEADER + "\n".join([rows[0], rows[1], rows[0]]) + "\n")
    second = write(tmp_path / "messages-2.csv", HEADER + "\n".join([rows[1], rows[2], rows[3], rows[3]]) + "\n")
    [one] = import_paths(ws, [first])
    [two] = import_paths(ws, [second])
    # Every row of a file counts (a multiset, D14); the second file's rows[1] is stored already.
    assert (one.read, one.added, two.read, two.added) == (3, 3, 4, 3)
    stored = ws.con.execute(
        "SELECT buyer, sender, text, src_line FROM messages ORDER BY ts, buyer, text NULLS FIRST, src_line"
    ).fetchall()
    # Each copy is kept with its own line number.
    assert stored == [
        ("b1", "buyer", "", 3),
        ("b1", "buyer", "a", 2),
        ("b1", "buyer", "a", 4),
        ("b2", "buyer", "a", 3),
        ("b1", "agent", "a", 4),
        ("b1", "agent", "a", 5),
    ]
