"""Which real export a file is, from its content (never from its name alone).

Order exports are recognised by their header row, wherever it is among the
first rows; a 千牛 chat by a "sender time" header line among its first lines.
Canonical files (messages.csv, orders.parquet, …) match none of them.
"""

from __future__ import annotations

import csv
from pathlib import Path

from . import jd_orders, qianniu, taobao_orders
from .common import FormatError
from .encoding import decode_prefix
from .orders import HEADER_SEARCH_ROWS, guess_delimiter, header_text, xlsx_records

PREFIX_BYTES = 64 * 1024  # enough for any header and the first chat messages
HEAD_LINES = 100  # lines searched for an order header row or a chat message header
ZIP_MAGIC = b"PK\x03\x04"  # .xlsx is a zip
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # legacy .xls (BIFF)
# Chat exports are plain text: a table file is never read as a chat.
TABLE_SUFFIXES = frozenset({".csv", ".tsv", ".xlsx", ".xlsm", ".xls", ".parquet", ".json", ".jsonl"})
ORDER_FORMATS = {
    taobao_orders.FORMAT: taobao_orders,
    jd_orders.FORMAT: jd_orders,
}


def classify_header_rows(rows) -> str | None:
    """Order format whose header is among the first rows (lists of cells)."""
    for seen, cells in enumerate(rows):
        if seen >= HEADER_SEARCH_ROWS:
            break
        header = {header_text(c) for c in cells or ()}
        for name, module in ORDER_FORMATS.items():
            if module.is_header(header):
                return name
    return None


def classify_text(prefix: str, suffix: str) -> str | None:
    # Only the first lines are looked at: detection must stay cheap next to parsing.
    head = prefix.split("\n", HEAD_LINES)[:HEAD_LINES]
    top = head[: HEADER_SEARCH_ROWS * 2]  # header rows are short: no need to read further
    rows = csv.reader(top, delimiter=guess_delimiter(top))
    try:
        fmt = classify_header_rows(rows)
    except csv.Error:  # a header row never holds what the csv module refuses
        fmt = None
    if fmt is not None:
        return fmt
    if suffix.lower() in TABLE_SUFFIXES:
        return None
    if qianniu.has_header(qianniu.strip_line_ends("\n".join(head))):
        return qianniu.FORMAT
    return None


def classify_xlsx_rows(rows: list[tuple]) -> str | None:
    return classify_header_rows(cells for _, _, cells, _ in rows)


def detect(path: Path, data: bytes | None = None) -> str | None:
    """Format name of a real export, or None (canonical files, unknown files).
    `data`: the file's content, when already read."""
    path = Path(path)
    try:
        if data is None:
            with path.open("rb") as f:
                head = f.read(PREFIX_BYTES)
        else:
            head = data[:PREFIX_BYTES]
    except OSError:
        return None
    if head.startswith(ZIP_MAGIC):
        try:
            rows = []
            for record in xlsx_records(path.read_bytes() if data is None else data, path):
                rows.append(record)
                if len(rows) >= HEADER_SEARCH_ROWS:
                    break
        except FormatError:  # a damaged workbook is not one of ours; parse() says why
            return None
        return classify_xlsx_rows(rows)
    if head.startswith(OLE_MAGIC):
        return None
    return classify_text(decode_prefix(head), path.suffix)
