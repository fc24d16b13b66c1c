"""Quality inspection (质检) of every chat: findings per rule, stored per period; QC scores per agent and day.

`findings_table` is the engine (backend-neutral Ibis over kefu.metrics.kpis.Sources);
`run` stores its rows in the workspace (kefu.qc.store), `findings` and
`agent_day_scores` read them back with their reviews.

QC score (docs/qc.md QC-D10), per dialogue inspected: 100 × (1 − points of the
findings not dismissed / (dialogues × store.STAKE)), at least 0, for an agent-day
(`agent_day_scores`) or an agent's period (`agent_scores`). Every human agent-day
with messages has a score; one without findings scores 100. Buyer-text rules
(anger, complaint intent) deduct 0 points by default: they are signals.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from typing import Any

import ibis
import ibis.expr.types as ir
from ibis import _

from kefu.config import Params
from kefu.derive import workspace_sources
from kefu.metrics.kpis import Sources
from kefu.qc import score, store
from kefu.qc.dialogues import missing_phrase_findings
from kefu.qc.match import phrase_findings
from kefu.qc.rules import Rule, RuleSet, load_rules
from kefu.qc.timing import timing_findings
from kefu.workspace import Workspace

FINDING_FIELDS = ("shop", "agent", "buyer", "ts", "text", "rule", "match", "match_start", "occurrences", "evidence")
#: Text and dialogue findings stand for one message: one occurrence, no further evidence.
ONE_MESSAGE = {"occurrences": ibis.literal(1, "int32"), "evidence": ibis.literal("")}


@dataclass(frozen=True)
class RunSummary:
    date_from: dt.date | None
    date_to: dt.date | None
    messages: int  # messages of the period that were read
    findings: int  # findings stored for the period
    replaced: int  # findings of the period removed first (reviews stay)
    by_rule: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0


def _in_period(table: ir.Table, column: str, date_from: dt.date | None, date_to: dt.date | None) -> ir.Table:
    """Rows whose `column` (timestamp) falls on a day of the period, as a range so indexes and zone maps help."""
    if date_from is not None:
        table = table.filter(table[column] >= ibis.timestamp(dt.datetime.combine(date_from, dt.time())))
    if date_to is not None:
        table = table.filter(
            table[column] < ibis.timestamp(dt.datetime.combine(date_to + dt.timedelta(days=1), dt.time()))
        )
    return table


@contextmanager
def inspect(
    src: Sources,
    rules: RuleSet | Sequence[Rule],
    params: Params,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
) -> Iterator[ir.Table | None]:
    """`findings_table` as a context: the backend tables it keeps on the way are dropped on exit."""
    with ExitStack() as scratch:
        yield findings_table(src, rules, params, date_from, date_to, scratch)


def findings_table(
    src: Sources,
    rules: RuleSet | Sequence[Rule],
    params: Params,
    date_from: dt.date | None,
    date_to: dt.date | None,
    scratch: ExitStack,
) -> ir.Table | None:
    """Every finding of the period: the contract's columns except finding_id and run_at, plus `finding_key`.

    Text findings belong to their message's day, dialogue findings to the dialogue's day,
    timing findings to the question's day (its opening, spec §2). None when nothing was found.
    Phrase rules are read step by step (kefu.qc.match): their intermediate tables live until
    `scratch` closes, so use the result inside it (or use `inspect`).
    """
    enabled = list({r.id: r for r in (rules.enabled if isinstance(rules, RuleSet) else rules) if r.enabled}.values())
    messages = _in_period(src.messages, "ts", date_from, date_to)
    humans = messages.anti_join(src.bots, "agent")
    agent_text = humans.filter(_.sender == "agent")
    buyer_text = messages.filter(_.sender == "buyer")
    phrases = phrase_findings(
        [
            (agent_text, [r for r in enabled if r.scope == "agent_text"]),
            (buyer_text, [r for r in enabled if r.scope == "buyer_text"]),
        ],
        src.orders,
        scratch,
    )
    parts = [number_repeats(phrases).mutate(**ONE_MESSAGE)] if phrases is not None else []
    dialogue = missing_phrase_findings(agent_text, enabled)
    if dialogue is not None:
        parts.append(dialogue.mutate(nth=ibis.literal(0, "int64"), **ONE_MESSAGE))
    if any(r.is_timing for r in enabled):
        asked = src.derived_questions().anti_join(src.bots, "agent")
        if date_from is not None:
            asked = asked.filter(_.day >= date_from)
        if date_to is not None:
            asked = asked.filter(_.day <= date_to)
        timing = timing_findings(asked, buyer_text.anti_join(src.bots, "agent"), enabled, params, scratch)
        if timing is not None:
            parts.append(timing.mutate(nth=ibis.literal(0, "int64")))
    if not parts:
        return None
    return describe(ibis.union(*(p.select(*FINDING_FIELDS, "nth") for p in parts)), enabled)


def number_repeats(found: ir.Table) -> ir.Table:
    """Add `nth`: 0, or 1, 2 … for further phrase findings of the same rule, shop, agent, buyer, second and
    position (two messages in one second), in the order of their text, so that every finding key is unique.

    Dialogue and timing findings are unique by construction (one per dialogue, one per question).
    """
    same = ibis.window(group_by=["rule", "shop", "agent", "buyer", "ts", "match_start"], order_by=["text", "match"])
    return found.mutate(nth=ibis.row_number().over(same))


def describe(found: ir.Table, rules: Sequence[Rule]) -> ir.Table:
    """Add the rule's name, severity, points and scope, the day, and the deterministic `finding_key`
    rule|shop|agent|buyer|ts|match_start (with '|n' appended for the n-th repeat, see number_repeats)."""

    def per_rule(attribute: str, dtype: str) -> ir.Value:
        return ibis.cases(
            *((found.rule == r.id, ibis.literal(getattr(r, attribute), dtype)) for r in rules), else_=ibis.null(dtype)
        )

    key = ibis.literal("|").join(
        [
            found.rule,
            found.shop,
            found.agent,
            found.buyer,
            found.ts.cast("string"),  # YYYY-MM-DD HH:MM:SS (timestamps have whole seconds)
            found.match_start.cast("string"),
        ]
    )
    return found.select(
        finding_key=ibis.ifelse(found.nth == 0, key, key.concat("|", (found.nth + 1).cast("string"))),
        shop=found.shop,
        agent=found.agent,
        buyer=found.buyer,
        ts=found.ts,
        day=found.ts.date(),
        rule=found.rule,
        rule_name=per_rule("name", "string"),
        severity=per_rule("severity", "string"),
        points=per_rule("points", "float64"),
        max_points_per_day=per_rule("max_points_per_day", "float64"),
        scope=per_rule("scope", "string"),
        text=found.text,
        match=found.match,
        match_start=found.match_start,
        occurrences=found.occurrences,
        evidence=found.evidence,
    )


def run(
    ws: Workspace,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    rules: RuleSet | None = None,
    src: Sources | None = None,
) -> RunSummary:
    """Inspect the period's chats and replace its stored findings (reviews are kept, attached by finding id).
    `src`: the chats on another engine (kefu.engines.select), default the workspace's own."""
    started = time.perf_counter()
    rules = rules or load_rules(ws)
    src = src or workspace_sources(ws)
    store.ensure_tables(ws.con)
    run_at = dt.datetime.now().replace(microsecond=0)
    with inspect(src, rules, ws.config.params, date_from, date_to) as expr:
        select = (
            _select_sql(ws, expr, "qc_run_findings") if expr is not None else f"SELECT * FROM ({_EMPTY}) WHERE FALSE"
        )
        inspected = _select_sql(ws, inspected_dialogues(src, date_from, date_to), "qc_run_dialogues")
        removed, added = store.replace_period(ws.con, select, date_from, date_to, run_at, inspected)
    where, args = store.period_clause("day", date_from, date_to)
    by_rule = dict(
        ws.con.execute(
            f"SELECT rule, count(*) FROM qc_findings WHERE {where} GROUP BY rule ORDER BY rule", args
        ).fetchall()
    )
    read = _in_period(src.messages, "ts", date_from, date_to).count().execute()
    return RunSummary(date_from, date_to, int(read), added, removed, by_rule, round(time.perf_counter() - started, 2))


