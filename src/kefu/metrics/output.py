"""KPI results as plain records: dates as text, money as 2-decimal numbers, undefined ratios as None.

This is the shape of `kefu kpi --format json` and of every export.
"""

from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal
from typing import Any

import pandas as pd

from kefu.metrics.registry import BY_KEY

PERIOD_FORMAT = {
    "day": lambda d: d.strftime("%Y-%m-%d"),
    "week": lambda d: "{0}-W{1:02d}".format(*d.isocalendar()[:2]),
    "month": lambda d: d.strftime("%Y-%m"),
}


def to_records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows of a KPI frame as JSON-ready dicts, in column order."""
    return [{column: _value(column, value) for column, value in row.items()} for row in frame.to_dict("records")]


def _value(column: str, value: Any) -> Any:
    if value is None or value is pd.NaT or (isinstance(value, float) and math.isnan(value)):
        return None
    if column in PERIOD_FORMAT:
        return PERIOD_FORMAT[column](_as_date(value))
    if isinstance(value, Decimal):
        return float(value.quantize(Decimal("0.01")))
    metric = BY_KEY.get(column)
    if metric is not None and metric.unit == "yuan":
        return round(float(value), 2)
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    return value


def _as_date(value: Any) -> dt.date:
    if isinstance(value, pd.Timestamp | dt.datetime):
        return value.date()
    return value
