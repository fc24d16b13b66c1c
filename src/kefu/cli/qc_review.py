"""`kefu qc review …` and `kefu qc ledger …`: thin wrappers over kefu.qc.review and kefu.qc.ledger (docs/qc-review.md)."""

from __future__ import annotations

import datetime as dt
import json
import sys
from contextlib import contextmanager
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from kefu.cli.common import Format, console, fail, workspace
from kefu.exports import write_csv

review_app = typer.Typer(help="Manual review (人工复核) of QC findings.", no_args_is_help=True)
ledger_app = typer.Typer(
    help="互查 mutual-inspection ledger: peer reports and each agent's monthly fund.", no_args_is_help=True
)

Day = Annotated[dt.datetime | None, typer.Option(formats=["%Y-%m-%d"])]
Month = Annotated[str, typer.Option(help="YYYY-MM")]


class Decision(str, Enum):
    confirmed = "confirmed"
    rejected = "rejected"
    open = "open"


@contextmanager
def _refusals():
    """A ReviewError / ReportError is the user's mistake: say why, exit 2."""
    from kefu.qc.ledger import ReportError
    from kefu.qc.review import ReviewError

    try:
        yield
    except (ReviewError, ReportError) as e:
        fail(str(e))


def _emit(records: list[dict], format: Format, title: str, columns: tuple[str, ...] | None = None) -> None:
    if columns:
        records = [{c: r.get(c) for c in columns} for r in records]
    if format is Format.json:
        print(json.dumps(records, ensure_ascii=False, default=str))
    elif format is Format.csv:
        write_csv(sys.stdout, records, list(records[0]) if records else list(columns or ()))
    else:
        table = Table(title=title)
        for key in records[0] if records else columns or ():
            table.add_column(key)
        for r in records:
            table.add_row(*("" if v is None else str(v) for v in r.values()))
        console.print(table)


def _date(value: dt.datetime | None) -> dt.date | None:
    return value.date() if value else None


# -- review ---------------------------------------------------------------------------------------

QUEUE_COLUMNS = (
    "finding_id",
    "status",
    "severity",
    "agent",
    "buyer",
    "ts",
    "rule_name",
    "match",
    "reviewer",
    "comment",
)


@review_app.command("list")
def review_list(
    ws: Path,
    status: Annotated[str | None, typer.Option(help="open, confirmed or dismissed")] = None,
    agent: Annotated[str | None, typer.Option(help="account, e.g. 'shop:ann'")] = None,
    date_from: Annotated[dt.datetime | None, typer.Option("--from", formats=["%Y-%m-%d"])] = None,
    date_to: Annotated[dt.datetime | None, typer.Option("--to", formats=["%Y-%m-%d"])] = None,
    rule: Annotated[str | None, typer.Option(help="rule id")] = None,
    severity: Annotated[str | None, typer.Option(help="low, medium, high or critical")] = None,
    limit: Annotated[int, typer.Option(help="at most this many (0 = all)")] = 100,
    format: Annotated[Format, typer.Option("--format")] = Format.table,
) -> None:
    """The review queue: findings with their review, open ones first, then the most severe."""
    from kefu.qc.review import queue

    with workspace(ws, write=True) as w, _refusals():
        rows = queue(
            w.con,
            status=status,
            agent=agent,
            date_from=_date(date_from),
            date_to=_date(date_to),
            rule=rule,
            severity=severity,
            limit=limit or None,
        )
    _emit(rows, format, "QC findings", None if format is Format.json else QUEUE_COLUMNS)


def _review(ws: Path, finding_id: str, status: str, reviewer: str, comment: str) -> None:
    from kefu.qc.review import set_status

    with workspace(ws, write=True) as w, _refusals():
        found = set_status(w.con, finding_id, status, reviewer, comment)
    console.print(f"{finding_id}: {found['status']} by {found['reviewer']} ({found['agent']}, {found['rule_name']})")


@review_app.command("confirm")
def review_confirm(
    ws: Path,
    finding_id: str,
    reviewer: Annotated[str, typer.Option(help="who reviewed it")],
    comment: Annotated[str, typer.Option(help="shown to the agent with the finding")] = "",
) -> None:
    """Confirm a finding: it becomes the agent's feedback and counts for pay and the 互查 ledger."""
    _review(ws, finding_id, "confirmed", reviewer, comment)


@review_app.command("dismiss")
def review_dismiss(
    ws: Path,
    finding_id: str,
    reviewer: Annotated[str, typer.Option(help="who reviewed it")],
    comment: Annotated[str, typer.Option(help="why it is not an error")] = "",
) -> None:
    """Dismiss a finding (a false alarm)."""
    _review(ws, finding_id, "dismissed", reviewer, comment)


