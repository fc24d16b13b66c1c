"""Tables derived from the canonical ones that no parameter changes, kept in the workspace.

`questions` (spec §2) and `order_contacts` (the last human exchange before
each paid order, spec §4) are rebuilt inside the import transaction, so KPI
queries start from them and stay fast.
"""

from __future__ import annotations

import ibis

from kefu.metrics.credit import order_contacts
from kefu.metrics.dialogue import bot_accounts, questions
from kefu.metrics.kpis import Sources
from kefu.workspace import Workspace

DERIVED = ("questions", "order_contacts")


def derive(messages: ibis.Table, orders: ibis.Table, agents: ibis.Table) -> dict[str, ibis.Table]:
    bots = bot_accounts(messages, agents)
    return {
        "questions": questions(messages),
        "order_contacts": order_contacts(messages, orders, bots),
    }


def refresh_derived(ws: Workspace) -> None:
    """Rebuild the derived tables from the workspace's tables (inside the caller's transaction)."""
    exprs = derive(ws.table("messages"), ws.table("orders"), ws.table("agents"))
    for name, expr in exprs.items():
        ws.con.execute(f'CREATE OR REPLACE TABLE "{name}" AS {ibis.to_sql(expr, dialect="duckdb")}')


def workspace_sources(ws: Workspace) -> Sources:
    """The workspace's tables as KPI sources, derived tables included once they exist."""
    tables = {name: ws.table(name) for name in ("messages", "orders", "agents", "ratings", "complaints")}
    derived = {name: ws.table(name) if ws.has_table(name) else None for name in DERIVED}
    return Sources(**tables, **derived)
