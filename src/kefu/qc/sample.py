"""A reproducible stratified sample of dialogues for manual review (人工抽检).

A dialogue is one agent with one buyer on one day. Its stratum is the worst
severity among its QC findings (critical, high, medium, low) or `clean`.
Within each agent and stratum, dialogues are ordered by
md5(seed|shop|agent|buyer|day); each agent's sample takes the first of every
non-empty stratum, worst first, then the second of each, and so on, up to
`per_agent`. So reviewers see the doubtful dialogues first and clean ones too,
and the same seed and data give the same sample whatever order the rows are in.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import quote

import ibis
import ibis.expr.types as ir
from ibis import _

from kefu.errors import KefuError
from kefu.metrics.dialogue import bot_accounts
from kefu.qc import store

STRATA = ("critical", "high", "medium", "low", "clean")  # worst first
DIALOGUE = ("shop", "agent", "buyer", "day")


def week_days(week: str) -> tuple[dt.date, dt.date]:
    """'2026-W46' → (Monday, Sunday) of that ISO week; a KefuError (a ValueError) naming the expected form otherwise."""
    try:
        year, number = week.upper().split("-W")
        monday = dt.date.fromisocalendar(int(year), int(number), 1)
    except ValueError:
        raise KefuError(f"week {week!r} is not an ISO week like 2026-W46") from None
    return monday, monday + dt.timedelta(days=6)


def dialogues(messages: ir.Table, agents: ir.Table, date_from: dt.date, date_to: dt.date) -> ir.Table:
    """Dialogues of human agents in the period: distinct shop, agent, buyer, day of buyer and agent messages."""
    start = ibis.timestamp(dt.datetime.combine(date_from, dt.time()))
    end = ibis.timestamp(dt.datetime.combine(date_to + dt.timedelta(days=1), dt.time()))
    said = messages.filter((_.ts >= start) & (_.ts < end) & _.sender.isin(("buyer", "agent")))
    return (
        said.anti_join(bot_accounts(messages, agents), "agent")
        .select("shop", "agent", "buyer", day=_.ts.date())
        .distinct()
    )


def sample_table(dialogues: ir.Table, findings: ir.Table, per_agent: int, seed: int) -> ir.Table:
    """The sample: shop, agent, buyer, day, stratum, findings, pick (1 … per_agent within the agent)."""
    rank = ibis.cases(*((findings.severity == s, i) for i, s in enumerate(STRATA)), else_=len(STRATA) - 1)
    worst = findings.mutate(rank=rank).group_by(list(DIALOGUE)).aggregate(worst=_.rank.min(), findings=_.rank.count())
    worst = worst.rename(f_shop="shop", f_agent="agent", f_buyer="buyer", f_day="day")
    joined = dialogues.left_join(
        worst,
        [
            dialogues.shop == worst.f_shop,
            dialogues.agent == worst.f_agent,
            dialogues.buyer == worst.f_buyer,
            dialogues.day == worst.f_day,
        ],
    )
    key = ibis.literal("|").join(
        [ibis.literal(str(seed)), joined.shop, joined.agent, joined.buyer, joined.day.cast("string")]
    )
    ranked = joined.select(
        *DIALOGUE,
        stratum_rank=joined.worst.fill_null(len(STRATA) - 1),
        findings=joined.findings.fill_null(0),
        draw=key.hexdigest("md5"),
    )
    in_stratum = ibis.window(group_by=["shop", "agent", "stratum_rank"], order_by=["draw", "buyer", "day"])
    ranked = ranked.mutate(round=ibis.row_number().over(in_stratum))
    in_agent = ibis.window(group_by=["shop", "agent"], order_by=["round", "stratum_rank", "draw", "buyer", "day"])
    picked = ranked.mutate(pick=ibis.row_number().over(in_agent) + 1).filter(_.pick <= per_agent)
    stratum = ibis.cases(*((picked.stratum_rank == i, s) for i, s in enumerate(STRATA)), else_="clean")
    return picked.select(*DIALOGUE, stratum=stratum, findings=_.findings, pick=_.pick).order_by(
        ["shop", "agent", "pick"]
    )


def chat_path(agent: str, day: dt.date | str, buyer: str) -> str:
    """The web app's chat page of a dialogue (docs/web.md)."""
    return f"/chats/{quote(agent, safe='')}/{day}/{quote(buyer, safe='')}"


