"""Safe cells for every XLSX and CSV kefu writes (formula injection, OWASP "CSV Injection").

Agent names, teams, employers, scheme names and buyer nicks come from the
shop's own exports and from whoever typed them: a nick such as
``=HYPERLINK("http://evil","点我")`` must reach the spreadsheet as text.

- XLSX: text goes through ``write_string`` (never ``write``, which turns a
  leading ``=`` into a live formula), and workbooks are opened with
  ``strings_to_formulas`` off as a second guard. A text cell is never
  evaluated, so it keeps its exact characters.
- CSV has no cell types: OWASP's rule prefixes ``'`` to every text cell that
  starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return, so Excel
  and WPS show it as text. Numbers are written as they are (−3.5 is a number,
  not a formula).
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, BinaryIO, TextIO

import xlsxwriter
from xlsxwriter.format import Format
from xlsxwriter.worksheet import Worksheet

#: What a spreadsheet reads as the start of a formula (OWASP CSV Injection).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def workbook(target: Path | BinaryIO) -> xlsxwriter.Workbook:
    """A workbook that never turns a string into a formula or a link by itself."""
    return xlsxwriter.Workbook(target, {"in_memory": True, "strings_to_formulas": False, "strings_to_urls": False})


def xlsx_text(ws: Worksheet, row: int, col: int, value: Any, fmt: Format | None = None) -> None:
    """A text cell (blank for None or ""), whatever characters the text starts with."""
    if value is None or value == "":
        ws.write_blank(row, col, None, fmt)
    else:
        ws.write_string(row, col, str(value), fmt)


def xlsx_text_row(ws: Worksheet, row: int, col: int, values: Iterable[Any], fmt: Format | None = None) -> None:
    """A row of text cells from `col` on (headers, names)."""
    for i, value in enumerate(values):
        xlsx_text(ws, row, col + i, value, fmt)


def csv_safe(value: Any) -> Any:
    """The value for a CSV cell: text that a spreadsheet would run as a formula gets a leading ``'``."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def csv_row(values: Sequence[Any]) -> list[Any]:
    return [csv_safe(v) for v in values]


def write_csv(out: TextIO, records: Iterable[Mapping[str, Any]], fieldnames: Sequence[str]) -> None:
    """Records as CSV with a header row, every text cell made safe (the CLI's ``--format csv``)."""
    writer = csv.DictWriter(out, fieldnames=list(fieldnames))
    writer.writerow({k: csv_safe(k) for k in fieldnames})
    writer.writerows({k: csv_safe(v) for k, v in r.items()} for r in records)