@review_app.command("reopen")
def review_reopen(ws: Path, finding_id: str) -> None:
    """Undo the review of a finding: it is open again."""
    from kefu.qc.review import clear_status

    with workspace(ws, write=True) as w:
        clear_status(w.con, finding_id)
    console.print(f"{finding_id}: open")


# -- ledger ---------------------------------------------------------------------------------------


@ledger_app.command("month")
def ledger_month(
    ws: Path,
    month: Month,
    shop: Annotated[str | None, typer.Option()] = None,
    format: Annotated[Format, typer.Option("--format")] = Format.table,
) -> None:
    """Each agent's fund for the month: errors, costs, deductions, balance (kefu.toml [qc.mutual])."""
    from kefu.qc.ledger import month_ledger

    with workspace(ws) as w, _refusals():
        rows = month_ledger(w, month, shop)
    _emit(rows, format, f"互查 {month}")


@ledger_app.command("errors")
def ledger_errors(
    ws: Path,
    month: Month,
    shop: Annotated[str | None, typer.Option()] = None,
    format: Annotated[Format, typer.Option("--format")] = Format.table,
) -> None:
    """The errors behind the month's deductions, each with its report or finding."""
    from kefu.qc.ledger import month_errors

    with workspace(ws) as w, _refusals():
        rows = month_errors(w, month, shop)
    _emit(rows, format, f"互查 {month}")


@ledger_app.command("public")
def ledger_public(
    ws: Path,
    month: Month,
    shop: Annotated[str, typer.Option()],
    format: Annotated[Format, typer.Option("--format")] = Format.table,
) -> None:
    """The month's errors of a shop with who made them hidden (匿名), as agents see them."""
    from kefu.qc.ledger import public_list

    with workspace(ws) as w, _refusals():
        rows = public_list(w, month, shop)
    _emit(rows, format, f"互查 {month} {shop}", ("day", "source", "description", "cost"))


@ledger_app.command("report")
def ledger_report(
    ws: Path,
    reporter: Annotated[str, typer.Option(help="the peer who found it (their account)")],
    description: Annotated[str, typer.Option(help="what was wrong")],
    finding: Annotated[str | None, typer.Option(help="a QC finding id (shop, agent and day come from it)")] = None,
    shop: Annotated[str | None, typer.Option()] = None,
    agent: Annotated[str | None, typer.Option(help="the account that made the error")] = None,
    day: Day = None,
    buyer: Annotated[str | None, typer.Option(help="with --ts: the message the error is in")] = None,
    ts: Annotated[
        dt.datetime | None, typer.Option(formats=["%Y-%m-%d %H:%M:%S"], help="'YYYY-MM-DD HH:MM:SS' of the message")
    ] = None,
) -> None:
    """Record a peer's report of a colleague's error (open until a supervisor decides)."""
    from kefu.qc.ledger import file_report

    with workspace(ws, write=True) as w, _refusals():
        report_id = file_report(
            w.con,
            reporter=reporter,
            description=description,
            finding_id=finding,
            shop=shop,
            agent=agent,
            day=_date(day),
            buyer=buyer,
            ts=ts,
        )
    console.print(f"report {report_id}: open")


@ledger_app.command("decide")
def ledger_decide(
    ws: Path,
    report_id: str,
    decision: Decision,
    by: Annotated[str, typer.Option("--by", help="the supervisor deciding")],
) -> None:
    """Confirm or reject a peer report (open undoes the decision)."""
    from kefu.qc.ledger import decide

    with workspace(ws, write=True) as w, _refusals():
        found = decide(w.con, report_id, decision.value, by)
    console.print(f"report {report_id}: {found['status']} ({found['agent']}, {found['day']})")


@ledger_app.command("reports")
def ledger_reports(
    ws: Path,
    month: Annotated[str | None, typer.Option(help="YYYY-MM")] = None,
    shop: Annotated[str | None, typer.Option()] = None,
    status: Annotated[str | None, typer.Option(help="open, confirmed or rejected")] = None,
    format: Annotated[Format, typer.Option("--format")] = Format.table,
) -> None:
    """Peer reports, open ones first."""
    from kefu.qc.ledger import reports

    with workspace(ws, write=True) as w, _refusals():
        rows = reports(w.con, month=month, shops=[shop] if shop else None, status=status)
    _emit(rows, format, "互查 reports")


def register(qc_app: typer.Typer) -> None:
    """Add `review` and `ledger` to `kefu qc`."""
    qc_app.add_typer(review_app, name="review")
    qc_app.add_typer(ledger_app, name="ledger")
