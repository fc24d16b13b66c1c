"""`kefu pay …`: performance pay (绩效 / 提成). Parses arguments, calls kefu.pay.api, prints (docs/pay.md).

`kefu pay WS --month M` is short for `kefu pay run WS --month M`: the group
below sends any first argument that is not a sub-command to `run`.
"""

from __future__ import annotations

import json
import sys
from enum import Enum
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.table import Table
from typer.core import TyperGroup

from kefu.cli.common import Format, console, errors, fail
from kefu.exports import write_csv
from kefu.pay.output import plain


class DefaultToRun(TyperGroup):
    """A group whose first argument, when it is not a sub-command or an option, is the workspace of `run`."""

    def parse_args(self, ctx, args):
        if args and args[0] not in self.commands and not args[0].startswith("-"):
            args = ["run", *args]
        return super().parse_args(ctx, args)


pay_app = typer.Typer(
    cls=DefaultToRun,
    no_args_is_help=True,
    add_completion=False,
    help="Performance pay (绩效/提成): `kefu pay WS --month 2026-11` computes the month's payroll.",
)


class Kind(str, Enum):
    attendance = "attendance"
    test_scores = "test_scores"
    prizes = "prizes"


Month = Annotated[str, typer.Option("--month", help="YYYY-MM")]
Schemes = Annotated[
    list[Path] | None, typer.Option("--scheme", help="scheme file or folder (repeatable); default: WS/schemes/")
]
Lang = Annotated[str, typer.Option("--lang", envvar="KEFU_LANG", help="zh (default) or en")]
WS = Annotated[Path, typer.Argument(help="a workspace (or a folder of canonical files, with --scheme)")]


def _fail(problems: list[str] | str) -> NoReturn:
    fail(*([problems] if isinstance(problems, str) else problems))


class _Session:
    """Open data, load schemes, gather the month; every known error becomes a clear message and exit code 2."""

    def __init__(self, ws: Path, month: str, schemes: list[Path] | None):
        self.path, self.month, self.scheme_paths = ws, month, schemes

    def __enter__(self):
        from kefu import api

        self._ctx = api.open_data(self.path)
        self.ws = self.guard(self._ctx.__enter__)
        return self

    def __exit__(self, *exc):
        return self._ctx.__exit__(*exc)

    def schemes(self, paths=None):
        from kefu.pay import api as pay

        return self.guard(lambda: pay.schemes_of(self.ws, paths if paths is not None else self.scheme_paths))

    def data(self):
        from kefu.pay import api as pay

        if not hasattr(self, "_data"):
            self._data = self.guard(lambda: pay.month_data(self.ws, self.month))
        return self._data

    def guard(self, fn):
        from kefu.config import ConfigError
        from kefu.pay.payroll import PayrollError
        from kefu.pay.scheme import SchemeError
        from kefu.pay.sources import MonthError
        from kefu.workspace import WorkspaceError

        try:
            return fn()
        except (SchemeError, PayrollError) as exc:
            _fail(exc.problems)
        except (MonthError, WorkspaceError, ConfigError, KeyError) as exc:
            _fail(str(exc).strip("'\""))


@pay_app.command("run")
def run(
    ws: WS,
    month: Month,
    scheme: Schemes = None,
    format: Annotated[Format, typer.Option("--format")] = Format.table,
    xlsx: Annotated[Path | None, typer.Option(help="also write the payroll workbook (工资表, 明细, 图表)")] = None,
    lang: Lang = "zh",
) -> None:
    """The month's payroll: per agent the base, each component and the total."""
    from kefu.pay.output import flat_rows, payroll_records
    from kefu.pay.payroll import compute as payroll_for

    with _Session(ws, month, scheme) as s:
        result = s.guard(lambda: payroll_for(s.data(), s.schemes()))
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
    month: Month,
    agent: Annotated[str, typer.Option(help="account, e.g. '店铺:小王'")],
    scheme: Schemes = None,
    format: Annotated[Format, typer.Option("--format", help="table or json")] = Format.table,
    rows: Annotated[int, typer.Option(help="rows shown per section in the table format (json has all)")] = 15,
) -> None:
    """Why an agent got this pay: each line's rule, the KPI values used, the formula, and the rows behind them."""
    from kefu.pay import api as pay

    with _Session(ws, month, scheme) as s:
        result = s.guard(lambda: pay.explain(s.ws, month, agent, s.schemes(), data=s.data()))
    if format is Format.json:
        print(json.dumps(result, ensure_ascii=False, indent=1, default=str))
        return
    print_explanation(console, result, rows)


