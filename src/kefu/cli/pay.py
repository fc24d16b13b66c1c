"""`kefu pay …`: performance pay (绩效 / 提成). Parses arguments, calls kefu.pay.api, prints (docs/pay.md).

`kefu pay WS --month M` is short for `kefu pay run WS --month M`: the group
below sends any first argument that is not a sub-command to `run`.
"""

from __future__ import annotations

import json
import sys
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from typer.core import TyperGroup

from kefu.cli.common import (
    App,
    EngineOption,
    Format,
    FormatOption,
    Lang,
    MasterOption,
    MonthOption,
    console,
    errors,
    fail,
    month_text,
    workspace,
)
from kefu.engines.select import Engine
from kefu.exports import write_csv
from kefu.formatting import money
from kefu.pay.output import plain


class DefaultToRun(TyperGroup):
    """A group whose first argument, when it is not a sub-command or an option, is the workspace of `run`."""

    def parse_args(self, ctx, args):
        if args and args[0] not in self.commands and not args[0].startswith("-"):
            args = ["run", *args]
        return super().parse_args(ctx, args)


pay_app = App(
    cls=DefaultToRun,
    no_args_is_help=True,
    add_completion=False,
    help="Performance pay (绩效/提成): `kefu pay WS --month 2026-11` computes the month's payroll.",
)


class Kind(str, Enum):
    attendance = "attendance"
    test_scores = "test_scores"
    prizes = "prizes"


Schemes = Annotated[
    list[Path] | None, typer.Option("--scheme", help="scheme file or folder (repeatable); default: WS/schemes/")
]
WS = Annotated[Path, typer.Argument(help="a workspace (or a folder of canonical files, with --scheme)")]


class _Session:
    """The month's data (opened with kefu.cli.common.workspace) and schemes, each gathered once; its KPIs on
    `engine` (kefu.engines.select)."""

    def __init__(
        self,
        ws: Path,
        month: str,
        schemes: list[Path] | None,
        engine: Engine = Engine.duckdb,
        master: str | None = None,
    ):
        self.path, self.month, self.scheme_paths = ws, month, schemes
        self.engine, self.master = engine, master

    def __enter__(self):
        self._ctx = workspace(self.path, files=True)
        self.ws = self._ctx.__enter__()
        return self

    def __exit__(self, *exc):
        return self._ctx.__exit__(*exc)

    def schemes(self, paths=None):
        from kefu.pay import api as pay

        return pay.schemes_of(self.ws, paths if paths is not None else self.scheme_paths)

    def data(self):
        from kefu.pay import api as pay

        if not hasattr(self, "_data"):
            self._data = pay.month_data(self.ws, self.month, kpis=self._kpis)
        return self._data

    def _kpis(self, by, date_from, date_to):
        from kefu import api

        return api.kpis(self.ws, list(by), None, date_from, date_to, self.engine, self.master)


@pay_app.command("run")
def run(
    ws: WS,
    month: MonthOption,
    scheme: Schemes = None,
    format: FormatOption = Format.table,
    xlsx: Annotated[Path | None, typer.Option(help="also write the payroll workbook (工资表, 明细, 图表)")] = None,
    lang: Lang = "zh",
    engine: EngineOption = Engine.duckdb,
    master: MasterOption = None,
) -> None:
    """The month's payroll: per agent the base, each component and the total."""
    from kefu.pay.output import flat_rows, payroll_records
    from kefu.pay.payroll import compute as payroll_for

    with _Session(ws, month, scheme, engine, master) as s:
        result = payroll_for(s.data(), s.schemes())
    if format is Format.json:
        print(json.dumps(payroll_records(result), ensure_ascii=False, indent=1))
    elif format is Format.csv:
        _csv(flat_rows(result))
    else:
        console.print(_payroll_table(result, lang))
        _notes(result, lang)
    if xlsx:
        from kefu.pay.xlsx import write_payroll_xlsx

        write_payroll_xlsx(result, xlsx, lang)
        errors.print(f"written: {xlsx}", highlight=False)


