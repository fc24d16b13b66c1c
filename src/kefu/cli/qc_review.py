"""`kefu qc review …` and `kefu qc ledger …`: thin wrappers over kefu.qc.review and kefu.qc.ledger (docs/qc-review.md)."""

from __future__ import annotations

import datetime as dt
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from kefu.cli.common import (
    App,
    Day,
    Format,
    FormatOption,
    From,
    MonthOption,
    To,
    console,
    day_of,
    emit,
    month_text,
    workspace,
)

review_app = App(help="Manual review (人工复核) of QC findings.", no_args_is_help=True)
ledger_app = App(
    help="互查 mutual-inspection ledger: peer reports and each agent's monthly fund.", no_args_is_help=True
)


class Decision(str, Enum):
    confirmed = "confirmed"
    rejected = "rejected"
    open = "open"


def _emit(records: list[dict], format: Format, title: str, columns: tuple[str, ...] | None = None) -> None:
    """The records, only their `columns` when given (in every format)."""
    if columns:
        records = [{c: r.get(c) for c in columns} for r in records]
    emit(records, format, title=title, columns=columns)


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
    date_from: From = None,
    date_to: To = None,
    rule: Annotated[str | None, typer.Option(help="rule id")] = None,
    severity: Annotated[str | None, typer.Option(help="low, medium, high or critical")] = None,
    limit: Annotated[int, typer.Option(help="at most this many (0 = all)")] = 100,
    format: FormatOption = Format.table,
) -> None:
    """The review queue: findings with their review, open ones first, then the most severe."""
    from kefu.qc.review import queue

    with workspace(ws, write=True) as w:
        rows = queue(
            w.con,
            status=status,
            agent=agent,
            date_from=day_of(date_from),
            date_to=day_of(date_to),
            rule=rule,
            severity=severity,
            limit=limit or None,
        )
    _emit(rows, format, "QC findings", None if format is Format.json else QUEUE_COLUMNS)


def _review(ws: Path, finding_id: str, status: str, reviewer: str, comment: str) -> None:
    from kefu.qc.review import set_status

    with workspace(ws, write=True) as w:
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
    month: MonthOption,
    shop: Annotated[str | None, typer.Option()] = None,
    format: FormatOption = Format.table,
) -> None:
    """Each agent's fund for the month: errors, costs, deductions, balance (kefu.toml [qc.mutual])."""
    from kefu.qc.ledger import month_ledger

    with workspace(ws) as w:
        rows = month_ledger(w, month, shop)
    _emit(rows, format, f"互查 {month}")


@ledger_app.command("errors")
def ledger_errors(
    ws: Path,
    month: MonthOption,
    shop: Annotated[str | None, typer.Option()] = None,
    format: FormatOption = Format.table,
) -> None:
    """The errors behind the month's deductions, each with its report or finding."""
    from kefu.qc.ledger import month_errors

    with workspace(ws) as w:
        rows = month_errors(w, month, shop)
    _emit(rows, format, f"互查 {month}")


@ledger_app.command("public")
def ledger_public(
    ws: Path,
    month: MonthOption,
    shop: Annotated[str, typer.Option()],
    format: FormatOption = Format.table,
) -> None:
    """The month's errors of a shop with who made them hidden (匿名), as agents see them."""
    from kefu.qc.ledger import public_list

    with workspace(ws) as w:
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

    with workspace(ws, write=True) as w:
        report_id = file_report(
            w.con,
            reporter=reporter,
            description=description,
            finding_id=finding,
            shop=shop,
            agent=agent,
            day=day_of(day),
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

    with workspace(ws, write=True) as w:
        found = decide(w.con, report_id, decision.value, by)
    console.print(f"report {report_id}: {found['status']} ({found['agent']}, {found['day']})")


@ledger_app.command("reports")
def ledger_reports(
    ws: Path,
    month: Annotated[str | None, typer.Option(parser=month_text, help="YYYY-MM")] = None,
    shop: Annotated[str | None, typer.Option()] = None,
    status: Annotated[str | None, typer.Option(help="open, confirmed or rejected")] = None,
    format: FormatOption = Format.table,
) -> None:
    """Peer reports, open ones first."""
    from kefu.qc.ledger import reports

    with workspace(ws, write=True) as w:
        rows = reports(w.con, month=month, shops=[shop] if shop else None, status=status)
    _emit(rows, format, "互查 reports")


def register(qc_app: typer.Typer) -> None:
    """Add `review` and `ledger` to `kefu qc`."""
    qc_app.add_typer(review_app, name="review")
    qc_app.add_typer(ledger_app, name="ledger")
