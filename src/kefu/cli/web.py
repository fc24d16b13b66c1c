"""`kefu serve`, `kefu user add/list`, `kefu report daily`, `kefu targets import`: thin wrappers over kefu.web, kefu.users, kefu.reports, kefu.targets."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table

console = Console()
errors = Console(stderr=True)

user_app = typer.Typer(help="Web users (用户) and roles.", no_args_is_help=True)
report_app = typer.Typer(help="Reports (报表).", no_args_is_help=True)
targets_app = typer.Typer(help="Monthly targets (月度目标).", no_args_is_help=True)


def _fail(message: str) -> None:
    errors.print(f"[red]error:[/red] {message}", highlight=False)
    raise typer.Exit(2)


def _open(ws: Path):
    from kefu.workspace import Workspace, WorkspaceError

    try:
        return Workspace.open(ws)
    except WorkspaceError as e:
        _fail(str(e))
    except Exception as e:  # DuckDB lock held by a running server
        _fail(f"cannot open {ws}: {e} (is `kefu serve` running on it? stop it, or use the web UI)")


def serve(
    ws: Path,
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port")] = 8000,
    admin_password: Annotated[Optional[str], typer.Option(help="create/replace user `admin` with this password")] = None,
    create_admin: Annotated[bool, typer.Option(help="create user `admin` with a generated password and print it")] = False,
    insecure_cookies: Annotated[bool, typer.Option(help="send session cookies over plain http (only behind a trusted LAN; localhost does not need it)")] = False,
) -> None:
    """Serve the web app for a workspace (one process holds the workspace file)."""
    import uvicorn

    from kefu.users import add_user
    from kefu.web.app import create_app, missing_assets

    if missing_assets():
        errors.print(f"[yellow]warning:[/yellow] {', '.join(missing_assets())} missing from kefu/web/static/vendor: "
                     "run `make assets` (npm ci + copy); pages work, charts and live sorting do not", highlight=False)

    if create_admin or admin_password:
        w = _open(ws)
        password = add_user(w.con, name="admin", role="admin", password=admin_password)
        w.close()
        console.print(f"admin user: [bold]admin[/bold]  password: [bold]{password}[/bold]")
    app = create_app(ws, secure_cookies=not insecure_cookies)
    console.print(f"kefu web: [bold]http://{host}:{port}/[/bold]  (API docs: http://{host}:{port}/docs)")
    uvicorn.run(app, host=host, port=port, log_level="warning")


@user_app.command("add")
def user_add(
    ws: Path,
    name: Annotated[str, typer.Option(help="login name, e.g. 小萍")],
    role: Annotated[str, typer.Option(help="admin, manager, qc, agent or vendor")],
    shop: Annotated[list[str], typer.Option(help="a shop this user sees (repeat for several)")] = [],
    agent: Annotated[Optional[str], typer.Option(help="role agent: the account (店铺:名字, or the name)")] = None,
    employer: Annotated[Optional[str], typer.Option(help="role vendor: the outsourcing company")] = None,
    password: Annotated[Optional[str], typer.Option(help="default: a generated one, printed once")] = None,
) -> None:
    """Create or replace a web user; prints the password."""
    from kefu.users import UserError, add_user

    w = _open(ws)
    try:
        pw = add_user(w.con, name=name, role=role, password=password, shops=shop, agent=agent, employer=employer)
    except UserError as e:
        _fail(str(e))
    finally:
        w.close()
    console.print(f"user [bold]{name}[/bold] ({role}) password: [bold]{pw}[/bold]")


@user_app.command("list")
def user_list(ws: Path) -> None:
    """List web users."""
    from kefu.users import list_users

    w = _open(ws)
    table = Table("name", "role", "shops", "agent", "employer")
    for u in list_users(w.con):
        table.add_row(u.name, u.role, ", ".join(u.shops), u.agent or "", u.employer or "")
    w.close()
    console.print(table)


@report_app.command("daily")
def report_daily(
    ws: Path,
    date: Annotated[str, typer.Option(help="YYYY-MM-DD (default: the latest day with data)")] = "",
    shop: Annotated[Optional[str], typer.Option(help="default: the first shop")] = None,
    xlsx: Annotated[Optional[Path], typer.Option(help="write the report as XLSX with charts")] = None,
    lang: Annotated[str, typer.Option("--lang", envvar="KEFU_LANG", help="zh (default) or en")] = "zh",
) -> None:
    """The daily report (日报) of a shop: team and agents vs previous day, last week, monthly targets."""
    from kefu import api
    from kefu.metrics.registry import BY_KEY
    from kefu.reports.daily import daily_report
    from kefu.reports.xlsx import write_daily_xlsx
    from kefu.targets import load
    from kefu.web.formatting import fmt, fmt_delta

    w = _open(ws)
    try:
        shops = sorted({r["shop"] for r in api.kpis(w, ["shop"])})
        if not shops:
            _fail(f"{ws} has no data")
        shop = shop or shops[0]
        if shop not in shops:
            _fail(f"no shop {shop!r}; shops: {', '.join(shops)}")
        days = sorted({r["day"] for r in api.kpis(w, ["shop", "day"]) if r["shop"] == shop})
        try:
            day = dt.date.fromisoformat(date) if date else dt.date.fromisoformat(days[-1])
        except ValueError:
            _fail(f"--date {date!r} is not YYYY-MM-DD")
        cache: dict = {}

        def kpis(by, f, t):
            if (by, f, t) not in cache:
                cache[(by, f, t)] = api.kpis(w, list(by), date_from=f, date_to=t)
            return cache[(by, f, t)]

        names = {r[0]: {"name": r[1], "team": r[2], "employer": r[3]} for r in w.con.execute("SELECT agent, name, team, employer FROM agents").fetchall()}
        report = daily_report(kpis, shop, day, load(w.con, day.strftime("%Y-%m"), [shop]), names)
    finally:
        w.close()
    table = Table(title=f"{shop} 日报 {day}" if lang == "zh" else f"{shop} daily report {day}")
    for col in ("指标", "当日", "较前日", "较上周同日", "本月累计", "月目标", "完成率") if lang == "zh" else ("metric", "day", "vs prev", "vs last week", "MTD", "target", "completion"):
        table.add_column(col)
    for r in report.team:
        k = r["metric"]
        table.add_row(BY_KEY[k].zh if lang == "zh" else BY_KEY[k].en, fmt(k, r["value"], lang), fmt_delta(k, r["vs_previous"], lang),
                      fmt_delta(k, r["vs_last_week"], lang), fmt(k, r["mtd"], lang), "" if r["target"] is None else fmt(k, r["target"], lang),
                      "" if r["completion"] is None else f"{r['completion'] * 100:.0f}%")
    console.print(table)
    if xlsx:
        write_daily_xlsx(report, xlsx, lang)
        console.print(f"written: {xlsx}")


@targets_app.command("import")
def targets_import(ws: Path, file: Path) -> None:
    """Import monthly targets from CSV/XLSX (columns month, shop, scope, subject, metric, value); all rows are validated first."""
    from kefu.targets import TargetError, import_file

    w = _open(ws)
    try:
        n = import_file(w.con, file)
    except TargetError as e:
        for p in e.problems:
            errors.print(f"[red]error:[/red] {p}", highlight=False)
        raise typer.Exit(2)
    finally:
        w.close()
    console.print(f"{n} targets imported from {file}")


def register(app: typer.Typer) -> None:
    """Add the web commands to the `kefu` CLI."""
    app.command("serve")(serve)
    app.add_typer(user_app, name="user")
    app.add_typer(report_app, name="report")
    app.add_typer(targets_app, name="targets")
