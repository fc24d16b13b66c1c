"""QC findings on real messages of the simulated web shop, stored through the running app's Store (docs/qc.md contract)."""

from __future__ import annotations

import datetime as dt

SEVERITIES = ("high", "medium")


def seed_findings(store, agents: dict[str, str], day: dt.date, per_agent: int = 2) -> dict[str, list[str]]:
    """`per_agent` findings on the first agent messages of `day` of each account in `agents` (label -> account);
    returns label -> finding ids. Idempotent: the same ids are replaced, their reviews removed."""
    rows, ids = [], {}
    for label, agent in agents.items():
        found = store.sql(
            """SELECT shop, agent, buyer, ts, text FROM messages WHERE agent = ? AND sender = 'agent'
                              AND ts >= ? AND ts < ? AND length(text) >= 2 ORDER BY ts, buyer LIMIT ?""",
            [agent, day, day + dt.timedelta(days=1), per_agent],
        )
        assert len(found) == per_agent, f"{agent} sent fewer than {per_agent} messages on {day}"
        ids[label] = []
        for i, m in enumerate(found.itertuples()):
            finding_id = f"seed-{label}-{i}"
            ts = m.ts.to_pydatetime()
            rows.append(
                [
                    finding_id,
                    m.shop,
                    m.agent,
                    m.buyer,
                    ts,
                    ts.date(),
                    f"r{i}",
                    f"测试规则{i}",
                    SEVERITIES[i % 2],
                    5.0,
                    "agent_text",
                    m.text,
                    m.text[:2],
                    0,
                    dt.datetime.now(),
                ]
            )
            ids[label].append(finding_id)

    def store_rows(ws):
        from kefu.qc.review import ensure_tables

        con = ws.con
        ensure_tables(con)
        for r in rows:
            con.execute("DELETE FROM qc_reviews WHERE finding_id = ?", [r[0]])
            con.execute("DELETE FROM qc_findings WHERE finding_id = ?", [r[0]])
            con.execute(
                """INSERT INTO qc_findings (finding_id, shop, agent, buyer, ts, day, rule, rule_name, severity, points, scope,
                                                    text, match, match_start, run_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                r,
            )

    store.write(store_rows)
    return ids
