"""Rich renderings for the CLI, in Chinese (default) or English."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pandas as pd
from rich.console import Console
from rich.table import Table

from kefu.formatting import fmt, label
from kefu.ingest.pipeline import FileReport
from kefu.metrics.explain import Explanation
from kefu.metrics.registry import BY_KEY

HEADLINE = (
    "consult_buyers",
    "received_buyers",
    "reply_rate",
    "avg_response_s",
    "avg_first_response_s",
    "slow_responses",
    "rate_3min",
    "inquiry_buyers",
    "inquiry_conversion",
    "lost_buyers",
    "attributed_orders",
    "sales_amount",
    "satisfaction_rate",
)

WORDS = {
    "shop": ("店铺", "Shop"),
    "agent": ("客服", "Agent"),
    "team": ("小组", "Team"),
    "employer": ("归属", "Employer"),
    "day": ("日期", "Day"),
    "week": ("周", "Week"),
    "month": ("月", "Month"),
    "hour": ("时段", "Hour"),
    "file": ("文件", "File"),
    "table": ("表", "Table"),
    "format": ("格式", "Format"),
    "encoding": ("编码", "Encoding"),
    "read": ("读取", "Read"),
    "accepted": ("接受", "Accepted"),
    "rejected": ("拒绝", "Rejected"),
    "added": ("新增", "Added"),
    "updated": ("更新", "Updated"),
    "duplicates": ("重复", "Duplicates"),
    "skipped": ("已导入过,跳过", "already imported, skipped"),
    "not_imported": ("无法读取,未导入(其余文件已导入)", "cannot be read, not imported (the other files were)"),
    "dry_run": ("预览(未写入)", "dry run (nothing written)"),
    "import": ("导入结果", "Import"),
    "problems": ("首批问题", "First problems"),
    "line": ("行", "Line"),
    "reason": ("原因", "Reason"),
}


def word(key: str, lang: str) -> str:
    zh, en = WORDS.get(key, (key, key))
    return en if lang == "en" else zh


def metric_label(key: str, lang: str) -> str:
    return label(key, "en" if lang == "en" else "zh") if key in BY_KEY else word(key, lang)


def shown(key: str, value: Any, lang: str) -> str:
    """A metric's value as the pages show it (kefu.formatting), any other value as it is."""
    return fmt(key, value, "en" if lang == "en" else "zh") if key in BY_KEY else ("—" if value is None else str(value))


def kpi_table(records: list[dict], lang: str, metrics: list[str] | None, title: str = "") -> Table:
    """One row per group; a figure that can still change (the record's `provisional`) is marked 未定 / provisional."""
    keys = [k for k in (records[0] if records else {}) if k not in BY_KEY and k != "provisional"]
    metrics = metrics or [m for m in HEADLINE if not records or m in records[0]]
    table = Table(title=title or None, header_style="bold", show_lines=False)
    for key in keys:
        table.add_column(word(key, lang), no_wrap=True)
    for key in metrics:
        table.add_column(metric_label(key, lang), justify="right")
    mark = provisional_words(lang)[0]
    for record in records:
        pending = record.get("provisional", {})
        table.add_row(
            *(str(record[k]) for k in keys),
            *(shown(k, record.get(k), lang) + (f" [dim]{mark}[/dim]" if k in pending else "") for k in metrics),
        )
    return table


def provisional_words(lang: str) -> tuple[str, str, str]:
    """未定, '{date} 起为最终值', and why (the web's words, kefu.i18n)."""
    from kefu.i18n import translator

    t = translator("en" if lang == "en" else "zh")
    return t("provisional"), t("final_on"), t("provisional_note")


def provisional_note(finals: Iterable[dt.date | str], lang: str, data_until: dt.datetime | None = None) -> str:
    """Below a table: what 未定 means, the days the marked figures become final and how far the data reaches
    ("" when nothing is marked)."""
    days = sorted({str(d) for d in finals})
    if not days:
        return ""
    mark, final_on, why = provisional_words(lang)
    reach = (
        ""
        if data_until is None
        else (
            f" (数据截至 {data_until:%Y-%m-%d %H:%M:%S})"
            if lang != "en"
            else f" (data until {data_until:%Y-%m-%d %H:%M:%S})"
        )
    )
    return f"{mark}: {why} — " + ", ".join(final_on.replace("{date}", d) for d in days) + reach


def record_finals(records: list[dict]) -> set[str]:
    """The days the provisional figures of KPI records (kefu.api.with_provisional) become final."""
    return {d for r in records for d in r.get("provisional", {}).values()}


