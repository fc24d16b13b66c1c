"""Hand-written QC findings for review and ledger tests, stored with the contract's columns (docs/qc.md)."""

from __future__ import annotations

import datetime as dt

from kefu.qc import review


def add_finding(
    con,
    finding_id: str,
    agent: str,
    ts: str,
    *,
    shop: str = "s",
    buyer: str = "b1",
    rule: str = "r1",
    rule_name: str = "禁用语",
    severity: str = "medium",
    points: float = 5.0,
    text: str = "滚",
    match: str = "滚",
    status: str | None = None,
    reviewer: str = "质检",
) -> str:
    """Store one finding (and its review when `status` is given); returns its id."""
    review.ensure_tables(con)
    when = dt.datetime.fromisoformat(ts)
    con.execute(
        """INSERT INTO qc_findings (finding_id, shop, agent, buyer, ts, day, rule, rule_name, severity, points, scope,
                                    text, match, match_start, run_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'agent_text', ?, ?, 0, ?)""",
        [finding_id, shop, agent, buyer, when, when.date(), rule, rule_name, severity, points, text, match, when],
    )
    if status:
        review.set_status(con, finding_id, status, reviewer)
    return finding_id