@pay_app.command("compare")
def compare(
    ws: WS,
    month: Month,
    against: Annotated[list[Path], typer.Option("--against", help="the other scheme file(s) or folder (B)")],
    scheme: Schemes = None,
    format: Annotated[Format, typer.Option("--format")] = Format.table,
) -> None:
    """What-if: the month under schemes A (--scheme, default WS/schemes/) and B (--against), per agent."""
    from kefu.pay import compare as cmp
    from kefu.pay.payroll import compute as payroll_for

    with _Session(ws, month, scheme) as s:
        data, a, b = s.data(), s.schemes(), s.schemes(against)
        rows = cmp.compare(s.guard(lambda: payroll_for(data, a)), s.guard(lambda: payroll_for(data, b)))
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
    month: Month,
    kind: Annotated[
        Kind, typer.Option("--kind", help="attendance (出勤), test_scores (产品知识考试) or prizes (奖励)")
    ],
) -> None:
    """Import a month's attendance, test scores or prizes; replaces that month's rows of the kind (all rows checked first)."""
    from kefu.pay import inputs
    from kefu.pay.sources import known_agents
    from kefu.workspace import Workspace, WorkspaceError

    try:
        w = Workspace.open(ws)
    except WorkspaceError as exc:
        _fail(str(exc))
    except Exception as exc:  # the DuckDB file is held by `kefu serve`
        _fail(f"cannot open {ws}: {exc} (is `kefu serve` running on it?)")
    try:
        n = inputs.import_file(w.con, file, month, kind.value, known_agents(w))
    except inputs.InputError as exc:
        _fail(exc.problems)
    finally:
        w.close()
    console.print(
        f"{n} rows of {kind.value} for {month} imported from {file} (earlier {kind.value} rows of {month} replaced)"
    )


@pay_app.command("slip")
def slip(
    ws: WS,
    month: Month,
    agent: Annotated[str, typer.Option(help="account, e.g. '店铺:小王'")],
    html: Annotated[Path, typer.Option("--html", help="write the printable payslip (工资条) here")],
    scheme: Schemes = None,
) -> None:
    """Write an agent's printable payslip (Chinese, A4) as an HTML file."""
    from kefu.pay import api as pay
    from kefu.pay.slip import render_slip

    with _Session(ws, month, scheme) as s:
        result = s.guard(lambda: pay.explain(s.ws, month, agent, s.schemes(), data=s.data()))
    html.write_text(render_slip(result), encoding="utf-8")
    console.print(f"written: {html}")


