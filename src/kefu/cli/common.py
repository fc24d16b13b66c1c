"""What every command group shares, declared once: the consoles, the options every group takes, the printer of
records, the error exit and its one handler, and opening a workspace.

`App` is the Typer app of every group: each command it registers runs inside `handled`, which turns any KefuError
(kefu.errors: bad input, a missing or busy workspace, a wrong scheme or rule file …) and an unreadable file into
`error: …` lines on stderr and exit code 2. So no command maps errors itself.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, NoReturn, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from kefu.engines.select import Engine
from kefu.errors import KefuError
from kefu.month import Month, MonthError
from kefu.workspace import Workspace, WorkspaceError, is_workspace

# Tables are wide: outside a terminal (pipes, CI logs) do not squeeze them into 80 columns.
console = Console(width=None if sys.stdout.isatty() else 220)
errors = Console(stderr=True, soft_wrap=True)  # one problem per line, never wrapped


class Format(str, Enum):
    json = "json"
    csv = "csv"
    table = "table"


# -- options more than one command takes ---------------------------------------------------------------------------

FormatOption = Annotated[Format, typer.Option("--format", help="json, csv or table")]
Lang = Annotated[str, typer.Option("--lang", envvar="KEFU_LANG", help="zh (default) or en")]
Day = Annotated[dt.datetime | None, typer.Option(formats=["%Y-%m-%d"], help="YYYY-MM-DD")]
From = Annotated[dt.datetime | None, typer.Option("--from", formats=["%Y-%m-%d"], help="first day (YYYY-MM-DD)")]
To = Annotated[dt.datetime | None, typer.Option("--to", formats=["%Y-%m-%d"], help="last day (YYYY-MM-DD)")]
EngineOption = Annotated[
    Engine, typer.Option("--engine", help="duckdb (default, inside kefu) or spark (docs/scale.md)")
]
MasterOption = Annotated[
    str | None,
    typer.Option("--master", help="with --engine spark: the cluster's spark://HOST:PORT (default local[2], in kefu)"),
]


def month_text(text: str) -> str:
    """A `--month` as kefu.month reads it (a usage error, exit code 2, when it is not YYYY-MM)."""
    try:
        return str(Month.parse(text))
    except MonthError as exc:
        raise typer.BadParameter(str(exc)) from None


MonthOption = Annotated[str, typer.Option("--month", parser=month_text, help="YYYY-MM")]


def day_of(value: dt.datetime | None) -> dt.date | None:
    """The day of a date option (Typer parses YYYY-MM-DD into a datetime)."""
    return value.date() if value else None


# -- the error exit and its one handler ----------------------------------------------------------------------------


def fail(*problems: str) -> NoReturn:
    """Print each problem and exit with code 2 (bad input or usage)."""
    for problem in problems:
        errors.print(f"[red]error:[/red] {problem}", highlight=False)
    raise typer.Exit(2)


F = TypeVar("F", bound=Callable[..., Any])


def handled(command: F) -> F:
    """`command` with the CLI's one error handler: a KefuError prints its problems (KefuError.detail, one line
    each) and an unreadable or unwritable file its reason, then exit code 2."""
    if getattr(command, "handles_errors", False):
        return command

    @functools.wraps(command)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except KefuError as exc:
            detail = exc.detail()
            fail(*([detail] if isinstance(detail, str) else detail))
        except OSError as exc:  # a file named on the command line: missing, unreadable, a folder …
            fail(str(exc))

    run.handles_errors = True  # type: ignore[attr-defined]
    return run  # type: ignore[return-value]


class App(typer.Typer):
    """A Typer app whose every command runs with the one error handler (`handled`)."""

    def command(self, *args: Any, **kwargs: Any) -> Callable[[F], F]:
        register = super().command(*args, **kwargs)

        def decorator(command: F) -> F:
            register(handled(command))
            return command

        return decorator


# -- opening a workspace -------------------------------------------------------------------------------------------


@contextmanager
def workspace(path: Path, *, write: bool = False, create: bool = False, files: bool = False) -> Iterator[Workspace]:
    """The one way a command opens its data: the workspace at `path`, read-only unless `write` (waiting while
    another process holds it, kefu.workspace.connect). `create` makes it when missing; with `files` a folder of
    canonical files is read into an in-memory workspace instead (kefu.api.open_data). Closed at the end; a missing,
    broken or busy workspace is a WorkspaceError, which the handler reports."""
    if files and not is_workspace(path):
        from kefu import api

        with api.open_data(path) as opened:
            yield opened
        return
    if not (create or is_workspace(path)):
        raise WorkspaceError(
            f"{path} is not a kefu workspace (no kefu.duckdb); import data first: kefu import {path} FILES"
        )
    opened = Workspace.open(path, create=create, read_only=not write)
    try:
        yield opened
    finally:
        opened.close()


# -- printing records ----------------------------------------------------------------------------------------------


def plain(value: Any) -> Any:
    """A value as JSON and CSV carry it: times as YYYY-MM-DD HH:MM:SS, days as YYYY-MM-DD."""
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def cell_text(value: Any) -> str:
    """A table cell: — for nothing, floats without trailing zeros."""
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def emit(
    records: list[dict],
    format: Format,
    *,
    title: str = "",
    columns: Iterable[str] | None = None,
    heading: Callable[[str], str] = str,
    cell: Callable[[str, Any], str] = lambda key, value: cell_text(value),
    right: Iterable[str] = (),
) -> None:
    """Records as JSON (one object each), CSV with a header, or a Rich table of `columns` (default: every key), each
    headed by `heading(key)` and shown by `cell(key, value)`, the `right` ones right-aligned."""
    from kefu.exports import write_csv

    records = [{k: plain(v) for k, v in r.items()} for r in records]
    keys = list(columns) if columns is not None else list(records[0]) if records else []
    if format is Format.json:
        print(json.dumps(records, ensure_ascii=False, default=str))
    elif format is Format.csv:
        write_csv(sys.stdout, records, list(records[0]) if records else keys)
    else:
        right = set(right)
        table = Table(title=title or None, header_style="bold")
        for key in keys:
            table.add_column(
                heading(key),
                justify="right" if key in right else "left",
                overflow="fold",
                max_width=48 if key == "text" else None,
            )
        for r in records:
            table.add_row(*(cell(key, r.get(key)) for key in keys))
        console.print(table)
