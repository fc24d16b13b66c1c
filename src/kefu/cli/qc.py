"""`kefu qc …`: quality inspection (质检) — run, findings, scores, sample, rules. Thin wrappers over kefu.qc (docs/qc.md).

`qc_app` is the `kefu qc` group; kefu.cli.qc_review adds `review` and `ledger` to it.
"""

from __future__ import annotations

import datetime as dt
from enum import Enum
from pathlib import Path
from types import SimpleNamespace
from typing import Annotated, Any
from urllib.parse import unquote

import typer
from rich.table import Table

from kefu.cli import common
from kefu.cli.common import (
    App,
    Day,
    EngineOption,
    Format,
    FormatOption,
    From,
    Lang,
    MasterOption,
    To,
    cell_text,
    console,
    day_of,
    errors,
    fail,
    workspace,
)
from kefu.engines.select import Engine
from kefu.qc.review import COLUMNS
from kefu.qc.store import SEVERITY_NAMES
from kefu.workspace import scalar

qc_app = App(help="Quality inspection (质检): check every chat against the rule library.", no_args_is_help=True)

#: Column headings of the tables (zh, en).
WORDS = {
    "rule": ("规则", "Rule"),
    "rule_name": ("名称", "Name"),
    "severity": ("严重度", "Severity"),
    "points": ("扣分", "Points"),
    "scope": ("范围", "Scope"),
    "kind": ("类型", "Kind"),
    "findings": ("问题数", "Findings"),
    "ts": ("时间", "Time"),
    "shop": ("店铺", "Shop"),
    "agent": ("客服", "Agent"),
    "buyer": ("买家", "Buyer"),
    "day": ("日期", "Day"),
    "match": ("命中", "Match"),
    "text": ("原文", "Text"),
    "status": ("状态", "Status"),
    "confirmed": ("已确认", "Confirmed"),
    "dismissed": ("已驳回", "Dismissed"),
    "open": ("待复核", "Open"),
    "points_deducted": ("质检分扣减", "Score lost"),
    "dialogues": ("会话数", "Dialogues"),
    "days": ("天数", "Days"),
    "occurrences": ("次数", "Count"),
    "qc_score": ("质检分", "QC score"),
    "stratum": ("分层", "Stratum"),
    "pick": ("序号", "#"),
    "rules": ("命中规则", "Rules"),
    "chat": ("聊天记录", "Chat"),
    "patterns": ("模式数", "Patterns"),
    "enabled": ("启用", "On"),
}
#: Severities (and the sample's strata) by the names the web uses (kefu.qc.store.SEVERITY_NAMES).
SEVERITY_WORDS = {**SEVERITY_NAMES, "clean": ("无问题", "Clean")}
FINDING_KEYS = (*COLUMNS, "status", "reviewer", "comment")  # a finding with its review


class Status(str, Enum):
    open = "open"
    confirmed = "confirmed"
    dismissed = "dismissed"


def _period(date_from, date_to) -> tuple[dt.date | None, dt.date | None]:
    first, last = day_of(date_from), day_of(date_to)
    if first and last and last < first:
        fail(f"--to {last} is before --from {first}")
    return first, last


def word(key: str, lang: str) -> str:
    zh, en = WORDS.get(key, (key, key))
    return en if lang == "en" else zh


def emit(records: list[dict], format: Format, columns: tuple[str, ...], lang: str, title: str = "") -> None:
    """kefu.cli.common.emit with the QC words: headings in `lang`, severities named, chat links readable."""
    common.emit(
        records,
        format,
        title=title,
        columns=columns,
        heading=lambda key: word(key, lang),
        cell=lambda key, value: _cell(key, value, lang),
        right=("points", "findings", "qc_score", "pick"),
    )


def _cell(key: str, value: Any, lang: str) -> str:
    if value is not None and key in ("severity", "stratum"):
        return SEVERITY_WORDS.get(value, (value, value))[lang == "en"]
    if value is not None and key == "chat":  # readable in a terminal; JSON and CSV keep the encoded path
        return unquote(value)
    return cell_text(value)


