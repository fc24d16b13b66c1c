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

from kefu.errors import KefuError
from kefu.ingest.formats import FormatError, Reject
from kefu.ingest.formats.encoding import decode
from kefu.ingest.stage import BOOKKEEPING

CANONICAL_SUFFIXES = (".csv", ".parquet", ".xlsx")
#: A quoted value running over more lines than this is an unclosed quote, not a message.
MAX_RECORD_LINES = 100


class ReadError(KefuError):
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
        raw, where = read_csv(path, path.read_bytes() if data is None else data), f"{path}: line 1"
    elif suffix == ".parquet":
        raw, where = read_parquet(path), f"{path}: schema"
    elif suffix == ".xlsx":
        raw, where = read_xlsx(path), f"{path}: row 1"
    else:
        raise ReadError(f"{path}: unsupported file type {suffix!r} (use .csv, .parquet or .xlsx)")
    raw.table = _named_columns(raw.table, where)
    return raw


def _named_columns(table: pa.Table, where: str) -> pa.Table:
    """Header names trimmed; an unnamed column is dropped when empty (Excel's trailing commas)
    and kept as `column N` (an extra column) when it holds values; a name twice is an error."""
    seen: dict[str, int] = {}  # name -> column number
    keep = []
    for number, (name, column) in enumerate(zip(table.column_names[:-1], table.columns[:-1]), start=1):
        name = name.strip().lstrip("\ufeff").strip()
        if not name:
            if not pc.any(pc.not_equal(pc.utf8_trim_whitespace(column), "")).as_py():
                continue
            name = f"column {number}"
        if name in seen:
            raise ReadError(f"{where}: column '{name}' appears twice in the header (columns {seen[name]} and {number})")
        if name in BOOKKEEPING:
            raise ReadError(f"{where}: column {number} is named '{name}', a name kefu uses itself: rename it")
        seen[name] = number
        keep.append(column)
    return pa.Table.from_arrays([*keep, table.column("_line")], names=[*seen, "_line"])


# --- CSV -------------------------------------------------------------------

BOM = b"\xef\xbb\xbf"


def read_csv(path: Path, data: bytes) -> RawFile:
    # Arrow checks UTF-8 as it parses, so valid files are never decoded in Python. A NUL byte
    # is UTF-16 without a BOM or a binary file: decode() says which.
    if b"\0" not in data:
        bom = data.startswith(BOM)
        body = pa.py_buffer(data)
        fast = _read_csv_fast(body.slice(len(BOM)) if bom else body, data)
        if fast is not None:
            return RawFile(fast, "utf-8-sig" if bom else "utf-8")
    try:
        text, encoding = decode(data, path)
    except FormatError as exc:
        raise ReadError(str(exc)) from None
    if encoding not in ("utf-8", "utf-8-sig"):  # GBK or UTF-16 decoded: Arrow can read it now
        utf8 = text.encode("utf-8")
        fast = _read_csv_fast(pa.py_buffer(utf8), utf8)
        if fast is not None:
            return RawFile(fast, encoding)
    # Blank lines, records with the wrong number of fields, an unclosed quote: re-read
    # exactly, so every record keeps its true line number and bad ones are rejected.
    return _read_csv_exact(path, text, encoding)


def _read_csv_fast(body: pa.Buffer, data: bytes) -> pa.Table | None:
    """Multi-threaded Arrow read of `body` (the CSV text of `data`); None when it is not valid
    UTF-8, has a record Arrow cannot split, or when line numbers could not be exact."""
    column_types = _all_strings(data)
    if column_types is None:
        return None
    try:
        table = pacsv.read_csv(
            pa.BufferReader(body),
            read_options=pacsv.ReadOptions(block_size=64 << 20),
            parse_options=pacsv.ParseOptions(newlines_in_values=True),
            convert_options=pacsv.ConvertOptions(column_types=column_types, strings_can_be_null=False),
        )
    except pa.ArrowInvalid:
        return None
    if not all(pa.types.is_string(t) for t in table.schema.types):
        return None  # csv and Arrow read the header differently
    rows, newlines = table.num_rows, data.count(b"\n")
    final_newline = data.endswith(b"\n") or not rows
    if newlines == rows + (1 if final_newline else 0):  # every record on one line, no blank lines
        return table.append_column("_line", pa.array(np.arange(2, rows + 2), pa.int64()))
    # A record spans 1 + (newlines inside its quoted fields) lines.
    spans = np.ones(rows, dtype=np.int64)
    multiline = []  # the values holding a newline, per column
    for column in table.columns:
        newlines_in = pc.count_substring(column, "\n").to_numpy(zero_copy_only=False)
        if newlines_in.any():
            spans += newlines_in
            multiline.append(pc.filter(column, pa.array(newlines_in > 0)))
    starts = 2 + np.concatenate(([0], np.cumsum(spans)[:-1])) if rows else np.array([], dtype=np.int64)
    if newlines != int(spans.sum()) + (1 if final_newline else 0):
        return None  # blank lines were skipped somewhere
    if rows and (
        spans.max() > MAX_RECORD_LINES
        or _may_hold_records(multiline, table.num_columns)
        or _ends_open(data, int(spans[-1]))
    ):
        return None  # perhaps an unclosed quote: the exact reader decides
    return table.append_column("_line", pa.array(starts, pa.int64()))


