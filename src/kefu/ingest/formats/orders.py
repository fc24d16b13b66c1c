"""What Taobao/Tmall and JD order exports share: reading rows from CSV or
.xlsx, finding the header, un-protecting cells, checking order numbers,
timestamps, amounts and statuses.

A "record" from a row source is (first line, last line, cells, error): cells are
strings (CSV) or typed values (.xlsx); error is set, and cells None, when the
CSV reader could not split the record.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
import math
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from kefu.ingest.stage import EXCEL_DIGITS, SCIENTIFIC_PATTERN

from .common import file_error, normalize_ts, ts_problem

HEADER_SEARCH_ROWS = 10  # a title row or two may precede the header

# Excel keeps a cell as text when the CSV writes it as ="…" (or with a leading
# tab); both protect the 18–19 digit order numbers from Excel's 15 digits.
EXCEL_TEXT_RE = re.compile(r'="(.*)"', re.S)
# What Excel writes back after it turned an order number into a number.
SCIENTIFIC_RE = re.compile(SCIENTIFIC_PATTERN)  # the canonical tables' check too
DIGITS_RE = re.compile(r"\d+")
# Money: digits with optional decimals, thousands separators, currency sign.
AMOUNT_CLEAN_RE = re.compile(r"[¥￥,\s]")
AMOUNT_RE = re.compile(r"\d+(?:\.\d+)?")
# Status text is compared without spaces and punctuation, so
# "买家已付款，等待卖家发货" and "买家已付款,等待卖家发货" are one status.
STATUS_NOISE_RE = re.compile(r"[\s,，、;；:：()（）]")

# Each platform text -> a status of kefu.schema.ORDER_LIFECYCLE. An order in refund (退款中, JD 锁定:
# frozen while the buyer's cancellation or refund is decided) was paid: it keeps its paid_at and
# counts in sales on its payment day; the refund nets it later (refunds table). A partial refund
# leaves a live paid order (部分退款 → paid: a later 已发货/交易成功 moves it on); a full one closes it.
_STATUSES = {
    "unpaid": ("等待买家付款", "待付款", "等待付款", "等待付款确认"),
    "paid": (
        "买家已付款",
        "等待卖家发货",
        "买家已付款等待卖家发货",
        "等待卖家发货即买家已付款",
        "待发货",
        "已付款",
        "等待出库",
        "正在出库",
        "等待发货",
        "部分退款",
        "部分退款成功",
    ),
    "shipped": (
        "卖家已发货",
        "等待买家确认",
        "卖家已发货等待买家确认",
        "等待买家确认收货",
        "等待买家确认收货即卖家已发货",
        "卖家部分发货",
        "部分发货",
        "已发货",
        "待收货",
        "等待确认收货",
    ),
    "refunding": ("退款中", "锁定"),
    "success": ("交易成功", "交易完成", "完成", "已完成"),
    "closed": (
        "交易关闭",
        "付款以后用户退款成功交易自动关闭",
        "交易自动关闭",
        "已取消",
        "交易取消",
        "订单取消",
        "已关闭",
        "退款成功",
        "已退款",
        "全额退款",
    ),
}
STATUS_MAP = {text: status for status, texts in _STATUSES.items() for text in texts}


@dataclass(frozen=True)
class Columns:
    """Header names of each canonical field, in order of preference."""

    order_id: tuple[str, ...]
    buyer: tuple[str, ...]
    created_at: tuple[str, ...]
    paid_at: tuple[str, ...]
    amount: tuple[str, ...]
    status: tuple[str, ...]

    FIELDS = ("order_id", "buyer", "created_at", "paid_at", "amount", "status")
    REQUIRED = ("order_id", "buyer", "created_at", "paid_at", "amount")

    def resolve(self, header: list[str], path: Path) -> dict[str, tuple[int, str]]:
        """field -> (column index, header name); FormatError if a required one is missing."""
        position: dict[str, int] = {}
        for i, name in enumerate(header):
            position.setdefault(name, i)
        found, missing = {}, []
        for field in self.FIELDS:
            names = getattr(self, field)
            hit = next((n for n in names if n in position), None)
            if hit is not None:
                found[field] = (position[hit], hit)
            elif field in self.REQUIRED:
                missing.append("/".join(names))
        if missing:
            raise file_error(path, f"order export without column(s) {', '.join(missing)}")
        return found


# --- cells -------------------------------------------------------------------


def header_text(value: object) -> str:
    return text_of(value).strip().strip("\ufeff").strip()


def text_of(value: object) -> str:
    """A cell as text, Excel protection removed."""
    if value is None:
        return ""
    if isinstance(value, str):
        m = EXCEL_TEXT_RE.fullmatch(value.strip())
        return (m.group(1) if m else value).strip()
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float):
        if math.isfinite(value) and round(value, 2) == value:
            return f"{value:.2f}"
        return repr(value)
    return str(value)


def order_id_of(value: object) -> tuple[str, bool, str | None]:
    """(order number, written as text?, problem) of a cell."""
    if isinstance(value, float):  # an .xlsx number cell holds at most 15-17 digits
        if math.isfinite(value) and value.is_integer() and abs(value) < 2**53:
            return str(int(value)), False, None
        return repr(value), False, (f"order number stored as a number by Excel ({value:.6g}): digits lost")
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value), False, None
    raw = value if isinstance(value, str) else text_of(value)
    m = EXCEL_TEXT_RE.fullmatch(raw.strip())
    protected = m is not None or raw.lstrip(" ").startswith("\t")
    oid = (m.group(1) if m else raw).strip()
    if not oid:
        return oid, protected, "order number empty"
    if SCIENTIFIC_RE.fullmatch(oid):
        return oid, protected, f"order number damaged by Excel ({oid}): digits lost"
    if not DIGITS_RE.fullmatch(oid):
        return oid, protected, f"order number '{oid[:40]}' is not a number"
    return oid, protected, None


def rounded_by_excel(oid: str, protected: bool) -> bool:
    """An unprotected long number whose digits after the 15th are all zero."""
    return not protected and len(oid) > EXCEL_DIGITS and not oid[EXCEL_DIGITS:].strip("0")


def excel_rounded(ids: Iterable[tuple[str, bool]]) -> bool:
    """True when Excel re-wrote the file's long order numbers as plain numbers.

    Excel keeps 15 significant digits and pads with zeros, so every long
    unprotected number then ends in zeros after the 15th digit. Required: at
    least 3 such numbers and no counter-example; a genuine number ends in those
    zeros with probability 1e-3 to 1e-4, so three of them never happen by chance.
    """
    long_ids = [(oid, p) for oid, p in ids if not p and len(oid) > EXCEL_DIGITS]
    return len(long_ids) >= 3 and all(rounded_by_excel(oid, p) for oid, p in long_ids)


def rounded_reason(oid: str) -> str:
    return (
        f"order number {oid} rounded by Excel to {EXCEL_DIGITS} digits (all long order "
        "numbers of this file end in zeros): digits lost"
    )


def status_of(raw: str) -> str | None:
    return STATUS_MAP.get(STATUS_NOISE_RE.sub("", raw))


def amount_of(raw: str) -> str:
    """'¥1,299.00' -> '1299.00'; anything else passes unchanged (validation rejects it)."""
    cleaned = AMOUNT_CLEAN_RE.sub("", raw)
    return cleaned if AMOUNT_RE.fullmatch(cleaned) else raw


def finish_order(
    order_id: str, values: dict[str, str], names: dict[str, str], shop: str
) -> tuple[tuple | None, list[str]]:
    """Canonical row (without _line) from cleaned texts, or the reasons it is refused.

    names maps each field to the header it was read from, for the reasons.
    """
    problems = []
    buyer = values["buyer"]
    if not buyer:
        problems.append(f"{names['buyer']} empty")
    created = normalize_ts(values["created_at"]) if values["created_at"] else None
    if created is None:
        if values["created_at"]:
            problems.append(f"{names['created_at']} {ts_problem(values['created_at'])}")
        else:
            problems.append(f"{names['created_at']} empty")
    paid: str | None = ""  # empty payment time = never paid
    if values["paid_at"]:
        paid = normalize_ts(values["paid_at"])
        if paid is None:
            problems.append(f"{names['paid_at']} {ts_problem(values['paid_at'])}")
    amount = amount_of(values["amount"])
    if not amount:
        problems.append(f"{names['amount']} empty")
    status: str | None = ""
    if "status" in names:
        status = status_of(values["status"]) if values["status"] else None
        if status is None:
            shown = values["status"] or "(empty)"
            problems.append(f"unknown {names['status']} '{shown[:40]}'")
    if problems:
        return None, problems
    return (order_id, shop, buyer, created, paid, amount, status), []


# --- row sources ---------------------------------------------------------------


def csv_records(text: str) -> tuple[list[str], Iterator[tuple]]:
    """(physical lines, records) of CSV text; the delimiter is a comma or a tab."""
    lines = list(io.StringIO(text, newline=""))  # the same line splitting csv uses
    return lines, _csv_iter(lines, guess_delimiter(lines))


def guess_delimiter(lines: list[str]) -> str:
    """Tab for Excel's "text (tab separated)" saves, else comma: decided on the first line."""
    first = next((ln for ln in lines if ln.strip()), "")
    return "\t" if first.count("\t") > first.count(",") else ","


