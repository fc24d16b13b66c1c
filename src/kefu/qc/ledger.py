"""The 互查 mutual-inspection ledger: errors peers report, a supervisor decides, and each agent's monthly fund.

Agents report errors of their colleagues (`file_report`); a supervisor (qc,
manager, admin) confirms or rejects each report (`decide`). Every month each
agent who worked that month starts with a fund (`[qc.mutual] fund`, 100
yuan); each confirmed error costs `error_cost` (10 yuan); a QC finding a
supervisor confirmed in review that no peer reported costs
`error_cost × supervisor_multiplier` (double). In a warning-only month the
costs are shown but nothing is deducted. The fund never goes below 0.

`month_errors` lists the errors behind every deduction (traceable to the
report or finding); `month_ledger` is what pay schemes read; `public_list`
is the month's errors with the agent and the reporter hidden (匿名).
"""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import duckdb

from kefu.config import Mutual
from kefu.errors import KefuError
from kefu.month import Month
from kefu.schema import QC_FINDINGS, QC_PEER_REPORTS, QC_REVIEWS, QC_TABLES, SQL_TYPES
from kefu.workspace import Workspace, ensure_tables

STATUSES = ("open", "confirmed", "rejected")
DECISIONS = ("confirmed", "rejected", "open")  # "open" undoes a decision

CENT = Decimal("0.01")

REPORT_COLUMNS = QC_PEER_REPORTS.column_names


class ReportError(KefuError):
    """A peer report or a decision cannot be made as asked; the message says why."""


def ensure_table(con: duckdb.DuckDBPyConnection) -> None:
    """Create `qc_peer_reports` and the QC tables it refers to, when missing."""
    ensure_tables(con, (*QC_TABLES, QC_PEER_REPORTS))


# -- reports and decisions ----------------------------------------------------------------


def file_report(
    con: duckdb.DuckDBPyConnection,
    *,
    reporter: str,
    description: str,
    finding_id: str | None = None,
    shop: str | None = None,
    agent: str | None = None,
    day: dt.date | None = None,
    buyer: str | None = None,
    ts: dt.datetime | None = None,
) -> str:
    """Record a peer's report of another agent's error; returns its report_id.

    A report points at a QC finding (`finding_id`: shop, agent, buyer, time and
    day are taken from it), at a chat message (`agent`, `buyer`, `ts`), or just
    at an agent and a day.
    """
    ensure_table(con)
    description = (description or "").strip()
    if not description:
        raise ReportError("a report needs a description of the error")
    if finding_id:
        shop, agent, day, buyer, ts = _from_finding(con, finding_id, agent)
    else:
        if not (shop and agent):
            raise ReportError("a report names the shop and the agent (or points at a finding)")
        if ts is not None:
            _check_message(con, shop, agent, buyer, ts)
            day = ts.date()
        if day is None:
            raise ReportError("a report needs the day of the error (or the message's time)")
        if not _is_agent_of(con, shop, agent):
            raise ReportError(f"{agent} is not an agent of {shop}")
    if reporter == agent:
        raise ReportError("an agent cannot report their own error")
    if not _is_agent_of(con, shop, reporter):  # 互查 is between colleagues: supervisors confirm findings in review
        raise ReportError(f"the reporter {reporter} is not an agent of {shop}")
    report_id = uuid.uuid4().hex[:16]
    con.execute(
        "INSERT INTO qc_peer_reports VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'open', NULL, NULL, ?, ?)",
        [report_id, shop, reporter, agent, finding_id, ts, day, description, buyer, dt.datetime.now()],
    )
    return report_id


def _from_finding(con, finding_id: str, agent: str | None) -> tuple:
    row = con.execute(
        "SELECT shop, agent, day, buyer, ts FROM qc_findings WHERE finding_id = ?", [finding_id]
    ).fetchone()
    if row is None:
        raise ReportError(f"no QC finding {finding_id!r}")
    if agent and agent != row[1]:
        raise ReportError(f"finding {finding_id} is about {row[1]}, not {agent}")
    return row