def _all_strings(data: bytes) -> dict[str, pa.DataType] | None:
    try:
        header = next(csv.reader(io.StringIO(data[: 1 << 16].decode("utf-8-sig", errors="replace"), newline="")), [])
    except csv.Error:
        return None
    return {name: pa.string() for name in header}


def _may_hold_records(multiline: list[pa.ChunkedArray], width: int) -> bool:
    """Does a multi-line value hold a line with as many commas as a record of `width` fields?
    (cheap, vectorised; the exact reader then checks precisely)"""
    if width < 3:
        return False
    for values in multiline:
        parts = pc.list_flatten(pc.split_pattern(values, "\n"))
        if pc.any(pc.greater_equal(pc.count_substring(parts, ","), width - 1)).as_py():
            return True
    return False


def _ends_open(data: bytes, last_span: int) -> bool:
    """Might the last record (of `last_span` lines) end inside a quote? An odd number of quotes says so."""
    if last_span == 1:
        return False
    start = len(data) - 1 if data.endswith(b"\n") else len(data)
    for _ in range(last_span):
        start = data.rfind(b"\n", 0, start)
    return data.count(b'"', start + 1) % 2 == 1


def _read_csv_exact(path: Path, text: str, encoding: str) -> RawFile:
    lines = io.StringIO(text, newline="").readlines()  # split where csv splits
    first = next(_records(lines, 0), None)
    if first is None:
        raise ReadError(f"{path}: empty file")
    _, position, header, error = first
    if error is not None:
        raise ReadError(f"{path}: line 1: {error}")
    rows: list[list[str]] = []
    starts: list[int] = []
    rejects: list[Reject] = []
    while position < len(lines):
        position = _read_records(lines, position, len(header), rows, starts, rejects)
    columns = [pa.array([r[i] for r in rows], pa.string()) for i in range(len(header))]
    table = pa.Table.from_arrays([*columns, pa.array(starts, pa.int64())], names=[*header, "_line"])
    return RawFile(table, encoding, rejects)


def _read_records(lines: list[str], position: int, width: int, rows: list, starts: list, rejects: list) -> int:
    """Read the records of lines[position:]; after an unclosed quote, return the index to go on from."""
    for first, last, record, error in _records(lines, position):
        if error is not None:
            rejects.append(Reject(first, f"unreadable CSV record: {error}", _raw(lines, first, last)))
        elif not record:
            continue  # a blank line is no record
        elif last > first and (problem := _unclosed_quote(lines, first, last, width)):
            reason, go_on = problem
            rejects.append(Reject(first, reason, _raw(lines, first, first if go_on else last)))
            if go_on:
                return first  # the line after the quote's line
        elif len(record) != width:
            rejects.append(Reject(first, f"expected {width} fields, found {len(record)}", ",".join(record)))
        else:
            rows.append(record)
            starts.append(first)
    return len(lines)


def _records(lines: list[str], start: int):
    """(first line, last line, fields or None, error or None) of each CSV record of lines[start:]."""
    reader = csv.reader(lines[i] for i in range(start, len(lines)))
    previous = 0
    while True:
        try:
            record = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            if reader.line_num == previous:  # no progress: the rest is one unreadable record
                yield start + previous + 1, len(lines), None, str(exc)
                return
            yield start + previous + 1, start + reader.line_num, None, str(exc)
        else:
            yield start + previous + 1, start + reader.line_num, record, None
        previous = reader.line_num