def _select_sql(ws: Workspace, expr: ir.Table, name: str) -> str:
    """A SELECT of `expr`'s rows on the workspace's connection: on DuckDB its SQL, straight from the engine's query
    into the table (no intermediate copy of 1.5 M rows); another engine's rows are collected and registered first."""
    if expr.get_backend().name == "duckdb":
        return ibis.to_sql(expr, dialect="duckdb")
    ws.con.register(name, expr.to_pyarrow())
    return f'SELECT * FROM "{name}"'


_EMPTY = (
    "SELECT ''::VARCHAR AS finding_key, ''::VARCHAR AS shop, ''::VARCHAR AS agent, ''::VARCHAR AS buyer, "
    "NULL::TIMESTAMP AS ts, NULL::DATE AS day, ''::VARCHAR AS rule, ''::VARCHAR AS rule_name, "
    "''::VARCHAR AS severity, 0::DOUBLE AS points, NULL::DOUBLE AS max_points_per_day, ''::VARCHAR AS scope, ''::VARCHAR AS text, "
    "''::VARCHAR AS match, 0::INTEGER AS match_start, 1::INTEGER AS occurrences, ''::VARCHAR AS evidence"
)


def inspected_dialogues(src: Sources, date_from: dt.date | None, date_to: dt.date | None) -> ir.Table:
    """Per human agent and day of the period: shop, agent, day, dialogues — the buyers the agent had
    a buyer or agent message with that day (a dialogue is agent × buyer × day), the QC score's denominator."""
    said = _in_period(src.messages, "ts", date_from, date_to).filter(_.sender.isin(("buyer", "agent")))
    return (
        said.anti_join(src.bots, "agent")
        .group_by(["shop", "agent", _.ts.date().name("day")])
        .aggregate(dialogues=_.buyer.nunique())
    )


