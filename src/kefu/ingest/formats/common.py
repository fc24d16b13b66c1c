"""Types and small helpers shared by the export parsers.

The public names (Reject, Parsed, FormatError) are re-exported by the package
``kefu.ingest.formats``; they live here so that the parser modules can import
them without importing the package's dispatch code (no import cycles).
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa

from kefu.errors import KefuError

RAW_LIMIT = 500  # Reject.raw is truncated to this many characters

MESSAGE_COLUMNS = ("ts", "shop", "buyer", "agent", "sender", "text")
EVENT_COLUMNS = ("ts", "shop", "buyer", "agent", "kind", "text")
ORDER_COLUMNS = ("order_id", "shop", "buyer", "created_at", "paid_at", "amount", "status")


class FormatError(KefuError):
    """The whole file cannot be read; the message names the file and the reason."""


@dataclass(frozen=True)
class Reject:
    line: int  # 1-based source line (0 = the whole file)
    reason: str
    raw: str  # offending source text, at most RAW_LIMIT characters

    def __post_init__(self) -> None:
        if len(self.raw) > RAW_LIMIT:
            object.__setattr__(self, "raw", self.raw[:RAW_LIMIT])


@dataclass
class Parsed:
    format: str
    encoding: str
    tables: dict[str, pa.Table]
    rejects: list[Reject] = field(default_factory=list)
    read: int = 0


def file_error(path: Path, reason: str) -> FormatError:
    return FormatError(f"{path}: {reason}")


_EMPTY: dict[tuple[str, ...], pa.Table] = {}


def make_table(columns: tuple[str, ...], rows: list[tuple]) -> pa.Table:
    """Rows are tuples of the string columns followed by the source line."""
    if not rows:  # tables are immutable: one empty table per shape is enough
        if columns not in _EMPTY:
            _EMPTY[columns] = _build(columns, [()] * (len(columns) + 1))
        return _EMPTY[columns]
    return _build(columns, list(zip(*rows)))


def _build(columns: tuple[str, ...], data: list) -> pa.Table:
    arrays = [pa.array(data[i], pa.string()) for i in range(len(columns))]
    arrays.append(pa.array(data[len(columns)], pa.int64()))
    return pa.Table.from_arrays(arrays, names=[*columns, "_line"])


# --- timestamps --------------------------------------------------------------

# What exports write: 2026-3-5 9:05:07, 2026-03-05 09:05:07, 2026/3/5 9:05:07,
# sometimes with fractional seconds (truncated: the data model is per second).
_TS_PARTS_RE = re.compile(r"\s*(\d{4})[-/](\d{1,2})[-/](\d{1,2})[ \t]+(\d{1,2}):(\d{1,2}):(\d{1,2})(?:\.\d{1,6})?\s*")
# Excel re-formats date cells as "2026/3/5 10:18": the seconds are gone.
_TS_NO_SECONDS_RE = re.compile(r"\s*\d{4}[-/]\d{1,2}[-/]\d{1,2}[ \t]+\d{1,2}:\d{1,2}\s*")
_DATE_ONLY_RE = re.compile(r"\s*\d{4}[-/]\d{1,2}[-/]\d{1,2}\s*")


_MONTH_DAYS = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def _days_in_month(year: int, month: int) -> int:
    # Not calendar.monthrange: it raises for year 0, which a damaged file can hold.
    return 29 if month == 2 and calendar.isleap(year) else _MONTH_DAYS[month - 1]


def normalize_ts(raw: str) -> str | None:
    """'2026-3-5 9:05:07' -> '2026-03-05 09:05:07'; None if not a real time."""
    m = _TS_PARTS_RE.fullmatch(raw)
    return None if m is None else ts_from_parts(*m.groups())


def ts_from_parts(y: str, mo: str, d: str, h: str, mi: str, s: str) -> str | None:
    """Canonical timestamp from the digit groups of a parsed time, None if not real."""
    year, month, day, hour, minute, second = int(y), int(mo), int(d), int(h), int(mi), int(s)
    if not (1 <= month <= 12 and hour <= 23 and minute <= 59 and second <= 59):
        return None
    if not 1 <= day <= _days_in_month(year, month):
        return None
    return f"{year:04d}-{month:02d}-{day:02d} {hour:02d}:{minute:02d}:{second:02d}"


# Chat files repeat the same dates and times of day: normalise each text once.
_CACHE_LIMIT = 200_000
_DATES: dict[str, str | None] = {}
_TIMES: dict[str, str | None] = {}
_MISSING = object()
_DATE_RE = re.compile(r"(\d{4})[-/](\d{1,2})[-/](\d{1,2})")
_TIME_RE = re.compile(r"(\d{1,2}):(\d{1,2}):(\d{1,2})")


def _groups(pattern: re.Pattern[str], text: str) -> tuple[str, ...]:
    match = pattern.fullmatch(text)
    if match is None:
        raise ValueError(f"{text!r} does not match {pattern.pattern}")
    return match.groups()


def ts_from_date_time(date: str, time: str) -> str | None:
    """normalize_ts of "date time", from the two texts already found by a regex."""
    day = _DATES.get(date, _MISSING)
    if day is _MISSING:
        y, mo, d = _groups(_DATE_RE, date)
        full = ts_from_parts(y, mo, d, "0", "0", "0")
        day = _cached(_DATES, date, full and full[:10])
    clock = _TIMES.get(time, _MISSING)
    if clock is _MISSING:
        h, mi, s = _groups(_TIME_RE, time)
        full = ts_from_parts("2000", "1", "1", h, mi, s)
        clock = _cached(_TIMES, time, full and full[11:])
    return f"{day} {clock}" if day and clock else None


def _cached(cache: dict, key: str, value):
    if len(cache) >= _CACHE_LIMIT:
        cache.clear()
    cache[key] = value
    return value


def ts_problem(raw: str) -> str:
    """Why normalize_ts refused raw (a short phrase for a reject reason)."""
    if _TS_NO_SECONDS_RE.fullmatch(raw):
        return f"'{raw}' has no seconds (Excel re-formatted the time): re-export the original file"
    if _DATE_ONLY_RE.fullmatch(raw):
        return f"'{raw}' has no time of day (Excel re-formatted it): re-export the original file"
    parts = _TS_PARTS_RE.fullmatch(raw)
    if parts:
        y, mo, d, h, mi, s = parts.groups()
        if ts_from_parts(y, mo, d, "0", "0", "0") is None:
            return f"'{raw}': no such date {int(y):04d}-{int(mo):02d}-{int(d):02d}"
        return f"'{raw}': no such time of day {int(h):02d}:{int(mi):02d}:{int(s):02d}"
    return f"'{raw}' is not a time (expected YYYY-MM-DD HH:MM:SS)"
