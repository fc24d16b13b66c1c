"""Tables derived from the canonical ones that no parameter changes, kept in the workspace.

`questions` (spec §2) and `order_contacts` (the last human exchange before
each paid order, spec §4) are kept up to date inside the import transaction,
for the conversations the import touched, so KPI queries start from them and
stay fast.
"""

from __future__ import annotations

from dataclasses import dataclass

import ibis

from kefu.metrics.credit import order_contacts
from kefu.metrics.dialogue import bot_accounts, questions
from kefu.metrics.kpis import Sources
from kefu.workspace import Workspace

DERIVED = ("questions", "order_contacts")


def derive(messages: ibis.Table, orders: ibis.Table, bots: ibis.Table) -> dict[str, ibis.Table]:
    return {"questions": questions(messages), "order_contacts": order_contacts(messages, orders, bots)}


@dataclass
class Changes:
    """What an import changed, so that only the affected conversations are derived again.

    Both derived tables are computed per shop and buyer, from that buyer's messages
    and orders alone, plus the set of bot accounts. The import adds every (shop,
    buyer) whose messages or orders it added or replaced to the temp table `touched`.
    """

    ws: Workspace
    bots_before: set[str] | None

    @classmethod
    def start(cls, ws: Workspace) -> Changes:
        ws.con.execute("CREATE OR REPLACE TEMP TABLE touched (shop VARCHAR, buyer VARCHAR)")
        complete = all(ws.has_table(name) for name in DERIVED)
        return cls(ws, _bot_set(ws) if complete else None)

    def refresh_derived(self) -> int | None:
        """Recompute the derived rows of the touched conversations; everything when the bot accounts
        changed (they decide every order's credit) or the derived tables are missing.
        Returns how many conversations were recomputed (None: all)."""
        ws = self.ws
        bots = bot_accounts(ws.table("messages"), ws.table("agents"))
        if self.bots_before is None or _bot_set(ws) != self.bots_before:
            exprs = derive(ws.table("messages"), ws.table("orders"), bots)
            for name, expr in exprs.items():
                ws.con.execute(f'CREATE OR REPLACE TABLE "{name}" AS {ibis.to_sql(expr, dialect="duckdb")}')
            return None
        touched = ws.table("touched").distinct()
        exprs = derive(ws.table("messages").semi_join(touched, ["shop", "buyer"]),
                       ws.table("orders").semi_join(touched, ["shop", "buyer"]), bots)
        for name, expr in exprs.items():
            ws.con.execute(f'DELETE FROM "{name}" d WHERE EXISTS (SELECT 1 FROM touched t WHERE t.shop = d.shop AND t.buyer = d.buyer)')
            ws.con.execute(f'INSERT INTO "{name}" BY NAME {ibis.to_sql(expr, dialect="duckdb")}')
        return ws.con.execute("SELECT count(*) FROM (SELECT DISTINCT shop, buyer FROM touched)").fetchone()[0]


def refresh_derived(ws: Workspace) -> None:
    """Rebuild the derived tables from the workspace's tables (inside the caller's transaction)."""
    Changes(ws, None).refresh_derived()


def _bot_set(ws: Workspace) -> set[str]:
    bots = bot_accounts(ws.table("messages"), ws.table("agents"))
    return set(bots.to_pyarrow()["agent"].to_pylist())


def workspace_sources(ws: Workspace) -> Sources:
    """The workspace's tables as KPI sources, derived tables included once they exist."""
    tables = {name: ws.table(name) for name in ("messages", "orders", "agents", "ratings", "complaints")}
    derived = {name: ws.table(name) if ws.has_table(name) else None for name in DERIVED}
    return Sources(**tables, **derived)