def _check_message(con, shop: str, agent: str, buyer: str | None, ts: dt.datetime) -> None:
    if not buyer:
        raise ReportError("a report about a message names the buyer and the message's time")
    found = con.execute(
        "SELECT count(*) FROM messages WHERE shop = ? AND agent = ? AND buyer = ? AND ts = ? AND sender = 'agent'",
        [shop, agent, buyer, ts],
    ).fetchone()[0]
    if not found:
        raise ReportError(f"no message of {agent} to {buyer} at {ts:%Y-%m-%d %H:%M:%S} in {shop}")


def _is_agent_of(con, shop: str, agent: str) -> bool:
    return bool(
        con.execute(
            """SELECT EXISTS (SELECT 1 FROM agents WHERE shop = ? AND agent = ?)
               OR EXISTS (SELECT 1 FROM messages WHERE shop = ? AND agent = ? AND sender = 'agent')""",
            [shop, agent, shop, agent],
        ).fetchone()[0]
    )


def decide(con: duckdb.DuckDBPyConnection, report_id: str, status: str, decided_by: str) -> dict:
    """A supervisor confirms or rejects a report ("open" undoes the decision); returns the report."""
    ensure_table(con)
    if status not in DECISIONS:
        raise ReportError(f"a decision is one of {', '.join(DECISIONS)}, got {status!r}")
    found = get_report(con, report_id)
    if found is None:
        raise ReportError(f"no peer report {report_id!r}")
    if status == "open":
        con.execute(
            "UPDATE qc_peer_reports SET status = 'open', decided_by = NULL, decided_at = NULL WHERE report_id = ?",
            [report_id],
        )
    else:
        con.execute(
            "UPDATE qc_peer_reports SET status = ?, decided_by = ?, decided_at = ? WHERE report_id = ?",
            [status, decided_by, dt.datetime.now(), report_id],
        )
    decided = get_report(con, report_id)
    assert decided is not None  # found above, in the same connection
    return decided


def get_report(con: duckdb.DuckDBPyConnection, report_id: str) -> dict | None:
    ensure_table(con)
    found = _records(con, f"SELECT {', '.join(REPORT_COLUMNS)} FROM qc_peer_reports WHERE report_id = ?", [report_id])
    return found[0] if found else None


def reports(
    con: duckdb.DuckDBPyConnection,
    *,
    month: str | None = None,
    shops: list[str] | None = None,
    agents: list[str] | None = None,
    status: str | None = None,
) -> list[dict]:
    """Peer reports, open ones first, then newest first."""
    ensure_table(con)
    if status is not None and status not in STATUSES:
        raise ReportError(f"status is one of {', '.join(STATUSES)}, got {status!r}")
    where: list[str] = ["true"]
    args: list[Any] = []
    if month:
        m = Month.parse(month)
        where.append("day >= ? AND day < ?")
        args += [m.first, m.after]
    if shops is not None:
        where.append("shop IN (SELECT unnest(?::VARCHAR[]))")
        args.append(list(shops))
    if agents is not None:
        where.append("agent IN (SELECT unnest(?::VARCHAR[]))")
        args.append(list(agents))
    if status:
        where.append("status = ?")
        args.append(status)
    sql = (
        f"SELECT {', '.join(REPORT_COLUMNS)} FROM qc_peer_reports WHERE {' AND '.join(where)} "
        "ORDER BY status <> 'open', reported_at DESC, report_id"
    )
    return _records(con, sql, args)


