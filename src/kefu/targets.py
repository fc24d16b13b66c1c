"""Monthly targets (月度目标) per shop, team or agent, imported from CSV/XLSX or edited in the web UI.

A target is (month 'YYYY-MM', shop, scope, subject, metric, value): scope is
`shop` (subject = the shop), `team` (subject = team name) or `agent`
(subject = the account `shop:name` or just the name). Metrics are keys of
kefu.metrics.registry; ratios are fractions (0.65) or percentages ("65%").
Given the workspace's roster, subjects are checked too: the shop's own name,
a team of that shop, an account of that shop. Stored in the workspace table
`web_targets`, created on demand.

A team's month to date is the engine's team grouping (`kpis(["team"],
first of month, day)`): the sum of its agents' consultations, orders … with
every ratio recomputed from those sums (decision D7), never an average of
the agents' ratios; an agent belongs to the team the `agents` table names now.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa

from kefu.errors import KefuError
from kefu.metrics.registry import BY_KEY
from kefu.month import is_month
from kefu.schema import WEB_TARGETS
from kefu.workspace import ensure_tables, scalar

SCOPES = ("shop", "team", "agent")
COLUMNS = WEB_TARGETS.column_names


@dataclass(frozen=True)
class Target:
    month: str
    shop: str
    scope: str
    subject: str
    metric: str
    value: float


class TargetError(KefuError):
    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("; ".join(problems))


def ensure_table(con: duckdb.DuckDBPyConnection) -> None:
    """Create web_targets (declared in kefu.schema) when missing."""
    ensure_tables(con, (WEB_TARGETS,))


def parse_row(
    row: dict[str, str], where: str, roster: Mapping[str, Mapping] | None = None
) -> tuple[Target | None, list[str]]:
    """One target from a row of text, or the problems with it (each naming `where`)."""
    problems = []
    get = {k.strip().lower(): (v or "").strip() for k, v in row.items() if k}
    missing = [c for c in COLUMNS if not get.get(c)]
    if missing:
        return None, [f"{where}: missing {', '.join(missing)}"]
    month, shop, scope, subject, metric, raw = (get[c] for c in COLUMNS)
    if not is_month(month):
        problems.append(f"{where}: month {month!r} is not YYYY-MM")
    if scope not in SCOPES:
        problems.append(f"{where}: scope {scope!r} is not one of {', '.join(SCOPES)}")
    m = BY_KEY.get(metric)
    if m is None:
        problems.append(f"{where}: unknown metric {metric!r}")
    value = None
    try:
        value = float(raw[:-1]) / 100 if raw.endswith("%") else float(raw.replace(",", ""))
    except ValueError:
        problems.append(f"{where}: value {raw!r} is not a number")
    if value is not None and m is not None:
        if value < 0:
            problems.append(f"{where}: value {raw!r} is negative")
        if m.unit == "ratio" and value > 1:
            problems.append(f"{where}: {metric} is a rate; {raw!r} is above 100%")
    if scope == "agent" and ":" not in subject:
        subject = f"{shop}:{subject}"
    if roster is not None and scope in SCOPES:
        problems += subject_problems(shop, scope, subject, roster, where)
    if problems or value is None:  # no value without a problem saying why
        return None, problems
    return Target(month, shop, scope, subject, metric, value), []


def subject_problems(shop: str, scope: str, subject: str, roster: Mapping[str, Mapping], where: str) -> list[str]:
    """Whether the shop, team or account a target is for exists (roster: account -> shop, team)."""
    shops = {r["shop"] for r in roster.values()}
    if shop not in shops:
        return [f"{where}: no shop {shop!r} in this workspace (shops: {', '.join(sorted(shops)) or 'none yet'})"]
    if scope == "shop" and subject != shop:
        return [f"{where}: a shop target's subject is the shop itself ({shop!r}), not {subject!r}"]
    if scope == "team":
        teams = sorted({r["team"] for r in roster.values() if r["shop"] == shop and r.get("team")})
        if subject not in teams:
            return [f"{where}: no team {subject!r} in {shop} (teams: {', '.join(teams) or 'none: fill agents.team'})"]
    if scope == "agent" and roster.get(subject, {}).get("shop") != shop:
        return [f"{where}: no agent account {subject!r} in {shop}"]
    return []


def read_rows(path: Path) -> list[dict[str, str]]:
    """Rows of a CSV (UTF-8, BOM tolerated) or XLSX (first sheet) with a header row."""
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        from openpyxl import load_workbook

        sheet = load_workbook(path, read_only=True, data_only=True).worksheets[0]
        rows = [["" if c is None else str(c) for c in r] for r in sheet.iter_rows(values_only=True)]
        header, body = rows[0], rows[1:]
        return [dict(zip(header, r)) for r in body if any(x.strip() for x in r)]
    text = path.read_bytes().decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text)))


def parse_rows(rows: list[dict[str, str]], source: str, roster: Mapping[str, Mapping] | None = None) -> list[Target]:
    """Every target, or TargetError listing every problem (line numbers count the header as line 1).

    With `roster` (account -> shop, team), shops, teams and accounts must exist.
    Two rows for the same month, shop, scope, subject and metric are a problem too.
    """
    targets: list[Target] = []
    problems: list[str] = []
    seen: dict[tuple[str, ...], int] = {}  # key -> first line
    for i, row in enumerate(rows, start=2):
        target, found = parse_row(row, f"{source} line {i}", roster)
        problems += found
        if target:
            key = (target.month, target.shop, target.scope, target.subject, target.metric)
            if key in seen:
                problems.append(
                    f"{source} line {i}: the same target as line {seen[key]} ({target.subject} {target.metric} {target.month})"
                )
            seen.setdefault(key, i)
            targets.append(target)
    if problems:
        raise TargetError(problems)
    return targets


def import_file(con: duckdb.DuckDBPyConnection, path: Path, roster: Mapping[str, Mapping] | None = None) -> int:
    """Validate every row first, then store all of them (nothing is stored when one is wrong)."""
    targets = parse_rows(read_rows(Path(path)), Path(path).name, roster)
    save(con, targets)
    return len(targets)


def save(con: duckdb.DuckDBPyConnection, targets: list[Target]) -> None:
    """Create or replace targets, all in one statement (so all or none are stored)."""
    ensure_table(con)
    if not targets:
        return
    rows = pa.table({c: [getattr(t, c) for t in targets] for c in COLUMNS})
    cur = con.cursor()
    try:
        cur.register("_kefu_targets", rows)
        cur.execute(f"INSERT OR REPLACE INTO web_targets SELECT {', '.join(COLUMNS)} FROM _kefu_targets")
    finally:
        cur.close()


def delete(con: duckdb.DuckDBPyConnection, *, month: str, shop: str, scope: str, subject: str, metric: str) -> None:
    ensure_table(con)
    con.execute(
        "DELETE FROM web_targets WHERE month=? AND shop=? AND scope=? AND subject=? AND metric=?",
        [month, shop, scope, subject, metric],
    )


def load(con: duckdb.DuckDBPyConnection, month: str | None = None, shops: list[str] | None = None) -> list[Target]:
    """Stored targets (none when the table was never made: works on read-only connections)."""
    exists = scalar(
        con,
        "SELECT count(*) FROM duckdb_tables() WHERE database_name = current_database() AND table_name = 'web_targets'",
    )
    if not exists:
        return []
    rows = con.execute(
        f"SELECT {', '.join(COLUMNS)} FROM web_targets ORDER BY month, shop, scope, subject, metric"
    ).fetchall()
    found = [Target(*r) for r in rows]
    return [t for t in found if (month is None or t.month == month) and (shops is None or t.shop in shops)]


def completion(actual: float | None, target: float, higher_is_better: bool | None) -> float | None:
    """完成率 in the metric's direction; None when it has no meaning (no actual, a zero divisor)."""
    if actual is None:
        return None
    if higher_is_better is False:
        return None if actual == 0 else target / actual
    return None if target == 0 else actual / target


def progress(actual: float | None, target: float, metric: str, *, elapsed_share: float = 1.0) -> dict:
    """How a month-to-date figure stands against a monthly target.

    Counts and money accumulate, so they are compared with the target pro rata
    to the share of the month elapsed; rates are compared as they are.
    Completion follows the metric's direction: actual / target when higher is
    better, target / actual when lower is better (平响 target 15 s, actual
    66.3 s → 23 %, never 442 %); an actual of 0 on a lower-is-better metric
    has no ratio (None) and is on track.
    """
    m = BY_KEY[metric]
    additive = m.unit != "ratio" and m.unit != "s" and metric not in ("avg_order_value",)
    expected = target * elapsed_share if additive else target
    done = completion(actual, target, m.higher_is_better)
    gap = None if actual is None else actual - target
    if actual is None:
        on_track = None
    elif m.higher_is_better is False:
        on_track = actual <= expected
    else:
        on_track = actual >= expected
    return {
        "metric": metric,
        "target": target,
        "actual": actual,
        "completion": done,
        "gap": gap,
        "expected_to_date": expected,
        "on_track": on_track,
        "additive": additive,
    }
