"""`kefu` command line: parses arguments, calls kefu.api, prints. No logic of its own."""

from __future__ import annotations

import datetime as dt
import json
import sys
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from kefu import api
from kefu.cli import pay as pay_cli
from kefu.cli import qc as qc_cli
from kefu.cli import render
from kefu.cli import web as web_cli
from kefu.cli.common import Format, console, errors, fail
from kefu.config import ConfigError
from kefu.exports import write_csv
from kefu.ingest.pipeline import import_paths
from kefu.metrics.derived import refresh_cube, refresh_derived
from kefu.metrics.kpis import GroupingError
from kefu.workspace import Workspace, WorkspaceError, is_workspace, transaction

app = typer.Typer(
    help="kefu 客服绩效: customer-service performance analytics.", no_args_is_help=True, add_completion=False
)


class CreditRule(str, Enum):
    order = "order"
    payment = "payment"
    order_first = "order_first"


web_cli.register(app)  # serve, user add/list, report daily, targets import (docs/web.md)
pay_cli.register(app)  # kefu pay …: payroll, explain, compare, import, slip, settlement (docs/pay.md)
qc_cli.register(app)  # kefu qc …: run, findings, scores, sample, rules (docs/qc.md); review, ledger (docs/qc-review.md)

Lang = Annotated[str, typer.Option("--lang", envvar="KEFU_LANG", help="zh (default) or en")]


@app.command()
def init(ws: Path) -> None:
    """Create a workspace folder (kefu.duckdb + kefu.toml)."""
    Workspace.open(ws, create=True).close()
    console.print(f"workspace ready: {ws}")


@app.command("import")
def import_(
    ws: Path,
    paths: Annotated[list[Path], typer.Argument(help="files or folders (a folder = every file in it)")],
    shop: Annotated[str | None, typer.Option(help="shop name for files that do not carry one")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="show what would be imported; change nothing")] = False,
    lang: Lang = "zh",
) -> None:
    """Import canonical files or platform exports into a workspace (one transaction)."""
    try:
        # A dry run rolls back, but must not create a workspace folder either.
        workspace = Workspace.memory() if dry_run and not is_workspace(ws) else Workspace.open(ws, create=True)
    except (WorkspaceError, ConfigError) as exc:
        fail(str(exc))
    with (
        workspace,
        Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=errors,
            transient=True,
        ) as bar,
    ):
        task = bar.add_task("importing", total=None)
        try:
            reports = import_paths(
                workspace,
                paths,
                shop=shop,
                dry_run=dry_run,
                progress=lambda f, done, total: bar.update(
                    task, completed=done, total=total, description=Path(f).name[:40]
                ),
            )
        except FileNotFoundError as exc:
            fail(str(exc))
    console.print(render.import_table(reports, lang, dry_run))
    render.print_problems(console, reports, lang)
    if any(r.error for r in reports):
        raise typer.Exit(1)


@app.command()
def refresh(
    ws: Path,
    everything: Annotated[
        bool, typer.Option("--all", help="also rebuild the derived tables (questions, order contacts, …)")
    ] = False,
) -> None:
    """Rebuild the KPI cube for kefu.toml's parameters (after editing them), or with --all every derived table."""
    try:
        workspace = Workspace.open(ws)
    except (WorkspaceError, ConfigError) as exc:
        fail(str(exc))
    with workspace, console.status("refreshing"), transaction(workspace.con):
        (refresh_derived if everything else refresh_cube)(workspace)
    console.print(f"{'derived tables and ' if everything else ''}KPI cube rebuilt for {workspace.config.params}")


@app.command()
def rejects(
    ws: Path,
    file: Annotated[str | None, typer.Option(help="only rows of files whose path contains this")] = None,
    limit: Annotated[int, typer.Option(help="at most this many rows (0 = all)")] = 100,
    format: Annotated[Format, typer.Option("--format")] = Format.table,
) -> None:
    """List the rows imports rejected, with file, line and reason."""
    with _read(ws) as workspace:
        sql = 'SELECT file, line, tbl AS "table", reason, raw FROM rejects'
        args: list = []
        if file:
            sql, args = sql + " WHERE file LIKE ?", [f"%{file}%"]
        sql += " ORDER BY file, line" + (f" LIMIT {int(limit)}" if limit else "")
        frame = workspace.con.execute(sql, args).df()
    _emit(frame.to_dict("records"), format, title="rejected rows")