def sample(
    ws: Any,
    date_from: dt.date | None,
    date_to: dt.date | None,
    per_agent: int = 10,
    seed: int = 7,
    agent: str | None = None,
    shop: str | None = None,
) -> list[dict[str, Any]]:
    """The sample of the period as records: shop, agent, buyer, day, stratum, findings, pick, rules, chat.

    An open bound (None) means from the first / to the last day with messages.
    """
    con = getattr(ws, "con", ws)
    backend = ws.ibis if hasattr(ws, "ibis") else ibis.duckdb.from_connection(con)
    if date_from is None or date_to is None:
        first, last = con.execute("SELECT min(ts)::DATE, max(ts)::DATE FROM messages").fetchone()
        if first is None:
            return []
        date_from, date_to = date_from or first, date_to or last
    found = _stored_findings(backend, con, date_from, date_to)
    talks = dialogues(backend.table("messages"), backend.table("agents"), date_from, date_to)
    if agent is not None:
        talks, found = talks.filter(_.agent == agent), found.filter(_.agent == agent)
    if shop is not None:
        talks, found = talks.filter(_.shop == shop), found.filter(_.shop == shop)
    rows = sample_table(talks, found, per_agent, seed).execute().to_dict("records")
    rules = _rules_by_dialogue(con, rows)
    out = []
    for row in rows:
        day = row["day"].date() if hasattr(row["day"], "date") else row["day"]
        key = (row["shop"], row["agent"], row["buyer"], day)
        out.append(
            {
                "shop": row["shop"],
                "agent": row["agent"],
                "buyer": row["buyer"],
                "day": day,
                "stratum": row["stratum"],
                "findings": int(row["findings"]),
                "pick": int(row["pick"]),
                "rules": ",".join(rules.get(key, [])),
                "chat": chat_path(row["agent"], day, row["buyer"]),
            }
        )
    return out


def sample_finding_ids(
    con: Any,
    *,
    date_from: dt.date | None,
    date_to: dt.date | None,
    per_agent: int = 10,
    seed: int = 7,
    agent: str | None = None,
) -> list[str]:
    """Ids of the findings inside the sampled dialogues (the review queue's 抽检 view)."""
    picked = sample(con, date_from, date_to, per_agent, seed, agent)
    if not picked or not store.has_tables(con):
        return []
    keys = [(r["shop"], r["agent"], r["buyer"], r["day"]) for r in picked]
    rows = con.execute(
        """SELECT finding_id FROM qc_findings f
           JOIN (SELECT unnest(?::VARCHAR[]) AS shop, unnest(?::VARCHAR[]) AS agent, unnest(?::VARCHAR[]) AS buyer,
                        unnest(?::DATE[]) AS day) s USING (shop, agent, buyer, day)
           ORDER BY f.shop, f.agent, f.day, f.ts, f.finding_id""",
        [list(k) for k in zip(*keys)],
    ).fetchall()
    return [r[0] for r in rows]


def _stored_findings(backend, con, date_from: dt.date, date_to: dt.date) -> ir.Table:
    if store.has_tables(con):
        table = backend.table("qc_findings")
        return table.filter((table.day >= date_from) & (table.day <= date_to)).select(*DIALOGUE, "severity")
    return ibis.memtable(
        {"shop": [], "agent": [], "buyer": [], "day": [], "severity": []},
        schema={"shop": "string", "agent": "string", "buyer": "string", "day": "date", "severity": "string"},
    )


def _rules_by_dialogue(con, rows: list[dict]) -> dict[tuple, list[str]]:
    """The distinct rules found in each sampled dialogue (for display)."""
    if not rows or not store.has_tables(con):
        return {}
    columns = [[r[k].date() if k == "day" and hasattr(r[k], "date") else r[k] for r in rows] for k in DIALOGUE]
    found = con.execute(
        """SELECT f.shop, f.agent, f.buyer, f.day, list(DISTINCT f.rule ORDER BY f.rule)
           FROM qc_findings f JOIN (SELECT unnest(?::VARCHAR[]) AS shop, unnest(?::VARCHAR[]) AS agent,
                                           unnest(?::VARCHAR[]) AS buyer, unnest(?::DATE[]) AS day) s
                USING (shop, agent, buyer, day)
           GROUP BY ALL""",
        columns,
    ).fetchall()
    return {(shop, agent, buyer, day): rules for shop, agent, buyer, day, rules in found}
