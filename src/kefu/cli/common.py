"""What every command group shares: the consoles, output formats, the error exit, opening a workspace."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from enum import Enum
from pathlib import Path
from typing import NoReturn

import typer
from rich.console import Console

from kefu.config import ConfigError
from kefu.workspace import Workspace, WorkspaceError, is_workspace

# Tables are wide: outside a terminal (pipes, CI logs) do not squeeze them into 80 columns.
console = Console(width=None if sys.stdout.isatty() else 220)
errors = Console(stderr=True, soft_wrap=True)  # one problem per line, never wrapped


class Format(str, Enum):
    json = "json"
    csv = "csv"
    table = "table"


def fail(*problems: str) -> NoReturn:
    """Print each problem and exit with code 2 (bad input or usage)."""
    for problem in problems:
        errors.print(f"[red]error:[/red] {problem}", highlight=False)
    raise typer.Exit(2)


@contextmanager
def workspace(ws: Path, *, write: bool = False) -> Iterator[Workspace]:
    """The workspace at `ws`, read-only unless `write`; a clear error when it is missing, broken or busy."""
    if not is_workspace(ws):
        fail(f"{ws} is not a kefu workspace (no kefu.duckdb); import data first: kefu import {ws} FILES")
    try:
        opened = Workspace.open(ws, read_only=not write)
    except (WorkspaceError, ConfigError) as exc:
        fail(str(exc))
    try:
        yield opened
    finally:
        opened.close()
