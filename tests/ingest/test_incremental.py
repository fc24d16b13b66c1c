"""Imports keep the derived tables (questions, order contacts, consultations, message counts) and
the KPI cube equal to a rebuild from scratch, while recomputing only the conversations they touched."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from kefu.derive import Changes, refresh_derived
from kefu.ingest.pipeline import import_paths
from kefu.metrics.derived import STORED
from kefu.simulate import simulate
from kefu.workspace import Workspace

START = dt.date(2026, 11, 8)


def derived_rows(ws: Workspace) -> dict[str, list[tuple]]:
    return {name: sorted(map(repr, ws.con.execute(f'SELECT * FROM "{name}"').fetchall())) for name in STORED}


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    out = tmp_path_factory.mktemp("sim")
    simulate(out, agents=6, days=4, start=START, seed=5)
    return {
        name: pd.read_csv(out / f"{name}.csv", dtype=str, keep_default_na=False)
        for name in ("agents", "messages", "orders", "ratings")
    }


def write(folder, tables):
    folder.mkdir()
    for name, frame in tables.items():
        frame.to_csv(folder / f"{name}.csv", index=False)
    return folder


def by_day(frame, column, first, last):
    day = frame[column].str[:10]
    return frame[(day >= str(first)) & (day <= str(last))]


def test_daily_imports_give_the_same_derived_rows_as_one_import(shop, tmp_path, monkeypatch):
    messages, orders = shop["messages"], shop["orders"]
    recomputed = []
    original = Changes.refresh_derived
    monkeypatch.setattr(Changes, "refresh_derived", lambda self: recomputed.append(original(self)))
    batches = [
        (START, START + dt.timedelta(days=1)),
        (START + dt.timedelta(days=2),) * 2,
        (START + dt.timedelta(days=3),) * 2,
    ]
    daily = Workspace.memory()
    for number, (first, last) in enumerate(batches):
        tables = {"messages": by_day(messages, "ts", first, last), "orders": by_day(orders, "created_at", first, last)}
        if number == 0:
            tables["agents"] = shop["agents"]
        if number == 2:  # a later export also repeats yesterday's rows and moves one order to another buyer
            tables["messages"] = pd.concat(
                [tables["messages"], by_day(messages, "ts", first - dt.timedelta(days=1), first)]
            )
            moved = orders[orders["paid_at"] != ""].iloc[[0]].assign(buyer=messages["buyer"].iloc[-1])
            tables["orders"] = pd.concat([tables["orders"], moved])
        import_paths(daily, [write(tmp_path / f"day{number}", tables)])
    assert daily.count("questions") > 100 and daily.count("order_contacts") > 10
    # The first import derives everything; the later ones only the conversations they touched.
    conversations = daily.con.execute("SELECT count(DISTINCT (shop, buyer)) FROM messages").fetchone()[0]
    assert recomputed[0] is None and all(0 < n < conversations for n in recomputed[1:]), (recomputed, conversations)

    rebuilt = Workspace.memory()
    daily_tables = {
        name: daily.con.execute(f'SELECT * EXCLUDE (extra, src_file, src_line) FROM "{name}"').df()
        for name in ("agents", "messages", "orders")
    }
    for name, frame in daily_tables.items():
        rebuilt.con.register("frame", frame)
        rebuilt.con.execute(f'INSERT INTO "{name}" BY NAME SELECT * FROM frame')
        rebuilt.con.unregister("frame")
    refresh_derived(rebuilt)
    assert derived_rows(daily) == derived_rows(rebuilt)


def test_a_new_bot_account_rederives_everything(shop, tmp_path):
    ws = Workspace.memory()
    import_paths(
        ws,
        [write(tmp_path / "all", {"agents": shop["agents"], "messages": shop["messages"], "orders": shop["orders"]})],
    )
    before = derived_rows(ws)["order_contacts"]
    # An account that won orders turns out to be a bot: every order it won is credited anew.
    winner = ws.con.execute("SELECT order_agent FROM order_contacts WHERE order_agent IS NOT NULL LIMIT 1").fetchone()[
        0
    ]
    bot_line = pd.DataFrame(
        [
            {
                "ts": f"{START} 00:00:01",
                "shop": winner.split(":")[0],
                "buyer": "someone-else",
                "agent": winner,
                "sender": "bot",
                "text": "您好",
            }
        ]
    )
    import_paths(ws, [write(tmp_path / "bot", {"messages": bot_line})])
    after = ws.con.execute(
        "SELECT count(*) FROM order_contacts WHERE order_agent = ? OR payment_agent = ?", [winner, winner]
    ).fetchone()[0]
    assert after == 0 and derived_rows(ws)["order_contacts"] != before


def test_repeated_messages_and_orders_moving_forward_keep_the_derived_rows_exact(shop, tmp_path):
    """Identical messages all count (D14) and orders only move forward (operations.md §1); the
    conversations they touch are derived again exactly as a rebuild from scratch gives."""
    messages, orders = shop["messages"], shop["orders"]
    first_days = by_day(orders, "created_at", START, START + dt.timedelta(days=1))
    paid = first_days[first_days["paid_at"] != ""]
    later, older = paid.iloc[:20], paid.iloc[20:30]
    before_payment = later.assign(paid_at="", status="unpaid")  # the first export was taken before they were paid
    ws = Workspace.memory()
    import_paths(
        ws,
        [
            write(
                tmp_path / "first",
                {
                    "agents": shop["agents"],
                    "messages": by_day(messages, "ts", START, START + dt.timedelta(days=1)),
                    "orders": pd.concat([first_days.drop(later.index), before_payment]),
                },
            )
        ],
    )
    stored_messages = ws.count("messages")
    # The next export: day 3, 15 buyer messages of day 2 sent three times each, the 20 orders paid since,
    # and an older export's view of 10 paid orders (unpaid: changes nothing).
    pictures = by_day(messages, "ts", START + dt.timedelta(days=1), START + dt.timedelta(days=1))
    pictures = pictures[pictures["sender"] == "buyer"].iloc[:15]
    day3 = by_day(messages, "ts", START + dt.timedelta(days=2), START + dt.timedelta(days=2))
    reports = import_paths(
        ws,
        [
            write(
                tmp_path / "second",
                {
                    "messages": pd.concat([day3, pictures, pictures, pictures]),
                    "orders": pd.concat(
                        [
                            by_day(orders, "created_at", START + dt.timedelta(days=2), START + dt.timedelta(days=2)),
                            later,
                            older.assign(paid_at="", status="unpaid"),
                        ]
                    ),
                },
            )
        ],
    )
    report = {r.table: r for r in reports}
    assert (report["orders"].updated, report["orders"].changed) == (20, {"paid_at": 20, "status": 20})
    assert report["orders"].duplicates == 10
    # The 15 messages are stored once already: each of their three copies in this file adds two.
    assert ws.count("messages") == stored_messages + len(day3) + 2 * 15
    assert (
        ws.con.execute("SELECT count(*) FROM orders WHERE paid_at IS NOT NULL").fetchone()[0]
        == (orders["paid_at"][orders["created_at"].str[:10] <= str(START + dt.timedelta(days=2))] != "").sum()
    )

    rebuilt = Workspace.memory()
    for name in ("agents", "messages", "orders"):
        rebuilt.con.register(
            "frame", ws.con.execute(f'SELECT * EXCLUDE (extra, src_file, src_line) FROM "{name}"').df()
        )
        rebuilt.con.execute(f'INSERT INTO "{name}" BY NAME SELECT * FROM frame')
        rebuilt.con.unregister("frame")
    refresh_derived(rebuilt)
    assert derived_rows(ws) == derived_rows(rebuilt)