def _unclosed_quote(lines: list[str], first: int, last: int, width: int) -> tuple[str, bool] | None:
    """(reason, go on after the first line?) when the record on lines first..last is a quote
    opened by mistake: its lines read as records of their own, it is longer than any message,
    or the file ends inside it (then it is one rejected record)."""
    opened = f"unclosed quote: the quoted value opened on line {first}"
    go_on = f"; line {first} is rejected and the lines after it are read as records"
    swallowed = sum(1 for line in lines[first:last] if width >= 3 and _fields(line) == width)
    if swallowed:
        return (
            f"{opened} runs to line {last} and takes in {swallowed} lines that read as records of their own{go_on}",
            True,
        )
    if last - first + 1 > MAX_RECORD_LINES:
        return f"{opened} runs over {last - first + 1} lines (a message has at most {MAX_RECORD_LINES}){go_on}", True
    if last == len(lines) and _open_at_end("".join(lines[first - 1 : last])):
        return f"{opened} is never closed (the file ends inside it)", False
    return None


def _fields(line: str) -> int:
    try:
        return len(next(csv.reader([line]), []))
    except csv.Error:
        return 0


def _open_at_end(text: str) -> bool:
    try:
        for _ in csv.reader(io.StringIO(text, newline=""), strict=True):
            pass
    except csv.Error as exc:
        return "unexpected end of data" in str(exc)
    return False


def _raw(lines: list[str], first: int, last: int) -> str:
    return "".join(lines[first - 1 : last]).rstrip("\r\n")[:500]


# --- Parquet and XLSX -------------------------------------------------------


def read_parquet(path: Path) -> RawFile:
    try:
        table = pq.read_table(path)
    except (pa.ArrowException, OSError) as exc:
        raise ReadError(f"{path}: not a readable Parquet file: {exc}") from None
    columns = [_to_strings(path, name, column) for name, column in zip(table.column_names, table.columns, strict=True)]
    columns.append(pa.chunked_array([np.arange(1, table.num_rows + 1)], pa.int64()))
    return RawFile(pa.Table.from_arrays(columns, names=[*table.column_names, "_line"]), "parquet")


def _to_strings(path: Path, name: str, column: pa.ChunkedArray) -> pa.ChunkedArray:
    if pa.types.is_timestamp(column.type):
        # Parquet stores ms/us: drop an all-zero fraction; a real one stays and is rejected.
        return pc.replace_substring_regex(pc.strftime(column, format="%Y-%m-%d %H:%M:%S"), r"\.0+$", "")
    if pa.types.is_date(column.type):
        return pc.strftime(column, format="%Y-%m-%d")
    try:  # a float order number becomes '2.612345678901234e+18', which validation rejects
        return column.cast(pa.string())
    except pa.ArrowException:
        raise ReadError(f"{path}: column '{name}' of type {column.type} cannot be read as text") from None


def read_xlsx(path: Path) -> RawFile:
    import openpyxl

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for broken files
        raise ReadError(f"{path}: not a readable XLSX workbook: {exc}") from None
    try:
        rows = book.worksheets[0].iter_rows(values_only=True)
        header = [str(h) if h is not None else "" for h in next(rows, [])]
        records, lines = [], []
        for number, row in enumerate(rows, start=2):
            if row and any(v not in (None, "") for v in row):
                records.append([_cell_text(v) for v in row])
                lines.append(number)
    except Exception as exc:  # damaged sheet XML shows only while reading
        raise ReadError(f"{path}: damaged XLSX workbook: {type(exc).__name__}: {exc}") from None
    finally:
        book.close()
    width = max([len(header), *map(len, records)])
    header += [""] * (width - len(header))  # cells right of the header: unnamed columns
    columns = [pa.array([r[i] if i < len(r) else "" for r in records], pa.string()) for i in range(width)]
    columns.append(pa.array(lines, pa.int64()))
    return RawFile(pa.Table.from_arrays(columns, names=[*header, "_line"]), "xlsx")


def _cell_text(value: object) -> str:
    import datetime as dt

    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return str(int(value))  # beyond 2**53 a float's digits are invented: repr() keeps it visible
    return str(value)