def findings(
    con_or_ws: Any,
    *,
    agent: str | None = None,
    day: dt.date | None = None,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    status: str | None = None,
    rule: str | None = None,
    shop: str | None = None,
) -> list[dict[str, Any]]:
    """Stored findings with the contract's columns plus status ('open' without a review), reviewer, comment, reviewed_at."""
    con = getattr(con_or_ws, "con", con_or_ws)
    return store.read_findings(
        con, agent=agent, day=day, date_from=date_from, date_to=date_to, status=status, rule=rule, shop=shop
    )


def agent_day_scores(ws: Any, date_from: dt.date | None = None, date_to: dt.date | None = None) -> list[dict[str, Any]]:
    """Per human agent and day with messages: shop, agent, day, dialogues (inspected), findings, confirmed,
    dismissed, open, points (of findings not dismissed, each rule capped per day), points_deducted
    (100 × points / (dialogues × store.STAKE)) and qc_score (100 − points_deducted, at least 0; docs/qc.md QC-D10)."""
    src = workspace_sources(ws)
    frame = inspected_dialogues(src, date_from, date_to).execute()
    tally = _tally(ws.con, date_from, date_to)
    out = []
    for row in frame.sort_values(["shop", "agent", "day"]).itertuples(index=False):
        day = row.day.date() if hasattr(row.day, "date") else row.day
        none = {
            "dialogues": int(row.dialogues),
            "findings": 0,
            "confirmed": 0,
            "dismissed": 0,
            "open": 0,
            "points": 0.0,
            "points_deducted": 0.0,
        }
        counts = tally.get((row.shop, row.agent, day), none)
        out.append(
            {"shop": row.shop, "agent": row.agent, "day": day, **counts, "qc_score": score(counts["points_deducted"])}
        )
    return out


def agent_scores(ws: Any, date_from: dt.date | None = None, date_to: dt.date | None = None) -> list[dict[str, Any]]:
    """The QC score of each human agent over the period: the same formula over all its dialogues
    (points and dialogues summed over its days), so a month is not the mean of its days' scores."""
    totals: dict[tuple, dict[str, Any]] = {}
    keys = ("dialogues", "findings", "confirmed", "dismissed", "open", "points")
    for r in agent_day_scores(ws, date_from, date_to):
        total = totals.setdefault(
            (r["shop"], r["agent"]), {"shop": r["shop"], "agent": r["agent"], "days": 0, **dict.fromkeys(keys, 0)}
        )
        total["days"] += 1
        for k in keys:
            total[k] += r[k]
    out = []
    for total in totals.values():
        total["points_deducted"] = store.deducted(total["points"], total["dialogues"])
        out.append(total | {"qc_score": score(total["points_deducted"])})
    return out


def _tally(con, date_from: dt.date | None, date_to: dt.date | None) -> dict[tuple, dict]:
    """Finding counts by review status, their points, the dialogues inspected and the score's loss, per (shop, agent, day)."""
    if not store.has_tables(con):
        return {}
    where, args = store.period_clause("f.day", date_from, date_to)
    return {(t["shop"], t["agent"], t["day"]): {k: t[k] for k in store.TALLY} for t in store.tally(con, where, args)}
