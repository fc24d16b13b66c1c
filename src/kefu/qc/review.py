"""Manual review (人工复核) of QC findings: confirm, dismiss, comment; the review queue; agents' feedback.

A finding without a `qc_reviews` row is open. Reviews are keyed by the
finding's deterministic id, so a re-run of `kefu qc run` keeps them attached.
Confirmed findings are the agent's feedback (their own page) and what pay
schemes deduct for (`kefu.qc.confirmed_errors`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import duckdb

from kefu.errors import KefuError
from kefu.qc.store import FINDING_COLUMNS
from kefu.workspace import transaction

STATUSES = ("confirmed", "dismissed")
QUEUE_STATUSES = ("open", "confirmed", "dismissed")
SEVERITY_ORDER = ("critical", "high", "medium", "low")  # the queue shows the worst first
#: What a reviewer's queue shows unless told otherwise: what nobody has decided yet, high severity or worse.
#: Low and medium findings still count (scores, counts); they are only not queued by default.
DEFAULT_QUEUE = {"status": "open", "min_severity": "high"}
#: The most findings one bulk review may decide (a month of a large shop's high findings fits).
MAX_BULK = 20000

#: A finding as the review queue shows it: its stored columns without the run's book-keeping.
COLUMNS = tuple(c for c in FINDING_COLUMNS if c not in ("run_at", "max_points_per_day"))


class ReviewError(KefuError):
    """A review cannot be recorded as asked; the message says why."""


def ensure_tables(con: duckdb.DuckDBPyConnection) -> None:
    from kefu.qc.store import ensure_tables as ensure_qc_tables

    ensure_qc_tables(con)


def set_status(con: duckdb.DuckDBPyConnection, finding_id: str, status: str, reviewer: str, comment: str = "") -> dict:
    """Confirm or dismiss a finding (replacing an earlier review); returns the finding with its review."""
    ensure_tables(con)
    if status not in STATUSES:
        raise ReviewError(f"a review is one of {', '.join(STATUSES)}, got {status!r}")
    if not reviewer:
        raise ReviewError("a review needs the reviewer's name")
    _require_finding(con, finding_id)
    with transaction(con):
        con.execute("DELETE FROM qc_reviews WHERE finding_id = ?", [finding_id])
        con.execute(
            "INSERT INTO qc_reviews (finding_id, status, reviewer, comment, reviewed_at) VALUES (?, ?, ?, ?, ?)",
            [finding_id, status, reviewer, comment or "", dt.datetime.now()],
        )
    reviewed = get_finding(con, finding_id)
    assert reviewed is not None  # _require_finding checked it exists
    return reviewed


def set_comment(con: duckdb.DuckDBPyConnection, finding_id: str, reviewer: str, comment: str) -> dict:
    """Change the comment of a reviewed finding (an open finding is commented on when it is decided)."""
    found = get_finding(con, finding_id)
    if found is None:
        raise ReviewError(f"no QC finding {finding_id!r}")
    if found["status"] == "open":
        raise ReviewError(
            "confirm or dismiss the finding with the comment; an open finding has no review to comment on"
        )
    return set_status(con, finding_id, found["status"], reviewer, comment)


def set_many(
    con: duckdb.DuckDBPyConnection, finding_ids: Iterable[str], status: str, reviewer: str, comment: str = ""
) -> int:
    """Confirm, dismiss or reopen (status 'open') many findings in one transaction; returns how many.

    Every id must be a stored finding, or nothing is recorded. Each review replaces the finding's
    earlier one, exactly as `set_status` / `clear_status` would."""
    ids = sorted(set(finding_ids))
    if status not in (*STATUSES, "open"):
        raise ReviewError(f"a review is one of {', '.join((*STATUSES, 'open'))}, got {status!r}")
    if status != "open" and not reviewer:
        raise ReviewError("a review needs the reviewer's name")
    if not ids:
        raise ReviewError("choose at least one finding")
    if len(ids) > MAX_BULK:
        raise ReviewError(f"at most {MAX_BULK} findings at once, got {len(ids)}: narrow the filter")
    ensure_tables(con)
    known = {
        r[0]
        for r in con.execute(
            "SELECT DISTINCT finding_id FROM qc_findings WHERE finding_id IN (SELECT unnest(?::VARCHAR[]))", [ids]
        ).fetchall()
    }
    if missing := [i for i in ids if i not in known]:
        raise ReviewError(
            f"no QC finding {missing[0]!r}" + (f" (and {len(missing) - 1} more)" if len(missing) > 1 else "")
        )
    with transaction(con):
        con.execute("DELETE FROM qc_reviews WHERE finding_id IN (SELECT unnest(?::VARCHAR[]))", [ids])
        if status != "open":
            con.execute(
                """INSERT INTO qc_reviews (finding_id, status, reviewer, comment, reviewed_at)
                           SELECT unnest(?::VARCHAR[]), ?, ?, ?, ?""",
                [ids, status, reviewer, comment or "", dt.datetime.now()],
            )
    return len(ids)


def matching_ids(con: duckdb.DuckDBPyConnection, **filters) -> list[str]:
    """The ids of every finding the queue's filters match (all pages), in queue order."""
    return [f["finding_id"] for f in queue(con, **filters, limit=None)]


def clear_status(con: duckdb.DuckDBPyConnection, finding_id: str) -> None:
    """Undo a review: the finding is open again."""
    ensure_tables(con)
    con.execute("DELETE FROM qc_reviews WHERE finding_id = ?", [finding_id])


def get_finding(con: duckdb.DuckDBPyConnection, finding_id: str) -> dict | None:
    found = queue(con, finding_ids=[finding_id], limit=1)
    return found[0] if found else None


