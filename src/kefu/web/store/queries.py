"""Page queries on a snapshot: the engine's results, each computed once per snapshot (the import-owned tables
never change under it), and plain SQL (the chats)."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import pandas as pd
from ibis import _

from kefu import api
from kefu.derive import workspace_sources
from kefu.metrics.explain import Explanation
from kefu.metrics.kpis import facts

if TYPE_CHECKING:
    from kefu.web.store.snapshot import Snapshot

#: The engine's order of a buyer's messages with the same time (D1).
_MESSAGE_ORDER = "CASE sender WHEN 'transfer' THEN 0 WHEN 'buyer' THEN 1 WHEN 'bot' THEN 2 ELSE 3 END, agent, text"


def kpis(
    snap: Snapshot, by: tuple[str, ...], date_from: dt.date | None = None, date_to: dt.date | None = None
) -> list[dict]:
    by = tuple(by)
    return snap.engine.get(
        ("kpis", by, date_from, date_to),
        lambda: api.kpis(snap.ws, list(by), date_from=date_from, date_to=date_to),
    )


def agents(snap: Snapshot) -> dict[str, dict]:
    """Every human account that has figures or is listed in `agents`: id -> shop, name, team, employer, role."""

    def compute() -> dict[str, dict]:
        listed = sql(snap, "SELECT agent, name, shop, team, role, employer FROM agents")
        found = {r["agent"]: r for r in listed.to_dict("records")}
        for rec in kpis(snap, ("agent", "day")):
            found.setdefault(
                rec["agent"],
                {
                    "agent": rec["agent"],
                    "name": None,
                    "shop": rec["shop"],
                    "team": None,
                    "role": "presales",
                    "employer": "in_house",
                },
            )
        out = {}
        for a, r in found.items():
            r = {k: (None if pd.isna(v) else v) for k, v in r.items()}
            r["name"] = r.get("name") or a.split(":", 1)[-1]
            r["employer"] = r.get("employer") or "in_house"
            r["role"] = r.get("role") or "presales"
            if r["role"] != "bot":
                out[a] = r
        return out

    return snap.engine.get(("agents",), compute)


def shops(snap: Snapshot) -> list[str]:
    return snap.engine.get(("shops",), lambda: sorted({r["shop"] for r in kpis(snap, ("shop", "day"))}))


def days(snap: Snapshot) -> list[dt.date]:
    return snap.engine.get(
        ("days",), lambda: sorted({dt.date.fromisoformat(r["day"]) for r in kpis(snap, ("shop", "day"))})
    )


def lost(snap: Snapshot, shop: str, day: dt.date, day_to: dt.date | None = None) -> pd.DataFrame:
    """Lost inquiries (询单流失) of a shop from `day` to `day_to` (default: that day): agent, buyer, first question, answered."""
    last = day_to or day

    def compute() -> pd.DataFrame:
        rows = facts(workspace_sources(snap.ws), snap.ws.config.params)["consultations"].rows
        rows = rows.filter(_.lost & (_.shop == shop) & (_.first_open.date() >= day) & (_.first_open.date() <= last))
        return (
            rows.select("shop", "agent", "buyer", "first_open", "answered", "first_response_s")
            .order_by(["agent", "first_open"])
            .execute()
        )

    return snap.engine.get(("lost", shop, day, last), compute)


def section_measures(snap: Snapshot) -> dict[str, set[str]]:
    """Fact name -> the measures it adds (which drill-down sections explain a metric)."""
    return snap.engine.get(
        ("sections",),
        lambda: {n: set(f.measures) for n, f in facts(workspace_sources(snap.ws), snap.ws.config.params).items()},
    )


def explain(snap: Snapshot, agent: str, day: dt.date) -> Explanation:
    return snap.explained.get((agent, day), lambda: api.explain_agent_day(snap.ws, agent, day))


# -- plain SQL -------------------------------------------------------------------------------


def sql(snap: Snapshot, query: str, params: list | None = None) -> pd.DataFrame:
    return snap.read(lambda ws: ws.con.execute(query, params or []).df())


def chats(snap: Snapshot, shop: str, buyers: list[str], day: dt.date) -> pd.DataFrame:
    """Messages of several buyers with the shop on a day, in one query (buyer, ts, agent, sender, text)."""
    if not buyers:
        return pd.DataFrame(columns=["buyer", "ts", "agent", "sender", "text"])
    return sql(
        snap,
        f"""SELECT buyer, ts, agent, sender, text FROM messages
            WHERE shop = ? AND ts >= ? AND ts < ? AND buyer IN (SELECT unnest(?::VARCHAR[]))
            ORDER BY buyer, ts, {_MESSAGE_ORDER}""",
        [shop, day, day + dt.timedelta(days=1), buyers],
    )


def chat(snap: Snapshot, shop: str, buyer: str, day: dt.date) -> pd.DataFrame:
    """The buyer's messages with the shop on a day (every account), in the engine's order (D1)."""
    return sql(
        snap,
        f"""SELECT ts, agent, sender, text FROM messages WHERE shop = ? AND buyer = ? AND ts >= ? AND ts < ?
            ORDER BY ts, {_MESSAGE_ORDER}""",
        [shop, buyer, day, day + dt.timedelta(days=1)],
    )