def _csv_iter(lines: list[str], delimiter: str) -> Iterator[tuple]:
    reader = csv.reader(lines, delimiter=delimiter)
    previous = 0
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as e:  # e.g. a field beyond csv's size limit; go on after it
            if reader.line_num == previous:
                return
            yield previous + 1, reader.line_num, None, f"unreadable CSV record: {e}"
        else:
            yield previous + 1, reader.line_num, cells, None
        previous = reader.line_num


def xlsx_records(data: bytes, path: Path) -> Iterator[tuple]:
    """Records of the first worksheet; any openpyxl failure is a FormatError."""
    import openpyxl  # imported lazily: chat imports never need it

    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as e:  # openpyxl raises many kinds on a damaged zip/xml
        raise file_error(path, f"not a readable .xlsx workbook ({type(e).__name__}: {e})") from None
    try:
        sheet = book.worksheets[0]
        for number, row in enumerate(sheet.iter_rows(values_only=True), start=1):
            yield number, number, list(row), None
    except Exception as e:
        raise file_error(path, f"damaged .xlsx workbook ({type(e).__name__}: {e})") from None
    finally:
        book.close()


def find_header(records: Iterator[tuple], is_header, path: Path) -> list[str]:
    """Consume records up to and including the header row; return its cleaned cells."""
    for seen, (_, _, cells, _) in enumerate(records):
        if seen >= HEADER_SEARCH_ROWS:
            break
        if cells:
            header = [header_text(c) for c in cells]
            if is_header(set(header)):
                return header
    raise file_error(path, "no order header row in the first rows")