@pay_app.command("settlement")
def settlement(
    ws: WS,
    month: Month,
    employer: Annotated[str | None, typer.Option(help="one vendor (default: every vendor)")] = None,
    scheme: Schemes = None,
    format: Annotated[Format, typer.Option("--format", help="table or json")] = Format.table,
    xlsx: Annotated[Path | None, typer.Option(help="write the settlement workbook (one sheet per vendor)")] = None,
) -> None:
    """Settlement per outsourcing vendor (外包结算单): each of the vendor's agents and the sum."""
    from kefu.pay.payroll import compute as payroll_for
    from kefu.pay.settlement import settlements

    with _Session(ws, month, scheme) as s:
        found = settlements(s.guard(lambda: payroll_for(s.data(), s.schemes())), employer)
    if employer and not found:
        _fail(f"no agent of vendor {employer!r} is paid in {month}")
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
    month: Annotated[str | None, typer.Option("--month", help="YYYY-MM, with --ws")] = None,
) -> None:
    """Validate scheme files (every problem with its file, line and key); with --ws and --month, also the assignment."""
    from kefu.pay.scheme import SchemeError, assign, load_schemes, select

    try:
        found = load_schemes(schemes)
    except SchemeError as exc:
        _fail(exc.problems)
    table = Table("方案 scheme", "生效 from", "文件 file", "组件 components")
    for sc in found:
        table.add_row(sc.name, sc.effective_from, sc.source, ", ".join(c.name for c in sc.components))
    console.print(table)
    if ws and month:
        with _Session(ws, month, schemes) as s:
            data = s.data()
            try:
                paid = assign(data.agents, select(found, month))
            except SchemeError as exc:
                _fail(exc.problems)
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
    table.add_column(heads[4], justify="right", footer=_money(sum(s.base for s in result.slips)))
    for n in names:
        table.add_column(
            n, justify="right", footer=_money(sum((s.line(n).amount for s in result.slips if s.line(n)), 0))
        )
    table.add_column("合计" if zh else "Total", justify="right", style="bold", footer=_money(result.total))
    for s in result.slips:
        cells = [s.line(n) for n in names]
        table.add_row(
            s.agent.agent,
            s.agent.team or "",
            s.agent.employer,
            f"{s.scheme} ({s.scheme_version})",
            _money(s.base),
            *("" if c is None else _money(c.amount) for c in cells),
            _money(s.total),
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


def _money(value) -> str:
    return f"{value:,.2f}"


def _csv(records: list[dict]) -> None:
    write_csv(sys.stdout, plain(records), list(records[0]) if records else [])


def print_explanation(out: Console, e: dict, limit: int) -> None:
    """A slip explained: lines with rule and formula, the values used, then the rows behind them."""
    from rich.panel import Panel

    from kefu.pay.explain import SECTIONS

    head = (
        f"[bold]{e['name']}[/bold] {e['agent']}  {e['team'] or ''}  {e['employer']}\n"
        f"{e['month']} · 方案 {e['scheme']} ({e['scheme_version']}) · {e['scheme_source']}\n"
        f"合计 [bold]¥{e['total']:,.2f}[/bold]"
    )
    out.print(Panel(head, title="工资条 explain", expand=False))
    lines = Table("项目", "金额", "规则", "计算", show_lines=True, title="各项")
    for line in e["lines"]:
        lines.add_row(line["component"], f"{line['amount']:,.2f}", line["rule"], line["formula"])
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
            t.add_row(h["zh"], h["shown"], "; ".join(f"{s['shown']} → +¥{s['gain']:,.2f}" for s in h["steps"]))
        out.print(t)
    if e.get("days_from_chats"):
        out.print("出勤天数取自有聊天记录的天数(本月未导入出勤表)")


def compare_table(rows: list[dict], summary: dict, month: str) -> Table:
    names = list(dict.fromkeys(c["component"] for r in rows for c in r["components"]))
    t = Table(
        title=f"{month} 方案对比 A → B: 合计 {summary['total_a']:,.2f} → {summary['total_b']:,.2f} "
        f"({summary['change']:+,.2f}); 增 {summary['gain']} 人, 减 {summary['lose']} 人, 不变 {summary['same']} 人"
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
            f"{r['change']:+,.2f}",
            *(f"{by[n]:+,.2f}" if n in by else "" for n in names),
        )
    return t


def settlement_tables(found: list[dict]) -> list[Table]:
    tables = []
    for v in found:
        t = Table(title=f"{v['employer']} 结算单 {v['month']}", show_footer=True)
        t.add_column("客服", footer="合计")
        t.add_column("基本工资", justify="right", footer=_money(v["base"]))
        for n in v["components"]:
            t.add_column(n, justify="right", footer=_money(sum(a["components"].get(n, 0) for a in v["agents"])))
        t.add_column("合计", justify="right", footer=_money(v["total"]))
        for a in v["agents"]:
            t.add_row(
                a["agent"],
                _money(a["base"]),
                *(_maybe(a["components"].get(n)) for n in v["components"]),
                _money(a["total"]),
            )
        tables.append(t)
    return tables


def _maybe(value) -> str:
    return "—" if value is None else _money(value)


def register(app: typer.Typer) -> None:
    app.add_typer(pay_app, name="pay")
