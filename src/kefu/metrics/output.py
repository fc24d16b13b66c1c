"""KPI results as plain records: dates as text, money as 2-decimal numbers, undefined ratios as None.

This is the shape of `kefu kpi --format json` and of every export.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from kefu.metrics.registry import BY_KEY

PERIOD_FORMAT = {
    "day": lambda d: d.strftime("%Y-%m-%d"),
    "week": lambda d: "{0}-W{1:02d}".format(*d.isocalendar()[:2]),
    "month": lambda d: d.strftime("%Y-%m"),
}


def to_records(data: pd.DataFrame | pa.Table) -> list[dict[str, Any]]:
    """Rows of a KPI result as JSON-ready dicts, in column order (converted a column at a time)."""
    table = data if isinstance(data, pa.Table) else pa.Table.from_pandas(data, preserve_index=False)
    names = table.column_names  # a new list on every access
    columns = [_values(name, table[name]) for name in names]
    return [dict(zip(names, row, strict=True)) for row in zip(*columns, strict=True)]


def _values(name: str, column: pa.ChunkedArray) -> list[Any]:
    kind = column.type
    if name in PERIOD_FORMAT:
        dates = column.cast(pa.date32()) if pa.types.is_timestamp(kind) else column
        return [None if d is None else PERIOD_FORMAT[name](d) for d in dates.to_pylist()]
    if pa.types.is_decimal(kind):  # money: exact to the fen, then a JSON number
        exact = pc.round(column, 2, round_mode="half_towards_infinity").to_pylist()  # Arrow's own cast to float is off by an ulp
        return [None if v is None else float(v) for v in exact]
    if pa.types.is_floating(kind):
        metric = BY_KEY.get(name)
        if metric is not None and metric.unit == "yuan":
            column = pc.round(column, 2, round_mode="half_towards_infinity")
        return pc.if_else(pc.is_nan(column), None, column).to_pylist()  # undefined ratios
    return column.to_pylist()