@app.command()
def kpi(
    path: Annotated[Path, typer.Argument(help="a workspace, or a folder of canonical files")],
    by: Annotated[
        str, typer.Option(help="grouping: shop, agent, team, employer × day, week, month, hour")
    ] = "agent,day",
    format: Annotated[Format, typer.Option("--format")] = Format.table,
    slow_threshold: Annotated[int | None, typer.Option("--slow-threshold", help="seconds; overrides kefu.toml")] = None,
    after_sales_days: Annotated[int | None, typer.Option("--after-sales-days")] = None,
    attribution_hours: Annotated[int | None, typer.Option("--attribution-hours")] = None,
    credit_rule: Annotated[CreditRule | None, typer.Option("--credit-rule")] = None,
    date_from: Annotated[dt.datetime | None, typer.Option("--from", formats=["%Y-%m-%d"])] = None,
    date_to: Annotated[dt.datetime | None, typer.Option("--to", formats=["%Y-%m-%d"])] = None,
    metrics: Annotated[
        str | None, typer.Option(help="metric keys to show in --format table (default: the headline ones)")
    ] = None,
    lang: Lang = "zh",
) -> None:
    """KPIs per group, as JSON, CSV or a table."""
    try:
        with api.open_data(path) as ws:
            params = ws.config.params.override(
                slow_threshold_s=slow_threshold,
                after_sales_days=after_sales_days,
                attribution_hours=attribution_hours,
                credit_rule=credit_rule.value if credit_rule else None,
            )
            records = api.kpis(ws, by.split(","), params, _date(date_from), _date(date_to))
            if format is not Format.csv:  # CSV keeps one column per metric; JSON and the table say what is provisional
                records = api.with_provisional(ws.con, records, _date(date_to))
    except (WorkspaceError, ConfigError, GroupingError) as exc:
        fail(str(exc))
    if format is Format.table:
        console.print(render.kpi_table(records, lang, metrics.split(",") if metrics else None))
        if note := render.provisional_note(render.record_finals(records), lang):
            console.print(note, highlight=False)
    else:
        _emit(records, format)


@app.command("explain")
def explain_(
    ws: Path,
    agent: Annotated[str, typer.Option(help="account, e.g. 'shop:ann'")],
    day: Annotated[dt.datetime, typer.Option(formats=["%Y-%m-%d"])],
    metric: Annotated[str | None, typer.Option(help="a metric key; all rows when omitted")] = None,
    format: Annotated[Format, typer.Option("--format")] = Format.table,
    lang: Lang = "zh",
) -> None:
    """The rows behind an agent's figures on a day: questions, credited orders, lost inquiries…"""
    try:
        with api.open_data(ws) as workspace:
            result = api.explain_agent_day(workspace, agent, day.date(), metric)
    except (WorkspaceError, KeyError) as exc:
        fail(str(exc).strip("'\""))
    if format is Format.json:
        print(json.dumps(render.explanation_json(result), ensure_ascii=False, indent=1, default=str))
    else:
        render.print_explanation(console, result, lang)


@app.command()
def simulate(
    out: Path,
    agents: Annotated[int, typer.Option(help="number of agent accounts")] = 25,
    days: Annotated[int, typer.Option()] = 30,
    seed: Annotated[int, typer.Option()] = 1,
    start: Annotated[dt.datetime, typer.Option(formats=["%Y-%m-%d"], help="first day")] = dt.datetime(2026, 10, 20),
    messages: Annotated[
        int | None, typer.Option(help="approximate total messages (e.g. 10000000 for benchmarks)")
    ] = None,
    format: Annotated[str, typer.Option("--format", help="csv or parquet")] = "csv",
) -> None:
    """Write canonical files of a realistic simulated shop (deterministic by seed)."""
    from kefu.simulate import simulate as run

    with Progress(
        TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn(), console=errors, transient=True
    ) as bar:
        task = bar.add_task("simulating", total=1.0)
        counts = run(
            out,
            agents=agents,
            days=days,
            start=start.date(),
            seed=seed,
            messages=messages,
            fmt=format,
            progress=lambda stage, fraction: bar.update(task, completed=fraction, description=stage),
        )
    console.print(render.counts_table(counts, out))


@app.command("demo-summary")
def demo_summary(ws: Path, lang: Lang = "zh") -> None:
    """The agents' KPIs on the busiest day, and where to look next (end of `make demo`)."""
    with api.open_data(ws) as workspace:
        days = api.kpis(workspace, ["shop", "day"])
        busiest = max(days, key=lambda r: r["consult_buyers"])["day"]
        day = dt.date.fromisoformat(busiest)
        records = api.kpis(workspace, ["agent", "day"], date_from=day, date_to=day)
    console.print(render.kpi_table(records, lang, None, title=f"{busiest} 客服绩效 (busiest day)"))
    console.print(render.next_steps(ws, records, busiest))


def _read(ws: Path):
    try:
        return api.open_data(ws)
    except WorkspaceError as exc:
        fail(str(exc))


def _date(value: dt.datetime | None) -> dt.date | None:
    return value.date() if value else None


def _emit(records: list[dict], format: Format, title: str = "") -> None:
    if format is Format.json:
        print(json.dumps(records, ensure_ascii=False, default=str))
    elif format is Format.csv:
        write_csv(sys.stdout, records, list(records[0]) if records else [])
    else:
        console.print(render.records_table(records, title))


if __name__ == "__main__":
    app()