@qc_app.command("run")
def run(
    ws: Path,
    date_from: From = None,
    date_to: To = None,
    rules: Annotated[Path | None, typer.Option(help="a rule file to use instead of the workspace's library")] = None,
    lang: Lang = "zh",
    engine_name: EngineOption = Engine.duckdb,
    master: MasterOption = None,
) -> None:
    """Check every chat of the period (default: all data) and replace the period's findings; reviews stay."""
    from kefu.engines.select import sources
    from kefu.qc import engine
    from kefu.qc.rules import load_rules, parse_rules

    first, last = _period(date_from, date_to)
    with workspace(ws, write=True) as w:
        ruleset = parse_rules(rules.read_text(encoding="utf-8"), str(rules)) if rules else load_rules(w)
        summary = engine.run(w, first, last, ruleset, sources(w, engine_name, master))
    period = f"{first or '…'} – {last or '…'}"
    table = Table(
        title=(
            f"质检 {period}: {summary.messages:,} 条消息, {summary.findings:,} 个问题 ({summary.seconds:.1f} 秒)"
            if lang != "en"
            else f"QC {period}: {summary.messages:,} messages, {summary.findings:,} findings ({summary.seconds:.1f} s)"
        )
    )
    table.add_column(word("rule", lang))
    table.add_column(word("rule_name", lang))
    table.add_column(word("severity", lang))
    table.add_column(word("findings", lang), justify="right")
    for rule in ruleset.enabled:
        table.add_row(
            rule.id,
            rule.name if lang != "en" else (rule.name_en or rule.name),
            _cell("severity", rule.severity, lang),
            f"{summary.by_rule.get(rule.id, 0):,}",
        )
    console.print(table)
    if summary.replaced:
        console.print(f"replaced {summary.replaced:,} earlier findings of the period (reviews kept)", style="dim")


@qc_app.command("findings")
def findings(
    ws: Path,
    agent: Annotated[str | None, typer.Option(help="account, e.g. 'shop:ann'")] = None,
    day: Day = None,
    date_from: From = None,
    date_to: To = None,
    rule: Annotated[str | None, typer.Option(help="a rule id")] = None,
    status: Annotated[Status | None, typer.Option(help="open, confirmed or dismissed")] = None,
    limit: Annotated[int, typer.Option(help="at most this many (0 = all)")] = 0,
    format: FormatOption = Format.table,
    lang: Lang = "zh",
) -> None:
    """Stored findings with their review status; JSON: one object per finding."""
    from kefu.qc import engine

    first, last = _period(date_from, date_to)
    with workspace(ws) as w:
        rows = engine.findings(
            w,
            agent=agent,
            day=day_of(day),
            date_from=first,
            date_to=last,
            rule=rule,
            status=status.value if status else None,
        )
    rows = [{k: r.get(k) for k in FINDING_KEYS} for r in rows[: limit or None]]
    emit(
        rows,
        format,
        ("ts", "agent", "buyer", "rule_name", "severity", "points", "occurrences", "match", "text", "status"),
        lang,
        title=f"{len(rows):,} QC findings",
    )


@qc_app.command("scores")
def scores(
    ws: Path,
    date_from: From = None,
    date_to: To = None,
    agent: Annotated[str | None, typer.Option(help="only this account")] = None,
    period: Annotated[bool, typer.Option("--period", help="one score per agent over the whole period")] = False,
    format: FormatOption = Format.table,
    lang: Lang = "zh",
) -> None:
    """QC score per agent and day (or --period): 100 × (1 − points / (dialogues inspected × 5)), at least 0."""
    from kefu.qc import engine

    first, last = _period(date_from, date_to)
    with workspace(ws) as w:
        rows = engine.agent_scores(w, first, last) if period else engine.agent_day_scores(w, first, last)
    rows = [r for r in rows if agent is None or r["agent"] == agent]
    keys = ("dialogues", "findings", "open", "confirmed", "dismissed", "points", "points_deducted", "qc_score")
    emit(
        rows,
        format,
        ("agent", "days", *keys) if period else ("day", "agent", *keys),
        lang,
        title="质检分" if lang != "en" else "QC scores",
    )


