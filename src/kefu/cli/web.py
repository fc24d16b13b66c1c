"""`kefu serve`, `kefu user add/list/passwd/disable/enable`, `kefu report daily`, `kefu targets import`:
thin wrappers over kefu.web, kefu.users, kefu.reports, kefu.targets.

Every command works while `kefu serve` runs: the server keeps no hold on
kefu.duckdb (it serves an in-memory snapshot), and a command that finds the
file held for a moment (the server writing, an import running) waits for it
(kefu.workspace.connect, KEFU_LOCK_WAIT seconds), then fails with a clear message."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from kefu.cli.common import App, EngineOption, Lang, MasterOption, console, errors, fail, handled, workspace
from kefu.engines.select import Engine
from kefu.formatting import fmt, fmt_delta, label
from kefu.month import Month
from kefu.workspace import Workspace

user_app = App(help="Web users (用户) and roles.", no_args_is_help=True)
report_app = App(help="Reports (报表).", no_args_is_help=True)
targets_app = App(help="Monthly targets (月度目标).", no_args_is_help=True)


@contextmanager
def _web_workspace(ws: Path) -> Iterator[Workspace]:
    """The workspace opened for writing (kefu.cli.common.workspace), with the web's tables in place."""
    from kefu.targets import ensure_table
    from kefu.users import ensure_tables

    with workspace(ws, write=True) as w:
        ensure_tables(w.con)
        ensure_table(w.con)
        yield w


def serve(
    ws: Path,
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port")] = 8000,
    admin_password: Annotated[str | None, typer.Option(help="create/replace user `admin` with this password")] = None,
    create_admin: Annotated[
        bool, typer.Option(help="create user `admin` with a generated password and print it")
    ] = False,
    insecure_cookies: Annotated[
        bool,
        typer.Option(
            help="send session cookies over plain http (only behind a trusted LAN; localhost does not need it)"
        ),
    ] = False,
    check_every: Annotated[
        float, typer.Option(help="seconds between checks of the workspace file for imports and other changes")
    ] = 2.0,
) -> None:
    """Serve the web app for a workspace (from an in-memory snapshot: every other command keeps working)."""
    import uvicorn

    from kefu.users import add_user
    from kefu.web.app import create_app, missing_assets

    if missing_assets():
        errors.print(
            f"[yellow]warning:[/yellow] {', '.join(missing_assets())} missing from kefu/web/static/vendor: "
            "run `make assets` (npm ci + copy); pages work, charts and live sorting do not",
            highlight=False,
        )

    if create_admin or admin_password:
        with _web_workspace(ws) as w:
            password = add_user(w.con, name="admin", role="admin", password=admin_password)
        console.print(f"admin user: [bold]admin[/bold]  password: [bold]{password}[/bold]")
    app = create_app(ws, secure_cookies=not insecure_cookies, check_every=check_every)
    web = app.state.store.ws.config.web  # kefu.toml [web] (docs/security.md)
    docs = "" if web.api_docs == "off" else f"  (API docs: http://{host}:{port}/docs)"
    console.print(f"kefu web: [bold]http://{host}:{port}/[/bold]{docs}")
    uvicorn.Server(uvicorn_config(app, host, port, web.trusted_proxies)).run()


def uvicorn_config(app, host: str, port: int, trusted_proxies: tuple[str, ...] = ()):
    """uvicorn's settings: X-Forwarded-For / -Proto are believed only from `trusted_proxies` (by default uvicorn
    believes them from 127.0.0.1, which would let anyone on the machine, or behind a local proxy, pick their address
    and so escape the per-address login throttle)."""
    import uvicorn

    proxies = (
        {"proxy_headers": True, "forwarded_allow_ips": list(trusted_proxies)}
        if trusted_proxies
        else {"proxy_headers": False}
    )
    return uvicorn.Config(app, host=host, port=port, log_level="warning", **proxies)


