"""A calendar month, `YYYY-MM`: the one place a month is parsed and its days worked out.

Pay, the 互查 ledger, targets, kefu.toml's `warning_only_months`, the CLI's `--month` and the web's `month`
query all read a month through `Month.parse`, so they accept the same text and refuse it with the same
message (`MonthError`, a KefuError: exit code 2 in the CLI, a 422 in the web).
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass

from kefu.errors import KefuError

#: The text of a month (years 1000 … 9999); also the web's query pattern (kefu.web.common.Month).
PATTERN = r"[1-9]\d{3}-(0[1-9]|1[0-2])"
_MONTH = re.compile(PATTERN)


class MonthError(KefuError):
    """A month that is not YYYY-MM (or, MonthError's 404 kind in kefu.pay.sources, one without data)."""


@dataclass(frozen=True, order=True)
class Month:
    year: int
    number: int  # 1 … 12

    @classmethod
    def parse(cls, text: str | Month) -> Month:
        """'2026-11' -> Month(2026, 11); MonthError for anything else (a Month is returned as it is)."""
        if isinstance(text, Month):
            return text
        if not isinstance(text, str) or not _MONTH.fullmatch(text):
            raise MonthError(f"month {text!r} is not YYYY-MM")
        return cls(int(text[:4]), int(text[5:]))

    @classmethod
    def of(cls, day: dt.date) -> Month:
        """The month a day is in."""
        return cls(day.year, day.month)

    @property
    def first(self) -> dt.date:
        return dt.date(self.year, self.number, 1)

    @property
    def last(self) -> dt.date:
        return dt.date(self.year, self.number, self.days)

    @property
    def days(self) -> int:
        """How many days the month has."""
        return calendar.monthrange(self.year, self.number)[1]

    @property
    def next(self) -> Month:
        return Month(self.year + 1, 1) if self.number == 12 else Month(self.year, self.number + 1)

    @property
    def after(self) -> dt.date:
        """The first day of the next month: the end of a half-open range `first <= day < after`."""
        return self.next.first

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.number:02d}"


def is_month(text: object) -> bool:
    """Whether `text` is a month YYYY-MM."""
    try:
        Month.parse(text)  # type: ignore[arg-type]
    except MonthError:
        return False
    return True