#: The month's errors. A confirmed peer report is one error (reports of the same finding, or of the
#: same message, count once: the earliest stands). A finding confirmed in review is a supervisor's
#: error unless a confirmed peer report points at it or at its message.
ERRORS_SQL = """
WITH peer AS (
    SELECT shop, agent, day, ts, buyer, 'peer' AS source, report_id, finding_id, description, reported_at,
           coalesce(finding_id, CASE WHEN buyer IS NOT NULL AND ts IS NOT NULL
                                     THEN shop || '|' || agent || '|' || buyer || '|' || CAST(ts AS VARCHAR) END, report_id) AS error_key
    FROM {qc_peer_reports} WHERE status = 'confirmed' AND day >= $first AND day < $after {peer_shop}
), peer_errors AS (
    SELECT * EXCLUDE (error_key, reported_at) FROM peer
    QUALIFY row_number() OVER (PARTITION BY error_key ORDER BY reported_at, report_id) = 1
), reported AS (
    SELECT finding_id, shop, agent, buyer, ts FROM {qc_peer_reports} WHERE status = 'confirmed'
), supervisor_errors AS (
    SELECT f.shop, f.agent, f.day, f.ts, f.buyer, 'supervisor' AS source, NULL::VARCHAR AS report_id, f.finding_id,
           f.rule_name || ': ' || coalesce(f.match, '') AS description
    FROM {qc_findings} f JOIN {qc_reviews} r ON r.finding_id = f.finding_id
    WHERE r.status = 'confirmed' AND f.day >= $first AND f.day < $after {finding_shop}
      AND NOT EXISTS (SELECT 1 FROM reported p WHERE p.finding_id = f.finding_id
                      OR (p.finding_id IS NULL AND p.shop = f.shop AND p.agent = f.agent AND p.buyer = f.buyer AND p.ts = f.ts))
)
SELECT * FROM peer_errors UNION ALL SELECT * FROM supervisor_errors
ORDER BY shop, agent, day, ts NULLS LAST, source, report_id, finding_id
"""

#: Agents who worked in the month (sent an agent message), bots excluded (D6).
WORKERS_SQL = """
SELECT DISTINCT shop, agent FROM messages
WHERE sender = 'agent' AND ts >= $first AND ts < $after {shop}
  AND agent NOT IN (SELECT agent FROM agents WHERE role = 'bot' UNION SELECT agent FROM messages WHERE sender = 'bot')
"""


def month_errors(
    con_or_ws: Workspace | duckdb.DuckDBPyConnection,
    month: str,
    shop: str | None = None,
    *,
    settings: Mutual | None = None,
) -> list[dict]:
    """Every error of the month behind the ledger: shop, agent, day, ts, buyer, source ('peer' | 'supervisor'),
    report_id, finding_id, description, cost (yuan, what it costs before warning-only mode and the floor)."""
    con, settings = _con_and_settings(con_or_ws, settings)
    m = Month.parse(month)
    args = {"first": m.first, "after": m.after} | ({"shop": shop} if shop else {})
    sql = ERRORS_SQL.format(
        peer_shop="AND shop = $shop" if shop else "",
        finding_shop="AND f.shop = $shop" if shop else "",
        **_tables_or_empty(con),
    )
    errors = _records(con, sql, args)
    costs = {source: float(_cost(settings, source)) for source in ("peer", "supervisor")}
    for e in errors:
        e["cost"] = costs[e["source"]]
    return errors


#: The tables ERRORS_SQL reads, each stood in for by an empty table of its declared columns until it exists.
READ_TABLES = (QC_PEER_REPORTS, QC_FINDINGS, QC_REVIEWS)


def _tables_or_empty(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """The tables the month's errors read: each by name when it exists, else an empty table of its columns.

    Reading creates nothing, so the ledger can be read on a read-only workspace (`kefu pay` opens one) where
    nobody has run QC or filed a report yet: a missing table holds no errors. Writes create them (`ensure_table`).
    """
    present = {
        name
        for (name,) in con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database() AND schema_name = current_schema()"
            " AND list_contains(?, table_name)",
            [[t.name for t in READ_TABLES]],
        ).fetchall()
    }
    return {
        t.name: t.name
        if t.name in present
        else "(SELECT " + ", ".join(f'NULL::{SQL_TYPES[c.kind]} AS "{c.name}"' for c in t.columns) + " WHERE false)"
        for t in READ_TABLES
    }