def queue(
    con: duckdb.DuckDBPyConnection,
    *,
    agents: Iterable[str] | None = None,
    agent: str | None = None,
    day: dt.date | None = None,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    rule: str | None = None,
    severity: str | None = None,
    status: str | None = None,
    finding_ids: Iterable[str] | None = None,
    dialogues: Iterable[tuple[str, str, dt.date]] | None = None,
    min_severity: str | None = None,
    limit: int | None = 200,
    offset: int = 0,
) -> list[dict]:
    """Findings with their review, open ones first, then the most severe, then in time order.

    `agents` limits them to the accounts a user may see; `dialogues` to findings in those
    (agent, buyer, day) dialogues (a sample); `min_severity` to that severity or worse;
    the other arguments are the page's filters.
    """
    where, args = _filters(
        agents=agents,
        agent=agent,
        day=day,
        date_from=date_from,
        date_to=date_to,
        rule=rule,
        severity=severity,
        status=status,
        finding_ids=finding_ids,
        dialogues=dialogues,
        min_severity=min_severity,
    )
    sql = f"""SELECT {", ".join("f." + c for c in COLUMNS)}, coalesce(r.status, 'open') AS status,
                     r.reviewer, r.comment, r.reviewed_at
              FROM qc_findings f LEFT JOIN qc_reviews r ON r.finding_id = f.finding_id
              WHERE {where}
              ORDER BY r.status IS NOT NULL, {_severity_rank("f.severity")}, f.ts, f.finding_id"""
    if limit is not None:
        sql += f" LIMIT {int(limit)} OFFSET {int(offset)}"
    ensure_tables(con)
    return _records(con.execute(sql, args))


def counts(con: duckdb.DuckDBPyConnection, **filters) -> dict[str, int]:
    """How many findings match the filters (status ignored), per status: open, confirmed, dismissed."""
    filters.pop("status", None)
    where, args = _filters(**filters)
    ensure_tables(con)
    rows = con.execute(
        f"""SELECT coalesce(r.status, 'open'), count(*) FROM qc_findings f
                           LEFT JOIN qc_reviews r ON r.finding_id = f.finding_id WHERE {where} GROUP BY 1""",
        args,
    ).fetchall()
    found = dict(rows)
    return {s: found.get(s, 0) for s in QUEUE_STATUSES}


def rules_found(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str]]:
    """(rule, rule name) of every rule with stored findings, by id: the queue's rule filter."""
    ensure_tables(con)
    return [
        tuple(r)
        for r in con.execute("SELECT rule, min(rule_name) FROM qc_findings GROUP BY rule ORDER BY rule").fetchall()
    ]


def feedback(
    con: duckdb.DuckDBPyConnection,
    agent: str,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    limit: int | None = 200,
) -> list[dict]:
    """An agent's confirmed findings (质检反馈), newest first: what the agent is shown to learn from."""
    found = queue(con, agent=agent, date_from=date_from, date_to=date_to, status="confirmed", limit=None)
    found.sort(key=lambda f: (f["ts"], f["finding_id"]), reverse=True)
    return found[:limit] if limit is not None else found


# -- helpers -----------------------------------------------------------------------------------


def _filters(
    *,
    agents=None,
    agent=None,
    day=None,
    date_from=None,
    date_to=None,
    rule=None,
    severity=None,
    status=None,
    finding_ids=None,
    dialogues=None,
    min_severity=None,
) -> tuple[str, list]:
    where, args = ["true"], []
    if status is not None and status not in QUEUE_STATUSES:
        raise ReviewError(f"status is one of {', '.join(QUEUE_STATUSES)}, got {status!r}")
    if min_severity is not None:
        if min_severity not in SEVERITY_ORDER:
            raise ReviewError(f"min_severity is one of {', '.join(SEVERITY_ORDER)}, got {min_severity!r}")
        where.append("f.severity IN (SELECT unnest(?::VARCHAR[]))")
        args.append(list(SEVERITY_ORDER[: SEVERITY_ORDER.index(min_severity) + 1]))
    for column, value in (("f.agent", agent), ("f.day", day), ("f.rule", rule), ("f.severity", severity)):
        if value is not None:
            where.append(f"{column} = ?")
            args.append(value)
    if date_from is not None:
        where.append("f.day >= ?")
        args.append(date_from)
    if date_to is not None:
        where.append("f.day <= ?")
        args.append(date_to)
    if status is not None:
        where.append("coalesce(r.status, 'open') = ?")
        args.append(status)
    for column, values in (("f.agent", agents), ("f.finding_id", finding_ids)):
        if values is not None:
            where.append(f"{column} IN (SELECT unnest(?::VARCHAR[]))")
            args.append(sorted(values))
    if dialogues is not None:
        where.append("f.agent || '|' || f.buyer || '|' || CAST(f.day AS VARCHAR) IN (SELECT unnest(?::VARCHAR[]))")
        args.append(sorted(f"{a}|{b}|{d}" for a, b, d in dialogues))
    return " AND ".join(where), args


def _severity_rank(column: str) -> str:
    cases = " ".join(f"WHEN '{s}' THEN {i}" for i, s in enumerate(SEVERITY_ORDER))
    return f"CASE {column} {cases} ELSE {len(SEVERITY_ORDER)} END"


def _require_finding(con, finding_id: str) -> None:
    if not con.execute("SELECT count(*) FROM qc_findings WHERE finding_id = ?", [finding_id]).fetchone()[0]:
        raise ReviewError(f"no QC finding {finding_id!r}")


def _records(cur) -> list[dict]:
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row)) for row in cur.fetchall()]
