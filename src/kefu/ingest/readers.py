"""Read canonical files (CSV, Parquet, XLSX) into raw tables of strings.

Every raw table has the file's own columns as strings plus `_line`, the line
(CSV) or row (Parquet, XLSX) each record starts on, so that validation can
name it. Typing and checking happen later, in the engine (kefu.ingest.stage).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from kefu.ingest.formats import Reject

CANONICAL_SUFFIXES = (".csv", ".parquet", ".xlsx")


class ReadError(Exception):
    """The whole file cannot be read; the message names the file and the reason."""


@dataclass
class RawFile:
    table: pa.Table  # string columns + int64 `_line`
    encoding: str = ""
    rejects: list[Reject] = field(default_factory=list)  # records the reader itself could not split

    @property
    def read(self) -> int:
        return self.table.num_rows + len(self.rejects)


def read_canonical(path: Path, data: bytes | None = None) -> RawFile:
    """The file's rows as strings; `data`, when given, is the file's content already read."""
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return read_csv(path, path.read_bytes() if data is None else data)
    if suffix == ".parquet":
        return read_parquet(path)
    if suffix == ".xlsx":
        return read_xlsx(path)
    raise ReadError(f"{path}: unsupported file type {suffix!r} (use .csv, .parquet or .xlsx)")


# --- CSV -------------------------------------------------------------------

BOM = b"\xef\xbb\xbf"


def read_csv(path: Path, data: bytes) -> RawFile:
    # Arrow checks UTF-8 as it parses, so valid files are never decoded in Python.
    body = pa.py_buffer(data)
    fast = _read_csv_fast(body.slice(len(BOM)) if data.startswith(BOM) else body, data)
    if fast is not None:
        return RawFile(fast, "utf-8-sig" if data.startswith(BOM) else "utf-8")
    text_bytes, encoding = _as_utf8(path, data)
    if encoding == "gb18030":
        fast = _read_csv_fast(pa.py_buffer(text_bytes), text_bytes)
        if fast is not None:
            return RawFile(fast, encoding)
    # Blank lines or records with the wrong number of fields: re-read exactly,
    # so every record keeps its true line number and bad ones are rejected.
    return _read_csv_exact(path, text_bytes.decode("utf-8"), encoding)


def _as_utf8(path: Path, data: bytes) -> tuple[bytes, str]:
    """Canonical files are UTF-8; GBK/GB18030 (Excel on Chinese Windows) is detected, never guessed."""
    if data.startswith(BOM):
        data, encoding = data[len(BOM):], "utf-8-sig"
    else:
        encoding = "utf-8"
    try:
        data.decode("utf-8")
        return data, encoding
    except UnicodeDecodeError as utf8_error:
        try:
            return data.decode("gb18030").encode("utf-8"), "gb18030"
        except UnicodeDecodeError:
            raise ReadError(
                f"{path}: not UTF-8 (bad byte at offset {utf8_error.start}) and not GBK/GB18030 either"
            ) from None


def _read_csv_fast(body: pa.Buffer, data: bytes) -> pa.Table | None:
    """Multi-threaded Arrow read of `body` (the CSV text of `data`); None when it is not valid
    UTF-8 or when line numbers could not be exact."""
    skipped = []
    try:
        table = pacsv.read_csv(
            pa.BufferReader(body),
            read_options=pacsv.ReadOptions(block_size=64 << 20),
            parse_options=pacsv.ParseOptions(newlines_in_values=True, invalid_row_handler=lambda row: skipped.append(row) or "skip"),
            convert_options=pacsv.ConvertOptions(column_types=_all_strings(data), strings_can_be_null=False),
        )
    except pa.ArrowInvalid:
        return None
    if skipped:
        return None
    rows, newlines = table.num_rows, data.count(b"\n")
    final_newline = data.endswith(b"\n") or not rows
    if newlines == rows + (1 if final_newline else 0):  # every record on one line, no blank lines
        return table.append_column("_line", pa.array(np.arange(2, rows + 2), pa.int64()))
    # A record spans 1 + (newlines inside its quoted fields) lines.
    spans = np.ones(rows, dtype=np.int64)
    for column in table.columns:
        spans += pc.count_substring(column, "\n").to_numpy(zero_copy_only=False)
    starts = 2 + np.concatenate(([0], np.cumsum(spans)[:-1])) if rows else np.array([], dtype=np.int64)
    if newlines != int(spans.sum()) + (1 if final_newline else 0):
        return None  # blank lines were skipped somewhere
    return table.append_column("_line", pa.array(starts, pa.int64()))


def _all_strings(data: bytes) -> dict[str, pa.DataType]:
    header = next(csv.reader(io.StringIO(data[: 1 << 16].decode("utf-8-sig", errors="replace"))), [])
    return {name: pa.string() for name in header}


def _read_csv_exact(path: Path, text: str, encoding: str) -> RawFile:
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        raise ReadError(f"{path}: empty file") from None
    except csv.Error as exc:
        raise ReadError(f"{path}: line 1: {exc}") from None
    rows, lines, rejects = [], [], []
    start = reader.line_num + 1
    while True:
        try:
            record = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            rejects.append(Reject(start, f"unreadable CSV record: {exc}", ""))
            start = reader.line_num + 1
            continue
        if record and len(record) != len(header):
            raw = ",".join(record)[:500]
            rejects.append(Reject(start, f"expected {len(header)} fields, found {len(record)}", raw))
        elif record:
            rows.append(record)
            lines.append(start)
        start = reader.line_num + 1
    columns = {name: pa.array([r[i] for r in rows], pa.string()) for i, name in enumerate(header)}
    columns["_line"] = pa.array(lines, pa.int64())
    return RawFile(pa.table(columns), encoding, rejects)


# --- Parquet and XLSX -------------------------------------------------------


def read_parquet(path: Path) -> RawFile:
    try:
        table = pq.read_table(path)
    except (pa.ArrowException, OSError) as exc:
        raise ReadError(f"{path}: not a readable Parquet file: {exc}") from None
    columns = {name: _to_strings(table[name]) for name in table.column_names}
    columns["_line"] = pa.array(np.arange(1, table.num_rows + 1), pa.int64())
    return RawFile(pa.table(columns), "parquet")


def _to_strings(column: pa.ChunkedArray) -> pa.ChunkedArray:
    if pa.types.is_timestamp(column.type):
        # Parquet stores ms/us: drop an all-zero fraction; a real one stays and is rejected.
        return pc.replace_substring_regex(pc.strftime(column, format="%Y-%m-%d %H:%M:%S"), r"\.0+$", "")
    if pa.types.is_date(column.type):
        return pc.strftime(column, format="%Y-%m-%d")
    return column.cast(pa.string())


def read_xlsx(path: Path) -> RawFile:
    import openpyxl

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for broken files
        raise ReadError(f"{path}: not a readable XLSX workbook: {exc}") from None
    rows = book.worksheets[0].iter_rows(values_only=True)
    header = [str(h).strip() if h is not None else "" for h in next(rows, [])]
    records, lines = [], []
    for number, row in enumerate(rows, start=2):
        if row and any(v not in (None, "") for v in row):
            records.append([_cell_text(v) for v in row])
            lines.append(number)
    book.close()
    columns = {
        name: pa.array([r[i] if i < len(r) else "" for r in records], pa.string())
        for i, name in enumerate(header)
        if name
    }
    columns["_line"] = pa.array(lines, pa.int64())
    return RawFile(pa.table(columns), "xlsx")


def _cell_text(value: object) -> str:
    import datetime as dt

    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