@pay_app.command("explain")
def explain(
    ws: WS,
    month: MonthOption,
    agent: Annotated[str, typer.Option(help="account, e.g. '店铺:小王'")],
    scheme: Schemes = None,
    format: Annotated[Format, typer.Option("--format", help="table or json")] = Format.table,
    rows: Annotated[int, typer.Option(help="rows shown per section in the table format (json has all)")] = 15,
) -> None:
    """Why an agent got this pay: each line's rule, the KPI values used, the formula, and the rows behind them."""
    from kefu.pay import api as pay

    with _Session(ws, month, scheme) as s:
        result = pay.explain(s.ws, month, agent, s.schemes(), data=s.data())
    if format is Format.json:
        print(json.dumps(result, ensure_ascii=False, indent=1, default=str))
        return
    print_explanation(console, result, rows)


@pay_app.command("compare")
def compare(
    ws: WS,
    month: MonthOption,
    against: Annotated[list[Path], typer.Option("--against", help="the other scheme file(s) or folder (B)")],
    scheme: Schemes = None,
    format: FormatOption = Format.table,
) -> None:
    """What-if: the month under schemes A (--scheme, default WS/schemes/) and B (--against), per agent."""
    from kefu.pay import compare as cmp
    from kefu.pay.payroll import compute as payroll_for

    with _Session(ws, month, scheme) as s:
        data, a, b = s.data(), s.schemes(), s.schemes(against)
        rows = cmp.compare(payroll_for(data, a), payroll_for(data, b))
    if format is Format.json:
        print(json.dumps({"month": month, "rows": rows, "summary": cmp.summary(rows)}, ensure_ascii=False, indent=1))
    elif format is Format.csv:
        _csv(cmp.flat(rows))
    else:
        console.print(compare_table(rows, cmp.summary(rows), month))


@pay_app.command("import")
def import_(
    ws: Annotated[Path, typer.Argument(help="the workspace")],
    file: Annotated[Path, typer.Argument(help="CSV (UTF-8 or GBK) or XLSX with a header row")],
    month: MonthOption,
    kind: Annotated[
        Kind, typer.Option("--kind", help="attendance (出勤), test_scores (产品知识考试) or prizes (奖励)")
    ],
) -> None:
    """Import a month's attendance, test scores or prizes; replaces that month's rows of the kind (all rows checked first)."""
    from kefu.pay import inputs
    from kefu.pay.sources import known_agents

    with workspace(ws, write=True) as w:
        n = inputs.import_file(w.con, file, month, kind.value, known_agents(w))
    console.print(
        f"{n} rows of {kind.value} for {month} imported from {file} (earlier {kind.value} rows of {month} replaced)"
    )


@pay_app.command("slip")
def slip(
    ws: WS,
    month: MonthOption,
    agent: Annotated[str, typer.Option(help="account, e.g. '店铺:小王'")],
    html: Annotated[Path, typer.Option("--html", help="write the printable payslip (工资条) here")],
    scheme: Schemes = None,
) -> None:
    """Write an agent's printable payslip (Chinese, A4) as an HTML file."""
    from kefu.pay import api as pay
    from kefu.pay.slip import render_slip

    with _Session(ws, month, scheme) as s:
        result = pay.explain(s.ws, month, agent, s.schemes(), data=s.data())
    html.write_text(render_slip(result), encoding="utf-8")
    console.print(f"written: {html}")


