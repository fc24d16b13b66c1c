"""Quality inspection (质检): rules, the engine that checks every chat, sampling, reviews, the 互查 ledger.

The contract shared with the review queue, the ledger and pay schemes is in
docs/qc.md. This package's front door:

- `kefu.qc.rules`: parse_rules, load_rules, default_rules_text;
- `kefu.qc.engine`: run, findings, agent_day_scores;
- `kefu.qc.examples`: example_problems, save_rules (a library is saved only when its examples pass the engine);
- `confirmed_errors` (here): what pay schemes deduct for.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from duckdb import DuckDBPyConnection

if TYPE_CHECKING:
    from kefu.workspace import Workspace

__all__ = ["confirmed_errors", "day_tally", "score"]


def confirmed_errors(ws: Any, date_from: dt.date | None, date_to: dt.date | None) -> list[dict[str, Any]]:
    """Confirmed findings per shop, agent and day of the period: shop, agent, day, confirmed_errors (int),
    points (float, the points they deduct). Open and dismissed findings are not errors."""
    from kefu.qc import store

    con = getattr(ws, "con", ws)
    if not store.has_tables(con):
        return []
    where, args = store.period_clause("f.day", date_from, date_to)
    rows = con.execute(
        f"""SELECT f.shop, f.agent, f.day, count(*) AS confirmed_errors, sum(f.points) AS points
            FROM qc_findings f JOIN qc_reviews r USING (finding_id)
            WHERE r.status = 'confirmed' AND {where}
            GROUP BY ALL ORDER BY f.shop, f.agent, f.day""",
        args,
    ).fetchall()
    return [
        {"shop": shop, "agent": agent, "day": day, "confirmed_errors": int(n), "points": float(points)}
        for shop, agent, day, n, points in rows
    ]


def day_tally(ws: Workspace | DuckDBPyConnection, shop: str, day: dt.date) -> dict[str, dict[str, Any]] | None:
    """Per agent of a shop on a day: findings, confirmed, open, points (of findings not dismissed), dialogues
    (inspected) and points_deducted (what the QC score loses, so `score(points_deducted)` is the day's score).

    None when no QC run covered the day (so a report shows no QC figures rather than perfect scores).
    An agent with messages but no findings is not listed: their score is 100 (`score`).
    """
    from kefu.qc import store

    con = ws if isinstance(ws, DuckDBPyConnection) else ws.con
    if not store.covered(con, day):
        return None
    return {
        t["agent"]: {k: t[k] for k in ("findings", "confirmed", "open", "points", "dialogues", "points_deducted")}
        for t in store.tally(con, "f.shop = ? AND f.day = ?", [shop, day])
    }


def score(points_deducted: float) -> float:
    """The QC score: 100 minus what it loses (`points_deducted`, already per dialogue: kefu.qc.store.deducted),
    at least 0, to 0.1."""
    return round(max(0.0, 100.0 - points_deducted), 1)
