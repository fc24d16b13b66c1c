"""A hand-made shop `s` over 2026-11-10 and 2026-11-11, for the daily report and the provisional marks.

    11-10  b9 asks 09:00:00, ann answers 09:01:06 (66 s); b9 orders 09:05 and pays 09:06 → converted.
    11-11  b1 asks 10:00:00, ann answers 10:01:06 (66 s), and twice more (10:01:20, 10:01:40);
           b2 asks 10:10:00, answered 10:11:06 (66 s);
           b3 asks 10:20:00, answered 10:21:07 (67 s), asks again 10:25:00, answered 10:26:06 (66 s);
           b4 asks 10:30:00, never answered;
           b1 orders 11:00 and pays 11:01 → converted; b2, b3, b4 are lost.

11-11 figures: consult 4, received 3 → 回复率 3/4 = 75 %; buyer messages 5, agent messages 6
→ 答问比 6/5 = 120 %; responses 66, 66, 67, 66 → 平响 66.25 s, all slower than 60 s → 慢响应次数 4,
慢响应人数 3 (b1, b2, b3); inquiries 4, converted 1 → 询单转化率 25 %, lost 3.
11-10: 询单转化率 100 %, lost 0 (so 11-11 shows −75 pp and +3 lost: a drop, were it final).
Month to date on 11-11: 平响 (66 × 4 + 67) / 5 = 66.2 s, 回复率 4/5 = 80 %.
Targets: 平响 15 s (lower is better: 15 / 66.2 = 22.7 % complete), 回复率 95 % (80 / 95 = 84.2 %).
The newest row is b1's payment, 2026-11-11 11:01: the conversion figures of 11-10 are final on
11-12, those of 11-11 on 11-13, and neither is final yet. LATE adds a message on 11-13 00:00:05.
"""

from __future__ import annotations

from pathlib import Path

from shops import msg, order, write_table

from kefu.ingest.pipeline import import_paths
from kefu.workspace import Workspace

D10, D11 = "2026-11-10", "2026-11-11"
TARGETS = "month,shop,scope,subject,metric,value\n2026-11,s,shop,s,avg_response_s,15\n2026-11,s,shop,s,reply_rate,95%\n"


def ask(clock: str, buyer: str, day: str = D11) -> dict:
    return msg(f"{day} {clock}", "buyer", buyer=buyer)


def answer(clock: str, buyer: str, day: str = D11) -> dict:
    return msg(f"{day} {clock}", "agent", buyer=buyer)


MESSAGES = [
    ask("09:00:00", "b9", D10),
    answer("09:01:06", "b9", D10),
    ask("10:00:00", "b1"),
    answer("10:01:06", "b1"),
    answer("10:01:20", "b1"),
    answer("10:01:40", "b1"),
    ask("10:10:00", "b2"),
    answer("10:11:06", "b2"),
    ask("10:20:00", "b3"),
    answer("10:21:07", "b3"),
    ask("10:25:00", "b3"),
    answer("10:26:06", "b3"),
    ask("10:30:00", "b4"),
]
ORDERS = [
    order("o9", f"{D10} 09:05:00", f"{D10} 09:06:00", "50.00", buyer="b9"),
    order("o1", f"{D11} 11:00:00", f"{D11} 11:01:00", "199.00", buyer="b1"),
]


def build(root: Path) -> Path:
    """The workspace at root/ws, with the targets file at root/targets.csv (not imported)."""
    data = root / "data"
    data.mkdir()
    write_table(data, "messages", MESSAGES)
    write_table(data, "orders", ORDERS)
    path = root / "ws"
    with Workspace.open(path, create=True) as ws:
        reports = import_paths(ws, [data])
    assert all(r.rejected == 0 and not r.error for r in reports), [r.problems for r in reports]
    (root / "targets.csv").write_text(TARGETS, encoding="utf-8")
    return path


def add_late_message(ws_path: Path, root: Path) -> None:
    """A buyer writes on 2026-11-13 00:00:05: the data now reaches past the 11th's conversion window."""
    late = root / "late"
    late.mkdir()
    write_table(late, "messages", [ask("00:00:05", "bz", "2026-11-13")])
    with Workspace.open(ws_path) as ws:
        import_paths(ws, [late])