@pay_app.command("settlement")
def settlement(
    ws: WS,
    month: MonthOption,
    employer: Annotated[str | None, typer.Option(help="one vendor (default: every vendor)")] = None,
    scheme: Schemes = None,
    format: Annotated[Format, typer.Option("--format", help="table or json")] = Format.table,
    xlsx: Annotated[Path | None, typer.Option(help="write the settlement workbook (one sheet per vendor)")] = None,
) -> None:
    """Settlement per outsourcing vendor (外包结算单): each of the vendor's agents and the sum."""
    from kefu.pay.payroll import compute as payroll_for
    from kefu.pay.settlement import settlements

    with _Session(ws, month, scheme) as s:
        found = settlements(payroll_for(s.data(), s.schemes()), employer)
    if employer and not found:
        fail(f"no agent of vendor {employer!r} is paid in {month}")
    if format is Format.json:
        print(json.dumps(found, ensure_ascii=False, indent=1))
    else:
        for table in settlement_tables(found):
            console.print(table)
    if xlsx:
        from kefu.pay.xlsx import write_settlement_xlsx

        write_settlement_xlsx(found, xlsx)
        errors.print(f"written: {xlsx}", highlight=False)


@pay_app.command("check")
def check(
    schemes: Annotated[list[Path], typer.Argument(help="scheme files or folders")],
    ws: Annotated[
        Path | None, typer.Option("--ws", help="also check which scheme pays each agent of this workspace")
    ] = None,
    month: Annotated[str | None, typer.Option("--month", parser=month_text, help="YYYY-MM, with --ws")] = None,
) -> None:
    """Validate scheme files (every problem with its file, line and key); with --ws and --month, also the assignment."""
    from kefu.pay.scheme import assign, load_schemes, select

    found = load_schemes(schemes)
    table = Table("方案 scheme", "生效 from", "文件 file", "组件 components")
    for sc in found:
        table.add_row(sc.name, sc.effective_from, sc.source, ", ".join(c.name for c in sc.components))
    console.print(table)
    if ws and month:
        with _Session(ws, month, schemes) as s:
            data = s.data()
            paid = assign(data.agents, select(found, month))
        console.print(
            f"{len(paid)} of {len(data.agents)} agents paid in {month}; not paid: "
            + (", ".join(a for a in sorted(data.agents) if a not in paid) or "none")
        )


def _payroll_table(result, lang: str) -> Table:
    from kefu.pay.output import component_names

    zh = lang != "en"
    names = component_names(result)
    table = Table(title=f"{result.month} {'工资表' if zh else 'payroll'}", show_footer=True)
    heads = ("客服", "组别", "归属", "方案", "基本工资") if zh else ("Agent", "Team", "Employer", "Scheme", "Base")
    table.add_column(heads[0], footer="合计" if zh else "Total")
    for h in heads[1:4]:
        table.add_column(h)
    table.add_column(heads[4], justify="right", footer=money(sum(s.base for s in result.slips)))
    for n in names:
        table.add_column(
            n, justify="right", footer=money(sum((s.line(n).amount for s in result.slips if s.line(n)), 0))
        )
    table.add_column("合计" if zh else "Total", justify="right", style="bold", footer=money(result.total))
    for s in result.slips:
        cells = [s.line(n) for n in names]
        table.add_row(
            s.agent.agent,
            s.agent.team or "",
            s.agent.employer,
            f"{s.scheme} ({s.scheme_version})",
            money(s.base),
            *("" if c is None else money(c.amount) for c in cells),
            money(s.total),
        )
    return table


def _notes(result, lang: str) -> None:
    if result.coverage:
        first, last = result.coverage
        errors.print(f"data in {result.month}: {first} … {last}", highlight=False)
    if result.days_from_chats:
        errors.print(
            "no attendance imported for the month: working days = days with the agent's own messages "
            "(`kefu pay import WS FILE --kind attendance`)",
            highlight=False,
        )
    if result.unassigned:
        errors.print("not paid by any scheme: " + ", ".join(a.agent for a in result.unassigned), highlight=False)


def _csv(records: list[dict]) -> None:
    write_csv(sys.stdout, plain(records), list(records[0]) if records else [])


