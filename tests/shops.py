"""Tiny hand-written shops for definition tests: rows in, canonical CSV files out, imported."""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
from pathlib import Path

from kefu import api
from kefu.config import Params
from kefu.ingest.pipeline import import_paths
from kefu.metrics.kpis import group_keys
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


# --- Definition cases: one workspace per module, one shop per test, run on every backend -----------------------
#
# In the style of ibis's backend suite: a test declares its rows with @case, the module's `world` fixture puts
# every declared case in one workspace (each as a shop named after its test) and answers KPI queries on DuckDB
# (through api.kpis, the users' path) or on Spark (the same Ibis expressions over copies of the tables). A query
# is run once per (grouping, parameters) for all the module's shops; each test reads its own shop, renamed "s".


@dataclasses.dataclass(frozen=True)
class Case:
    messages: list[dict]
    orders: list[dict]
    tables: dict[str, list[dict]]


def case(messages: list[dict], orders: list[dict] = (), **tables: list[dict]):
    """Declares the rows of a test's shop (written with shop "s"); the test takes the `kpi` fixture."""

    def declare(test):
        test.case = Case(list(messages), list(orders), tables)
        return test

    return declare


def _in_shop(rows: list[dict], name: str) -> list[dict]:
    return [{**row, "shop": name} if row.get("shop", "s") == "s" else row for row in rows]


class World:
    """Every case of a test module as one workspace, queried on one backend."""

    def __init__(self, folder: Path, cases: dict[str, Case], backend: str, spark_con=None):
        messages = [m for name, c in cases.items() for m in _in_shop(c.messages, name)]
        orders = [o for name, c in cases.items() for o in _in_shop(c.orders, name)]
        tables: dict[str, list[dict]] = {}
        for name, c in cases.items():
            for table, rows in c.tables.items():
                tables.setdefault(table, []).extend(_in_shop(rows, name))
        self.ws = shop(folder, messages, orders, **tables)
        self.backend = backend
        self.sources = None
        if backend == "spark":
            from kefu.engines.spark import sources_from_workspace

            self.sources = sources_from_workspace(spark_con, self.ws, prefix="definitions_")
        self._answers: dict[tuple, list[dict]] = {}

    def records(self, by: tuple[str, ...], params: Params) -> list[dict]:
        if (by, params) not in self._answers:
            if self.sources is None:
                answer = api.kpis(self.ws, list(by), params)
            else:
                from kefu.metrics.kpis import kpi_table
                from kefu.metrics.output import to_records

                answer = to_records(kpi_table(self.sources, list(by), params).execute())
            self._answers[(by, params)] = answer
        return self._answers[(by, params)]


@dataclasses.dataclass
class CaseKpis:
    """One test's shop in its module's world: the same answers as kpis()/one() on a workspace of its own."""

    world: World
    name: str

    def rows(self, by: str = "agent,day", **params) -> dict[tuple, dict]:
        grouping = tuple(by.split(","))
        # The shop is always grouped on so other cases never mix in; dropped again when not asked for.
        keep_shop = "shop" in group_keys(list(grouping))
        query = grouping if keep_shop else ("shop", *grouping)
        out = {}
        for record in self.world.records(query, Params(**params)):
            if record.get("shop") != self.name:
                continue
            record = {**record, "shop": "s"} if keep_shop else {k: v for k, v in record.items() if k != "shop"}
            out[tuple(v for k, v in record.items() if k not in BY_KEY)] = record
        return out

    def one(self, agent: str = "s:ann", day: str = DAY, **params) -> dict:
        return self.rows(**params)[("s", agent, day)]
