"""Messages are a multiset (D14, issue #12.10): identical rows of one file all count, and a re-import
or an overlapping export adds only the copies beyond those already stored."""

from __future__ import annotations

from pathlib import Path

import pytest

from kefu import api
from kefu.ingest import pipeline
from kefu.ingest.pipeline import import_paths
from kefu.workspace import Workspace

SHOP = "测试旗舰店"
HEADER = "ts,shop,buyer,agent,sender,text\n"


def chat(path: Path, pictures: int, *, empty: int = 0, note: str = "") -> Path:
    """A 千牛 chat: the buyer sends `pictures` × [图片] and `empty` messages without text (a picture the
    export leaves blank) in the same second, then the agent answers."""
    blocks = ["tb_buyer_01 2026-3-5 15:00:00\n[图片]\n"] * pictures + ["tb_buyer_01 2026-3-5 15:00:00\n\n"] * empty
    path.write_text(
        note + "".join(blocks) + f"{SHOP}:小王 2026-3-5 15:00:30\n收到亲，我看一下\n已读\n", encoding="utf-8"
    )
    return path


def messages_report(reports):
    [report] = [r for r in reports if r.table == "messages"]
    return report


def buyer_messages(ws: Workspace) -> list[tuple]:
    return ws.con.execute(
        "SELECT text, count(*) FROM messages WHERE sender = 'buyer' GROUP BY text ORDER BY text"
    ).fetchall()


def test_identical_messages_in_one_second_all_count(tmp_path):
    ws = Workspace.memory()
    report = messages_report(import_paths(ws, [chat(tmp_path / f"{SHOP}-小王-tb_buyer_01.txt", 3, empty=2)], shop=SHOP))
    assert (report.read, report.added, report.duplicates) == (6, 6, 0)
    assert buyer_messages(ws) == [("", 2), ("[图片]", 3)]
    [row] = api.kpis(ws, ["agent", "day"])
    assert (row["buyer_msgs"], row["agent_msgs"]) == (5, 1)


def test_an_overlapping_chat_export_adds_only_the_copies_beyond_those_stored(tmp_path):
    ws = Workspace.memory()
    import_paths(ws, [chat(tmp_path / "a.txt", 3)], shop=SHOP)
    again = messages_report(
        import_paths(ws, [chat(tmp_path / "b.txt", 3, note="当前用户来自 手机淘宝\n")], shop=SHOP)
    )  # exported again
    assert (again.read, again.added, again.duplicates) == (4, 0, 4)
    more = messages_report(
        import_paths(ws, [chat(tmp_path / "c.txt", 4)], shop=SHOP)
    )  # a later export: one more picture
    assert (more.read, more.added, more.duplicates) == (5, 1, 4)
    assert buyer_messages(ws) == [("[图片]", 4)]


@pytest.mark.parametrize("row_hash", ["real", "all_collide"])
def test_two_files_of_one_import_count_like_two_imports(tmp_path, monkeypatch, row_hash):
    """Within one import each file counts its own copies; across its files, as across imports, the
    larger count is kept (exact even when every row hash collides)."""
    if row_hash == "all_collide":
        monkeypatch.setattr(pipeline, "_row_hash", lambda table: "42::UBIGINT")
    row, other = "2026-11-11 15:00:00,s,b1,s:ann,buyer,[图片]\n", "2026-11-11 15:00:01,s,b1,s:ann,agent,好的\n"
    folder = tmp_path / "exports"
    folder.mkdir()
    (folder / "messages-1.csv").write_text(HEADER + row * 2 + other, encoding="utf-8")
    (folder / "messages-2.csv").write_text(HEADER + row * 3 + other * 2, encoding="utf-8")
    ws = Workspace.memory()
    first, second = import_paths(ws, [folder])
    assert (first.added, second.added, second.duplicates) == (3, 2, 3)
    stored = ws.con.execute("SELECT text, count(*) FROM messages GROUP BY text ORDER BY text").fetchall()
    assert stored == [("[图片]", 3), ("好的", 2)]
    # Each kept copy remembers its own line.
    assert ws.con.execute(
        "SELECT src_file[-14:], list(src_line ORDER BY src_line) FROM messages WHERE text = '[图片]' "
        "GROUP BY 1 ORDER BY 1"
    ).fetchall() == [("messages-1.csv", [2, 3]), ("messages-2.csv", [4])]


def test_identical_ratings_in_one_file_all_count(tmp_path):
    ws = Workspace.memory()
    path = tmp_path / "ratings.csv"
    path.write_text("ts,shop,buyer,agent,score\n" + "2026-11-11 15:00:00,s,b1,s:ann,5\n" * 2, encoding="utf-8")
    [report] = import_paths(ws, [path])
    assert (report.added, ws.count("ratings")) == (2, 2)
