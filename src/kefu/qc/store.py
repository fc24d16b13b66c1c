"""The workspace tables of quality inspection (质检): findings and their reviews.

`qc_findings` is rebuilt per period by `kefu qc run`; `qc_reviews` is only
written by people (kefu.qc.review) and keyed by the finding's deterministic
id, so re-running QC never loses a review. A finding without a review is open.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import duckdb

from kefu.schema import QC_FINDINGS, QC_TABLES
from kefu.workspace import ensure_tables as ensure_declared
from kefu.workspace import scalar, transaction

SEVERITIES = ("low", "medium", "high", "critical")
#: What the web and the CLI call each severity (zh, en): one table, so a 严重 finding is 严重 everywhere.
SEVERITY_NAMES = {
    "low": ("轻微", "Low"),
    "medium": ("一般", "Medium"),
    "high": ("严重", "High"),
    "critical": ("致命", "Critical"),
}
SCOPES = ("agent_text", "buyer_text", "timing")
STATUSES = ("open", "confirmed", "dismissed")

# The tables (qc_findings, qc_reviews, qc_runs: which days QC has checked, qc_dialogues: the QC score's
# denominator) are declared in kefu.schema.
#: Points at stake in one dialogue: QC score = 100 × (1 − points / (dialogues × STAKE)), docs/qc.md QC-D10.
STAKE = 5.0

FINDING_COLUMNS = QC_FINDINGS.column_names
#: What `tally` counts per agent-day, besides shop, agent and day.
TALLY = ("findings", "confirmed", "dismissed", "open", "points", "dialogues", "points_deducted")


def ensure_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Create the QC tables when missing, with the columns added since an earlier kefu made them (idempotent)."""
    ensure_declared(con, QC_TABLES)


def has_tables(con: duckdb.DuckDBPyConnection) -> bool:
    return _count_tables(con, ("qc_findings", "qc_reviews")) == 2


def _count_tables(con: duckdb.DuckDBPyConnection, names: tuple[str, ...]) -> int:
    return scalar(
        con, "SELECT count(*) FROM duckdb_tables() WHERE table_name IN (SELECT unnest(?::VARCHAR[]))", [list(names)]
    )


def replace_period(
    con: duckdb.DuckDBPyConnection,
    select_sql: str,
    date_from: dt.date | None,
    date_to: dt.date | None,
    run_at: dt.datetime,
    dialogues_sql: str | None = None,
) -> tuple[int, int]:
    """Replace the findings of [date_from, date_to] (None = open end) by the rows of `select_sql`.

    `select_sql` yields the contract's columns except finding_id and run_at, plus `finding_key`
    (rule|shop|agent|buyer|ts|match_start, made unique by the engine); the id is its sha1.
    `dialogues_sql` (shop, agent, day, dialogues) replaces the period's inspected dialogues.
    Returns (removed, added). One transaction: a failed run leaves the old findings in place.
    """
    ensure_tables(con)
    where, args = period_clause("day", date_from, date_to)
    with transaction(con):
        removed = scalar(con, f"SELECT count(*) FROM qc_findings WHERE {where}", args)
        con.execute(f"DELETE FROM qc_findings WHERE {where}", args)
        columns = ", ".join(FINDING_COLUMNS)
        values = ", ".join(
            "sha1(finding_key)" if c == "finding_id" else "?::TIMESTAMP" if c == "run_at" else c
            for c in FINDING_COLUMNS
        )
        before = scalar(con, "SELECT count(*) FROM qc_findings")
        con.execute(f"INSERT INTO qc_findings ({columns}) SELECT {values} FROM ({select_sql})", [run_at])
        added = scalar(con, "SELECT count(*) FROM qc_findings") - before
        con.execute("INSERT INTO qc_runs VALUES (?, ?, ?, ?)", [run_at, date_from, date_to, added])
        if dialogues_sql is not None:
            con.execute(f"DELETE FROM qc_dialogues WHERE {where}", args)
            con.execute(f"INSERT INTO qc_dialogues SELECT shop, agent, day, dialogues FROM ({dialogues_sql})")
    return removed, added


