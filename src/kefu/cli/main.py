"""`kefu` command line: parses arguments, calls kefu.api, prints. No logic of its own."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from kefu import api
from kefu.cli import pay as pay_cli
from kefu.cli import qc as qc_cli
from kefu.cli import render
from kefu.cli import web as web_cli
from kefu.cli.common import (
    App,
    EngineOption,
    Format,
    FormatOption,
    From,
    Lang,
    MasterOption,
    To,
    console,
    day_of,
    emit,
    errors,
    workspace,
)
from kefu.config import SETTING, CreditRule
from kefu.derive import refresh_cube, refresh_derived
from kefu.engines.select import Engine
from kefu.ingest.pipeline import import_paths
from kefu.workspace import Workspace, is_workspace, transaction

app = App(help="kefu 客服绩效: customer-service performance analytics.", no_args_is_help=True, add_completion=False)


def _override(name: str, flag: str) -> Any:
    """A `kefu kpi` option that overrides kefu.toml's [kpi] `name` for one run (its help is the setting's)."""
    return typer.Option(flag, help=f"{SETTING[name].help}; overrides {name} of kefu.toml")


SlowThreshold = Annotated[int | None, _override("slow_threshold_s", "--slow-threshold")]
AfterSalesDays = Annotated[int | None, _override("after_sales_days", "--after-sales-days")]
AttributionHours = Annotated[int | None, _override("attribution_hours", "--attribution-hours")]
CreditRuleOption = Annotated[CreditRule | None, _override("credit_rule", "--credit-rule")]

web_cli.register(app)  # serve, user add/list, report daily, targets import (docs/web.md)
pay_cli.register(app)  # kefu pay …: payroll, explain, compare, import, slip, settlement (docs/pay.md)
qc_cli.register(app)  # kefu qc …: run, findings, scores, sample, rules (docs/qc.md); review, ledger (docs/qc-review.md)


@app.command()
def init(ws: Path) -> None:
    """Create a workspace folder (kefu.duckdb + kefu.toml)."""
    with workspace(ws, write=True, create=True):
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
    # A dry run rolls back, but must not create a workspace folder either.
    opened = Workspace.memory() if dry_run and not is_workspace(ws) else workspace(ws, write=True, create=True)
    with (
        opened as target,
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
        reports = import_paths(
            target,
            paths,
            shop=shop,
            dry_run=dry_run,
            progress=lambda f, done, total: bar.update(
                task, completed=done, total=total, description=Path(f).name[:40]
            ),
        )
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
    with workspace(ws, write=True) as opened, console.status("refreshing"), transaction(opened.con):
        (refresh_derived if everything else refresh_cube)(opened)
    console.print(f"{'derived tables and ' if everything else ''}KPI cube rebuilt for {opened.config.params}")


@app.command()
def rejects(
    ws: Path,
    file: Annotated[str | None, typer.Option(help="only rows of files whose path contains this")] = None,
    limit: Annotated[int, typer.Option(help="at most this many rows (0 = all)")] = 100,
    format: FormatOption = Format.table,
) -> None:
    """List the rows imports rejected, with file, line and reason."""
    with workspace(ws, files=True) as opened:
        sql = 'SELECT file, line, tbl AS "table", reason, raw FROM rejects'
        args: list = []
        if file:
            sql, args = sql + " WHERE file LIKE ?", [f"%{file}%"]
        sql += " ORDER BY file, line" + (f" LIMIT {int(limit)}" if limit else "")
        frame = opened.con.execute(sql, args).df()
    emit(frame.to_dict("records"), format, title="rejected rows")


@app.command()
def kpi(
    path: Annotated[Path, typer.Argument(help="a workspace, or a folder of canonical files")],
    by: Annotated[
        str, typer.Option(help="grouping: shop, agent, team, employer × day, week, month, hour")
    ] = "agent,day",
    format: FormatOption = Format.table,
    slow_threshold: SlowThreshold = None,
    after_sales_days: AfterSalesDays = None,
    attribution_hours: AttributionHours = None,
    credit_rule: CreditRuleOption = None,
    date_from: From = None,
    date_to: To = None,
    metrics: Annotated[
        str | None, typer.Option(help="metric keys to show in --format table (default: the headline ones)")
    ] = None,
    lang: Lang = "zh",
    engine: EngineOption = Engine.duckdb,
    master: MasterOption = None,
) -> None:
    """KPIs per group, as JSON, CSV or a table."""
    with workspace(path, files=True) as ws:
        params = ws.config.params.override(
            slow_threshold_s=slow_threshold,
            after_sales_days=after_sales_days,
            attribution_hours=attribution_hours,
            credit_rule=credit_rule,
        )
        records = api.kpis(ws, by.split(","), params, day_of(date_from), day_of(date_to), engine, master)
        if format is not Format.csv:  # CSV keeps one column per metric; JSON and the table say what is provisional
            records = api.with_provisional(ws.con, records, day_of(date_to))
    if format is Format.table:
        console.print(render.kpi_table(records, lang, metrics.split(",") if metrics else None))
        if note := render.provisional_note(render.record_finals(records), lang):
            console.print(note, highlight=False)
    else:
        emit(records, format)


@app.command("explain")
def explain_(
    ws: Path,
    agent: Annotated[str, typer.Option(help="account, e.g. 'shop:ann'")],
    day: Annotated[dt.datetime, typer.Option(formats=["%Y-%m-%d"])],
    metric: Annotated[str | None, typer.Option(help="a metric key; all rows when omitted")] = None,
    format: FormatOption = Format.table,
    lang: Lang = "zh",
) -> None:
    """The rows behind an agent's figures on a day: questions, credited orders, lost inquiries…"""
    with workspace(ws, files=True) as opened:
        result = api.explain_agent_day(opened, agent, day.date(), metric)
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
    with workspace(ws, files=True) as opened:
        days = api.kpis(opened, ["shop", "day"])
        busiest = max(days, key=lambda r: r["consult_buyers"])["day"]
        day = dt.date.fromisoformat(busiest)
        records = api.kpis(opened, ["agent", "day"], date_from=day, date_to=day)
    console.print(render.kpi_table(records, lang, None, title=f"{busiest} 客服绩效 (busiest day)"))
    console.print(render.next_steps(ws, records, busiest))


if __name__ == "__main__":
    app()