@user_app.command("add")
def user_add(
    ws: Path,
    name: Annotated[str, typer.Option(help="login name, e.g. 小萍")],
    role: Annotated[str, typer.Option(help="admin, manager, qc, agent or vendor")],
    shop: Annotated[list[str], typer.Option(help="a shop this user sees (repeat for several)")] = [],  # noqa: B006 (Typer builds a new list)
    agent: Annotated[str | None, typer.Option(help="role agent: the account (店铺:名字, or the name)")] = None,
    employer: Annotated[str | None, typer.Option(help="role vendor: the outsourcing company")] = None,
    password: Annotated[str | None, typer.Option(help="default: a generated one, printed once")] = None,
) -> None:
    """Create or replace a web user (checked against the workspace's shops, accounts and companies); prints the password."""
    from kefu.users import add_user, roster, scope_problems, validate

    with _web_workspace(ws) as w:
        full_agent = f"{shop[0]}:{agent}" if agent and ":" not in agent and shop else agent
        problems = validate(role=role, shops=shop, agent=full_agent, employer=employer)
        if not problems:
            problems = scope_problems(role=role, shops=shop, agent=full_agent, employer=employer, roster=roster(w.con))
        if problems:
            fail(*problems)
        pw = add_user(w.con, name=name, role=role, password=password, shops=shop, agent=agent, employer=employer)
    console.print(f"user [bold]{name}[/bold] ({role}) password: [bold]{pw}[/bold]")


@user_app.command("list")
def user_list(ws: Path) -> None:
    """List web users (disabled ones too)."""
    from kefu.users import list_users

    table = Table("name", "role", "shops", "agent", "employer", "status")
    with _web_workspace(ws) as w:
        for u in list_users(w.con, include_disabled=True):
            table.add_row(
                u.name,
                u.role,
                ", ".join(u.shops),
                u.agent or "",
                u.employer or "",
                "disabled" if u.disabled else "active",
            )
    console.print(table)


@user_app.command("passwd")
def user_passwd(
    ws: Path,
    name: Annotated[str, typer.Option(help="login name")],
    generate: Annotated[
        bool, typer.Option("--generate", help="generate a password and print it, instead of asking for one")
    ] = False,
) -> None:
    """Set a user's password (asked twice, or generated); every session of the user ends."""
    from kefu.users import PASSWORD_RULE, set_password

    password = None
    if not generate:
        password = typer.prompt(f"new password for {name} ({PASSWORD_RULE})", hide_input=True, confirmation_prompt=True)
    with _web_workspace(ws) as w:
        pw = set_password(w.con, name, password)
    console.print(f"password of [bold]{name}[/bold] changed" + (f": [bold]{pw}[/bold]" if generate else ""))


def _set_disabled(ws: Path, name: str, disabled: bool) -> None:
    from kefu.users import set_disabled

    with _web_workspace(ws) as w:
        set_disabled(w.con, name, disabled)
    console.print(f"user [bold]{name}[/bold] {'disabled: every session ended' if disabled else 'enabled'}")


@user_app.command("disable")
def user_disable(ws: Path, name: Annotated[str, typer.Option(help="login name")]) -> None:
    """Disable a user: logging in is refused and every session ends (the last admin cannot be disabled)."""
    _set_disabled(ws, name, True)


@user_app.command("enable")
def user_enable(ws: Path, name: Annotated[str, typer.Option(help="login name")]) -> None:
    """Enable a disabled user again (with the password they had)."""
    _set_disabled(ws, name, False)