@qc_app.command("sample")
def sample(
    ws: Path,
    week: Annotated[str | None, typer.Option(help="ISO week, e.g. 2026-W46 (or --from/--to)")] = None,
    date_from: From = None,
    date_to: To = None,
    per_agent: Annotated[int, typer.Option("--per-agent", min=1, help="dialogues per agent")] = 10,
    seed: Annotated[int, typer.Option(help="the same seed and data give the same sample")] = 7,
    agent: Annotated[str | None, typer.Option(help="only this account")] = None,
    format: FormatOption = Format.table,
    lang: Lang = "zh",
) -> None:
    """A reproducible stratified sample of dialogues per agent for manual review, doubtful ones first."""
    from kefu.qc import sample as sampling
    from kefu.qc import store

    if week and (date_from or date_to):
        fail("give --week or --from/--to, not both")
    if week:
        first, last = sampling.week_days(week)
    else:
        start, end = _period(date_from, date_to)
        if not (start and end):
            fail("give --week 2026-W46 or both --from and --to")
        first, last = start, end
    with workspace(ws) as w:
        if not (
            store.has_tables(w.con)
            and scalar(w.con, "SELECT count(*) FROM qc_findings WHERE day BETWEEN ? AND ?", [first, last])
        ):
            errors.print(
                f"[yellow]warning:[/yellow] no QC findings stored for {first} – {last}: every dialogue counts as clean; "
                f"run `kefu qc run {ws} --from {first} --to {last}` first",
                highlight=False,
            )
        rows = sampling.sample(w, first, last, per_agent, seed, agent)
    emit(
        rows,
        format,
        ("agent", "pick", "day", "buyer", "stratum", "findings", "rules", "chat"),
        lang,
        title=f"抽检 {first} – {last} (seed {seed})" if lang != "en" else f"Sample {first} – {last} (seed {seed})",
    )


@qc_app.command("rules")
def rules_(
    ws: Path,
    init: Annotated[
        bool, typer.Option("--init", help="write the default library to WS/qc-rules.toml for editing")
    ] = False,
    check: Annotated[Path | None, typer.Option(help="validate a rule file and its examples; change nothing")] = None,
    install: Annotated[
        Path | None, typer.Option(help="validate a rule file and make it the workspace's library")
    ] = None,
    format: FormatOption = Format.table,
    lang: Lang = "zh",
) -> None:
    """The workspace's rule library (qc-rules.toml, else the default); --init, --check FILE, --install FILE."""
    from kefu.qc.examples import example_problems, save_rules
    from kefu.qc.rules import RULES_FILE, RuleError, default_rules_text, load_rules, parse_rules

    target = ws / RULES_FILE
    if init:
        if target.exists():
            fail(f"{target} exists; edit it, or remove it to start again from the default library")
        ws.mkdir(parents=True, exist_ok=True)
        target.write_text(default_rules_text(), encoding="utf-8")
        console.print(f"written: {target} (the default library; edit it, then `kefu qc rules {ws} --check {target}`)")
        return
    path = check or install
    if path is not None:
        text = path.read_text(encoding="utf-8")
        ruleset = parse_rules(text, str(path))
        problems = example_problems(ruleset)
        if problems:
            raise RuleError(problems)
        if install:
            save_rules(SimpleNamespace(path=ws), text)
        console.print(
            f"{path}: {len(ruleset.rules)} rules, all valid" + (f"; installed as {target}" if install else "")
        )
    else:
        ruleset = load_rules(SimpleNamespace(path=ws))
    rows = [
        {
            "rule": r.id,
            "rule_name": r.name if lang != "en" else (r.name_en or r.name),
            "severity": r.severity,
            "scope": r.scope,
            "kind": r.kind,
            "points": r.points,
            "patterns": len(r.patterns),
            "enabled": r.enabled,
        }
        for r in ruleset.rules
    ]
    emit(
        rows,
        format,
        ("rule", "rule_name", "severity", "scope", "kind", "points", "patterns", "enabled"),
        lang,
        title=ruleset.source,
    )


def register(app: typer.Typer) -> None:
    """Add `kefu qc` (and its review / ledger commands, kefu.cli.qc_review) to the `kefu` CLI."""
    try:
        from kefu.cli import qc_review
    except ImportError:  # the review commands are optional
        pass
    else:
        qc_review.register(qc_app)
    app.add_typer(qc_app, name="qc")