def import_table(reports: list[FileReport], lang: str, dry_run: bool) -> Table:
    title = word("import", lang) + (f" — {word('dry_run', lang)}" if dry_run else "")
    table = Table(title=title)
    counts = ("read", "accepted", "rejected", "added", "updated", "duplicates")
    for key in ("file", "table", "format", "encoding", *counts):
        table.add_column(word(key, lang), justify="right" if key in counts else "left")
    for r in reports:
        name = Path(r.file).name
        if r.error:
            table.add_row(name, "", f"[red]{word('not_imported', lang)}[/red]", "", "", "", "", "", "", "", style="red")
        elif r.skipped:
            table.add_row(name, r.table, f"[dim]{word('skipped', lang)}[/dim]", "", "", "", "", "0", "0", "")
        else:
            table.add_row(
                name,
                r.table,
                r.format,
                r.encoding,
                str(r.read),
                str(r.accepted),
                f"[yellow]{r.rejected}[/yellow]" if r.rejected else "0",
                str(r.added),
                str(r.updated),
                str(r.duplicates),
            )
    return table


def print_problems(console: Console, reports: list[FileReport], lang: str) -> None:
    for r in reports:
        if r.updated:  # what the updates changed, e.g. "ExportOrderList.csv: 更新 2 (paid_at 1, status 2)"
            console.print(f"{Path(r.file).name}: {word('updated', lang)} {r.updated} ({r.changes})", highlight=False)
        if r.error:
            console.print(f"[red]✗ {word('not_imported', lang)}: {r.error}[/red]", highlight=False)
        for line, reason in r.problems:
            console.print(f"[yellow]{Path(r.file).name}:{line}[/yellow] {reason}", highlight=False)
        if r.rejected > len(r.problems) and r.problems:
            console.print(
                f"  … {r.rejected - len(r.problems)} more: kefu rejects WS --file {Path(r.file).name}", highlight=False
            )


def counts_table(counts: dict[str, int], out: Path) -> Table:
    table = Table(title=f"simulated shop → {out}")
    table.add_column("table")
    table.add_column("rows", justify="right")
    for name, n in counts.items():
        table.add_row(name, f"{n:,}")
    return table


def explanation_json(result: Explanation) -> dict:
    return {
        "agent": result.agent,
        "day": result.day.isoformat(),
        "metric": result.metric,
        "value": result.value.item() if hasattr(result.value, "item") else result.value,
        "rows": {name: frame.to_dict("records") for name, frame in result.sections.items()},
        "lost_chats": {buyer: frame.to_dict("records") for buyer, frame in result.lost_chats.items()},
    }


def print_explanation(console: Console, result: Explanation, lang: str) -> None:
    head = f"{result.agent} · {result.day}"
    if result.metric:
        head += f" · {metric_label(result.metric, lang)} ({result.metric}) = {shown(result.metric, result.value, lang)}"
    console.print(f"[bold]{head}[/bold]")
    for name, frame in result.sections.items():
        table = Table(title=f"{name} ({len(frame)})", title_justify="left")
        for column in frame.columns:
            table.add_column(column)
        for row in frame.itertuples(index=False):
            table.add_row(*(cell(v) for v in row))
        console.print(table)
    for buyer, chat in result.lost_chats.items():
        console.print(f"[bold]询单流失 lost inquiry: {buyer}[/bold]")
        for row in chat.itertuples(index=False):
            console.print(f"  {row.ts}  {row.sender:<6} {row.text}", highlight=False)


def cell(value: Any) -> str:
    """A compact cell: times as MM-DD HH:MM:SS, whole floats as integers, flags as ✓/·."""
    if value is None or value is pd.NaT or (isinstance(value, float) and value != value):
        return "—"
    if isinstance(value, bool):
        return "✓" if value else "·"
    if isinstance(value, pd.Timestamp):
        return value.strftime("%m-%d %H:%M:%S")
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def next_steps(ws: Path, records: list[dict], day: str) -> str:
    agent = max(records, key=lambda r: r["consult_buyers"])["agent"] if records else "SHOP:AGENT"
    return (
        "\n[bold]Next / 下一步[/bold]\n"
        f"  kefu kpi {ws} --by agent,week            # 周报 weekly per agent\n"
        f"  kefu kpi {ws} --by shop,day --format csv  # 含静默销售 silent sales\n"
        f"  kefu kpi {ws} --by team,hour              # 时段负荷 load by hour\n"
        f"  kefu explain {ws} --agent '{agent}' --day {day} --metric avg_response_s\n"
        f"  kefu rejects {ws}\n"
    )