def print_explanation(out: Console, e: dict, limit: int) -> None:
    """A slip explained: lines with rule and formula, the values used, then the rows behind them."""
    from rich.panel import Panel

    from kefu.pay.explain import SECTIONS

    head = (
        f"[bold]{e['name']}[/bold] {e['agent']}  {e['team'] or ''}  {e['employer']}\n"
        f"{e['month']} · 方案 {e['scheme']} ({e['scheme_version']}) · {e['scheme_source']}\n"
        f"合计 [bold]¥{money(e['total'])}[/bold]"
    )
    out.print(Panel(head, title="工资条 explain", expand=False))
    lines = Table("项目", "金额", "规则", "计算", show_lines=True, title="各项")
    for line in e["lines"]:
        lines.add_row(line["component"], money(line["amount"]), line["rule"], line["formula"])
    out.print(lines)
    used = Table("项目", "指标", "数值", "来源", title="所用 KPI / 数据")
    for line in e["lines"]:
        for u in line["used"]:
            used.add_row(line["component"], f"{u['zh']} ({u['key']})", u["shown"], u["source"])
    if used.row_count:
        out.print(used)
    for name, rows in e["rows"].items():
        if not rows:
            continue
        t = Table(
            *rows[0].keys(),
            title=f"{SECTIONS[name]}: {len(rows)} 行"
            + (f" (前 {limit} 行; --format json 看全部)" if len(rows) > limit else ""),
        )
        for r in rows[:limit]:
            t.add_row(*("" if v is None else str(v) for v in r.values()))
        out.print(t)
    if e.get("hints"):
        t = Table("指标", "当前", "提高到 → 增加", title="哪项 KPI 最能提高工资")
        for h in e["hints"]:
            t.add_row(h["zh"], h["shown"], "; ".join(f"{s['shown']} → +¥{money(s['gain'])}" for s in h["steps"]))
        out.print(t)
    if e.get("days_from_chats"):
        out.print("出勤天数取自有聊天记录的天数(本月未导入出勤表)")


def compare_table(rows: list[dict], summary: dict, month: str) -> Table:
    names = list(dict.fromkeys(c["component"] for r in rows for c in r["components"]))
    t = Table(
        title=f"{month} 方案对比 A → B: 合计 {money(summary['total_a'])} → {money(summary['total_b'])} "
        f"({money(summary['change'], signed=True)}); 增 {summary['gain']} 人, 减 {summary['lose']} 人, 不变 {summary['same']} 人"
    )
    for h in ("客服", "方案 A", "方案 B", "合计 A", "合计 B", "变化"):
        t.add_column(h, justify="right" if h.startswith(("合计", "变化")) else "left")
    for n in names:
        t.add_column(f"{n} Δ", justify="right")
    for r in rows:
        by = {c["component"]: c["change"] for c in r["components"]}
        t.add_row(
            r["agent"],
            r["scheme_a"] or "—",
            r["scheme_b"] or "—",
            _maybe(r["total_a"]),
            _maybe(r["total_b"]),
            money(r["change"], signed=True),
            *(money(by[n], signed=True) if n in by else "" for n in names),
        )
    return t


def settlement_tables(found: list[dict]) -> list[Table]:
    tables = []
    for v in found:
        t = Table(title=f"{v['employer']} 结算单 {v['month']}", show_footer=True)
        t.add_column("客服", footer="合计")
        t.add_column("基本工资", justify="right", footer=money(v["base"]))
        for n in v["components"]:
            t.add_column(n, justify="right", footer=money(sum(a["components"].get(n, 0) for a in v["agents"])))
        t.add_column("合计", justify="right", footer=money(v["total"]))
        for a in v["agents"]:
            t.add_row(
                a["agent"],
                money(a["base"]),
                *(_maybe(a["components"].get(n)) for n in v["components"]),
                money(a["total"]),
            )
        tables.append(t)
    return tables


def _maybe(value) -> str:
    return "—" if value is None else money(value)


def register(app: typer.Typer) -> None:
    app.add_typer(pay_app, name="pay")