@report_app.command("daily")
def report_daily(
    ws: Path,
    date: Annotated[
        dt.datetime | None, typer.Option(formats=["%Y-%m-%d"], help="YYYY-MM-DD (default: the latest day with data)")
    ] = None,
    shop: Annotated[str | None, typer.Option(help="default: the first shop")] = None,
    xlsx: Annotated[Path | None, typer.Option(help="write the report as XLSX with charts")] = None,
    lang: Lang = "zh",
    engine: EngineOption = Engine.duckdb,
    master: MasterOption = None,
) -> None:
    """The daily report (日报) of a shop: team and agents vs previous day, last week, monthly targets."""
    from kefu import api
    from kefu.cli import render
    from kefu.qc import day_tally
    from kefu.reports.daily import attach_qc, daily_report
    from kefu.reports.xlsx import write_daily_xlsx
    from kefu.targets import load

    with workspace(ws) as w:
        shops = sorted({r["shop"] for r in api.kpis(w, ["shop"], engine=engine, master=master)})
        if not shops:
            fail(f"{ws} has no data")
        shop = shop or shops[0]
        if shop not in shops:
            fail(f"no shop {shop!r}; shops: {', '.join(shops)}")
        days = sorted(
            {r["day"] for r in api.kpis(w, ["shop", "day"], engine=engine, master=master) if r["shop"] == shop}
        )
        day = date.date() if date else dt.date.fromisoformat(days[-1])
        cache: dict = {}

        def kpis(by, f, t):
            if (by, f, t) not in cache:
                cache[(by, f, t)] = api.kpis(w, list(by), date_from=f, date_to=t, engine=engine, master=master)
            return cache[(by, f, t)]

        names = {
            r[0]: {"name": r[1], "team": r[2], "employer": r[3], "role": r[4]}
            for r in w.con.execute("SELECT agent, name, team, employer, role FROM agents").fetchall()
        }
        report = daily_report(
            kpis, shop, day, load(w.con, str(Month.of(day)), [shop]), names, api.data_until(w.con, shop)
        )
        report = attach_qc(report, day_tally(w.con, shop, day))  # QC figures, when a QC run covered the day
    table = Table(title=f"{shop} 日报 {day}" if lang == "zh" else f"{shop} daily report {day}")
    for col in (
        ("指标", "当日", "较前日", "较上周同日", "本月累计", "月目标", "完成率")
        if lang == "zh"
        else ("metric", "day", "vs prev", "vs last week", "MTD", "target", "completion")
    ):
        table.add_column(col)
    mark = render.provisional_words(lang)[0]
    for r in report.team:
        k = r["metric"]
        later = f" {mark}" if k in report.provisional else ""  # can still change (kefu.metrics.provisional)
        table.add_row(
            label(k, lang),
            fmt(k, r["value"], lang) + later,
            fmt_delta(k, r["vs_previous"], lang),
            fmt_delta(k, r["vs_last_week"], lang),
            fmt(k, r["mtd"], lang) + later,
            "" if r["target"] is None else fmt(k, r["target"], lang),
            "" if r["completion"] is None else f"{r['completion'] * 100:.0f}%{later}",
        )
    console.print(table)
    if note := render.provisional_note(report.provisional.values(), lang, report.data_until):
        console.print(note, highlight=False)
    if report.teams:
        console.print(_teams_table(report, lang))
    if report.qc:
        console.print(_qc_table(report, lang))
    if xlsx:
        write_daily_xlsx(report, xlsx, lang)
        console.print(f"written: {xlsx}")


def _qc_table(report, lang: str) -> Table:
    """Each agent's QC score, findings and confirmed findings of the day (docs/qc.md)."""
    zh = lang == "zh"
    table = Table(title=f"质检 {report.day}" if zh else f"QC {report.day}")
    for col in (
        ("客服", "质检分", "质检问题", "已确认", "待复核")
        if zh
        else ("agent", "QC score", "findings", "confirmed", "open")
    ):
        table.add_column(col, justify="left" if col in ("客服", "agent") else "right")
    for a in sorted(report.agents, key=lambda a: (a["qc"]["qc_score"], a["name"])):
        q = a["qc"]
        table.add_row(a["name"], f"{q['qc_score']:g}", str(q["findings"]), str(q["confirmed"]), str(q["open"]))
    return table


def _teams_table(report, lang: str) -> Table:
    """Each team's month to date against its team targets (the gap: month to date − monthly target)."""
    zh = lang == "zh"
    table = Table(title=f"组别目标 {report.month}" if zh else f"Team targets {report.month}")
    for col in (
        ("组别", "指标", "本月累计", "月目标", "按进度应达", "完成率", "差距")
        if zh
        else ("team", "metric", "MTD", "target", "expected by now", "completion", "gap")
    ):
        table.add_column(col)
    for team in report.teams:
        name = team["team"] or ("未分组" if zh else "no team")
        for r in team["targets"]:
            k = r["metric"]
            done = "" if r["completion"] is None else f"{r['completion'] * 100:.0f}%"
            mark = {True: " ✓", False: " ✗"}.get(r["on_track"], "")
            table.add_row(
                name,
                label(k, lang),
                fmt(k, r["mtd"], lang),
                fmt(k, r["target"], lang),
                fmt(k, r["expected_to_date"], lang),
                done + mark,
                fmt_delta(k, r["gap"], lang),
            )
        if not team["targets"]:
            table.add_row(
                name,
                label("sales_amount", lang),
                fmt("sales_amount", team["figures"]["sales_amount"], lang),
                "",
                "",
                "",
                "",
            )
    return table


@targets_app.command("import")
def targets_import(ws: Path, file: Path) -> None:
    """Import monthly targets from CSV/XLSX (columns month, shop, scope, subject, metric, value); all rows are validated first,
    shops, teams and accounts against the workspace."""
    from kefu.targets import import_file
    from kefu.users import roster

    with _web_workspace(ws) as w:
        n = import_file(w.con, file, roster(w.con))
    console.print(f"{n} targets imported from {file}")


def register(app: typer.Typer) -> None:
    """Add the web commands to the `kefu` CLI."""
    app.command("serve")(handled(serve))
    app.add_typer(user_app, name="user")
    app.add_typer(report_app, name="report")
    app.add_typer(targets_app, name="targets")