def error_costs(settings: Mutual) -> dict[str, Decimal]:
    """What one error costs, by source ('peer', 'supervisor'), to the cent (pay shows them on the payslip)."""
    return {source: _cost(settings, source) for source in ("peer", "supervisor")}


def _cost(settings: Mutual, source: str) -> Decimal:
    """Yuan one error costs, to the cent (a multiplier like 1.5 can give a half cent: rounded half up)."""
    cost = _money(settings.error_cost) * (_money(settings.supervisor_multiplier) if source == "supervisor" else 1)
    return cost.quantize(CENT, ROUND_HALF_UP)


def _money(value: float) -> Decimal:
    return Decimal(str(value))


def month_ledger(
    con_or_ws: Workspace | duckdb.DuckDBPyConnection,
    month: str,
    shop: str | None = None,
    *,
    settings: Mutual | None = None,
) -> list[dict]:
    """The month's fund of every agent who worked in it or has an error in it, per shop and agent.

    Each row: month, shop, agent, fund_start, errors, peer_errors, supervisor_errors,
    costs (what the errors cost), deductions (costs, or 0 in a warning-only month),
    balance (fund_start − deductions, never below 0), warning_only.
    Pass a Workspace (or `settings`) so that kefu.toml's `[qc.mutual]` applies.
    """
    con, settings = _con_and_settings(con_or_ws, settings)
    errors = month_errors(con, month, shop, settings=settings)
    m = Month.parse(month)
    workers = _records(
        con,
        WORKERS_SQL.format(shop="AND shop = $shop" if shop else ""),
        {"first": m.first, "after": m.after} | ({"shop": shop} if shop else {}),
    )
    by_agent: dict[tuple, list[dict]] = {(w["shop"], w["agent"]): [] for w in workers}  # no error: a full fund
    for e in errors:
        by_agent.setdefault((e["shop"], e["agent"]), []).append(e)
    warning_only = str(m) in settings.warning_only_months
    fund = _money(settings.fund)
    rows = []
    for (shop_, agent), found in sorted(by_agent.items()):
        costs = sum((_money(e["cost"]) for e in found), Decimal(0))
        deductions = Decimal(0) if warning_only else costs
        rows.append(
            {
                "month": str(m),
                "shop": shop_,
                "agent": agent,
                "fund_start": float(fund),
                "errors": len(found),
                "peer_errors": sum(e["source"] == "peer" for e in found),
                "supervisor_errors": sum(e["source"] == "supervisor" for e in found),
                "costs": float(costs),
                "deductions": float(deductions),
                "balance": float(max(fund - deductions, Decimal(0))),
                "warning_only": warning_only,
            }
        )
    return rows


def public_list(
    con_or_ws: Workspace | duckdb.DuckDBPyConnection, month: str, shop: str, *, settings: Mutual | None = None
) -> list[dict]:
    """The month's errors of a shop for every agent to learn from: day, source, description, cost; who is hidden (匿名)."""
    errors = month_errors(con_or_ws, month, shop, settings=settings)
    return [
        {"day": e["day"], "source": e["source"], "description": e["description"], "cost": e["cost"]}
        for e in sorted(errors, key=lambda e: (e["day"], e["description"]))
    ]


# -- helpers -----------------------------------------------------------------------------------


def _con_and_settings(
    con_or_ws: Workspace | duckdb.DuckDBPyConnection, settings: Mutual | None
) -> tuple[duckdb.DuckDBPyConnection, Mutual]:
    """A Workspace brings its kefu.toml settings; a bare connection gets `settings` or the defaults."""
    if isinstance(con_or_ws, duckdb.DuckDBPyConnection):
        return con_or_ws, settings or Mutual()
    return con_or_ws.con, settings or con_or_ws.config.mutual


def _records(con, sql: str, args) -> list[dict]:
    cur = con.execute(sql, args)
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row)) for row in cur.fetchall()]
