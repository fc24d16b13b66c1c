"""Provisional (未定) figures: a day whose later rows can still change it.

A metric declares ``settles_days`` in the registry: the conversion window of
day D runs to the end of D + 1, so 询单转化率 and 询单流失 of D are final only
once the data reaches D + 2 00:00. "The data reaches" is the newest row the
shop's workspace holds (``data_until``), not the wall clock: a shop whose
export stops on the 28th has a provisional 28th however late it is read.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Iterable, Mapping

from kefu.metrics.registry import BY_KEY


def final_on(day: dt.date, key: str) -> dt.date:
    """The first day on which the figure of ``day`` no longer changes (its window closed the midnight before)."""
    return day + dt.timedelta(days=BY_KEY[key].settles_days + 1)


def is_provisional(key: str, day_from: dt.date, day_to: dt.date, data_until: dt.datetime | None) -> bool:
    """Whether the figure over ``day_from..day_to`` can still change, given rows up to ``data_until``."""
    if BY_KEY[key].settles_days == 0 or data_until is None:
        return False
    return data_until < dt.datetime.combine(final_on(day_to, key), dt.time.min)


def provisional(
    keys: Iterable[str], day_from: dt.date, day_to: dt.date, data_until: dt.datetime | None
) -> dict[str, dt.date]:
    """The provisional metrics among ``keys``, each with the day it becomes final."""
    return {k: final_on(day_to, k) for k in keys if k in BY_KEY and is_provisional(k, day_from, day_to, data_until)}


def period_end(record: Mapping, date_to: dt.date | None, data_until: dt.datetime | None) -> dt.date | None:
    """The last day of a KPI record's period: its `day`, the Sunday of its ISO `week` ('2026-W46') or the last
    day of its `month` ('2026-11'), no later than `date_to`; for groupings without one (`hour`, none) `date_to`,
    or the day the data ends. None when there is no data at all."""
    if "day" in record:
        end = dt.date.fromisoformat(record["day"])
    elif "week" in record:
        year, week = record["week"].split("-W")
        end = dt.date.fromisocalendar(int(year), int(week), 7)
    elif "month" in record:
        year, month = map(int, record["month"].split("-"))
        end = dt.date(year, month, calendar.monthrange(year, month)[1])
    elif date_to is not None:
        return date_to
    else:
        return data_until.date() if data_until else None
    return min(end, date_to) if date_to else end