@dataclass
class Line:
    """One non-blank data row of an order export."""

    first: int  # first physical line (a quoted field may span several)
    raw: str
    order_id: str = ""
    protected: bool = False  # order number written as ="…" or after a tab
    values: dict[str, str] | None = None  # cleaned texts of the other fields
    problems: list[str] = dataclasses.field(default_factory=list)

    @property
    def texts(self) -> dict[str, str]:
        """The cleaned texts of a line read without problems."""
        if self.values is None:
            raise ValueError(f"line {self.first} was not read: {'; '.join(self.problems)}")
        return self.values


def read_lines(
    records: Iterator[tuple], lines: list[str] | None, path: Path, columns: Columns, is_header
) -> tuple[list[Line], dict[str, str]]:
    """Data rows after the header, and the header name each field was read from."""
    header = find_header(records, is_header, path)
    cols = columns.resolve(header, path)
    names = {field: name for field, (_, name) in cols.items()}
    width = max(index for index, _ in cols.values()) + 1
    result = []
    for first, last, cells, error in records:
        if cells is not None and blank(cells):
            continue
        line = Line(first, raw_text(lines, first, last, cells))
        result.append(line)
        if error is not None:
            line.problems = [error]
        elif len(cells) < width:
            line.problems = [f"row has {len(cells)} fields, the header has {len(header)}"]
        else:
            line.order_id, line.protected, problem = order_id_of(cells[cols["order_id"][0]])
            line.problems = [problem] if problem else []
            line.values = {f: text_of(cells[i]) for f, (i, _) in cols.items() if f != "order_id"}
    if excel_rounded((ln.order_id, ln.protected) for ln in result if ln.problems == []):
        for ln in result:
            if ln.problems == [] and rounded_by_excel(ln.order_id, ln.protected):
                ln.problems = [rounded_reason(ln.order_id)]
    return result, names


def blank(cells: list) -> bool:
    return all(c is None or (isinstance(c, str) and not c.strip()) for c in cells)


def raw_text(lines: list[str] | None, first: int, last: int, cells: list | None) -> str:
    if lines is not None:
        return "".join(lines[first - 1 : last]).rstrip("\r\n")
    return ",".join(text_of(c) for c in cells or ())
