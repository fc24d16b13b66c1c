"""Tiny hand-written shops for definition tests: rows in, canonical CSV files out, imported."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

from kefu import api
from kefu.config import Params
from kefu.ingest.pipeline import import_paths
from kefu.metrics.registry import BY_KEY
from kefu.schema import TABLES
from kefu.workspace import Workspace

DAY = "2026-11-11"


def at(clock: str, day: str = DAY) -> str:
    """'10:00:05' on the default day, or a full 'YYYY-MM-DD HH:MM:SS' as is."""
    return clock if len(clock) > 8 else f"{day} {clock}"


def write_table(folder: Path, name: str, rows: list[dict]) -> Path:
    path = folder / f"{name}.csv"
    columns = TABLES[name].column_names
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=columns)
        writer.writeheader()
        writer.writerows({c: row.get(c, "") for c in columns} for row in rows)
    return path


def msg(clock: str, sender: str, agent: str = "s:ann", buyer: str = "b1", text: str = "", shop: str = "s") -> dict:
    return {"ts": at(clock), "shop": shop, "buyer": buyer, "agent": agent, "sender": sender, "text": text or sender}


def order(
    order_id: str, created: str, paid: str | None, amount: str = "100.00", buyer: str = "b1", shop: str = "s"
) -> dict:
    return {
        "order_id": order_id,
        "shop": shop,
        "buyer": buyer,
        "created_at": at(created),
        "paid_at": at(paid) if paid else "",
        "amount": amount,
        "status": "paid" if paid else "unpaid",
    }


def shop(folder: Path, messages: list[dict], orders: list[dict] = (), **tables: list[dict]) -> Workspace:
    """An imported in-memory workspace holding the given rows."""
    data = folder / "data"
    data.mkdir(exist_ok=True)
    write_table(data, "messages", messages)
    write_table(data, "orders", list(orders))
    for name, rows in tables.items():
        write_table(data, name, rows)
    ws = Workspace.memory()
    reports = import_paths(ws, [data])
    assert all(r.rejected == 0 and not r.error for r in reports), [r.problems or r.error for r in reports]
    return ws


def kpis(ws: Workspace, by: str = "agent,day", **params) -> dict[tuple, dict]:
    """KPI records keyed by their group values, e.g. {('s', 's:ann', '2026-11-11'): {...}}."""
    records = api.kpis(ws, by.split(","), Params(**params))
    return {tuple(v for k, v in r.items() if k not in BY_KEY): r for r in records}


def one(ws: Workspace, agent: str = "s:ann", day: str = DAY, **params) -> dict:
    return kpis(ws, **params)[("s", agent, day)]


def date(day: str) -> dt.date:
    return dt.date.fromisoformat(day)