def tally(con: duckdb.DuckDBPyConnection, where: str, args: list) -> list[dict[str, Any]]:
    """Per (shop, agent, day) of the findings matching `where` (over `f`, the findings): their count,
    how many are confirmed, dismissed and open; `points`, those of every finding not dismissed, each
    rule's at most its max_points_per_day (as it was when QC ran); `dialogues`, the dialogues the run
    inspected (findings without a stored count, from before it or written by hand: their own
    dialogues); and `points_deducted`, what the QC score loses (`deducted`)."""
    capped = scalar(
        con,
        "SELECT count(*) FROM duckdb_columns() WHERE table_name = 'qc_findings' AND column_name = 'max_points_per_day'",
    )
    cap = "min(f.max_points_per_day)" if capped else "NULL"  # findings of a run before caps existed: no cap
    counted = "d.dialogues" if _count_tables(con, ("qc_dialogues",)) else "NULL"
    join = "LEFT JOIN qc_dialogues d USING (shop, agent, day)" if counted != "NULL" else ""
    cur = con.execute(
        f"""SELECT shop, agent, day, sum(n)::BIGINT AS findings, sum(confirmed)::BIGINT AS confirmed,
                   sum(dismissed)::BIGINT AS dismissed, sum(still_open)::BIGINT AS open, sum(points)::DOUBLE AS points,
                   coalesce(max({counted}), len(list_distinct(flatten(list(buyers)))))::BIGINT AS dialogues
            FROM (SELECT f.shop, f.agent, f.day, f.rule, count(*) AS n,
                         count(*) FILTER (WHERE r.status = 'confirmed') AS confirmed,
                         count(*) FILTER (WHERE r.status = 'dismissed') AS dismissed,
                         count(*) FILTER (WHERE r.status IS NULL) AS still_open,
                         least(coalesce(sum(f.points) FILTER (WHERE r.status IS DISTINCT FROM 'dismissed'), 0),
                               coalesce({cap}, 'infinity'::DOUBLE)) AS points,
                         list(DISTINCT f.buyer) AS buyers
                  FROM qc_findings f LEFT JOIN qc_reviews r USING (finding_id)
                  WHERE {where} GROUP BY ALL) {join}
            GROUP BY ALL ORDER BY shop, agent, day""",
        args,
    )
    names = [d[0] for d in cur.description]
    rows = [dict(zip(names, row)) for row in cur.fetchall()]
    return [r | {"points_deducted": deducted(r["points"], r["dialogues"])} for r in rows]


def deducted(points: float, dialogues: int) -> float:
    """What the QC score loses: 100 × points / (dialogues × STAKE), at most 100, to 0.1 (docs/qc.md QC-D10)."""
    if not points:
        return 0.0
    return round(min(100.0, 100.0 * points / (max(dialogues, 1) * STAKE)), 1)


def covered(con: duckdb.DuckDBPyConnection, day: dt.date) -> bool:
    """Whether a QC run has checked this day."""
    if _count_tables(con, ("qc_runs",)) == 0:
        return False
    return (
        scalar(
            con,
            """SELECT count(*) FROM qc_runs WHERE coalesce(date_from <= ?, TRUE) AND coalesce(date_to >= ?, TRUE)""",
            [day, day],
        )
        > 0
    )


def read_findings(
    con: duckdb.DuckDBPyConnection,
    *,
    agent: str | None = None,
    day: dt.date | None = None,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    status: str | None = None,
    rule: str | None = None,
    shop: str | None = None,
) -> list[dict[str, Any]]:
    """Findings with their review (status 'open' when none), ordered by day, agent, time, rule."""
    if not has_tables(con):
        return []
    if status is not None and status not in STATUSES:
        raise ValueError(f"status must be one of {', '.join(STATUSES)}, got {status!r}")
    clauses, args = [], []
    for column, value in (("f.agent", agent), ("f.day", day), ("f.rule", rule), ("f.shop", shop)):
        if value is not None:
            clauses.append(f"{column} = ?")
            args.append(value)
    period, period_args = period_clause("f.day", date_from, date_to)
    clauses.append(period)
    args += period_args
    if status is not None:
        clauses.append("coalesce(r.status, 'open') = ?")
        args.append(status)
    cur = con.execute(
        f"""SELECT f.*, coalesce(r.status, 'open') AS status, r.reviewer, r.comment, r.reviewed_at
            FROM qc_findings f LEFT JOIN qc_reviews r USING (finding_id)
            WHERE {" AND ".join(clauses)}
            ORDER BY f.day, f.shop, f.agent, f.ts, f.match_start, f.rule, f.text, f.finding_id""",
        args,
    )
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row)) for row in cur.fetchall()]


def period_clause(column: str, date_from: dt.date | None, date_to: dt.date | None) -> tuple[str, list]:
    clauses, args = ["TRUE"], []
    if date_from is not None:
        clauses.append(f"{column} >= ?")
        args.append(date_from)
    if date_to is not None:
        clauses.append(f"{column} <= ?")
        args.append(date_to)
    return " AND ".join(clauses), args
