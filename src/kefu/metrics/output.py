"""KPI results as plain records: dates as text, money as 2-decimal numbers, undefined ratios as None.

This is the shape of `kefu kpi --format json` and of every export.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from kefu.metrics.registry import BY_KEY

#: Periods as text, a column at a time in Arrow: a Python strftime per row cost more than the query at 10 M messages.
PERIOD_FORMAT = {
    "day": lambda dates: dates.cast(pa.string()),  # ISO: 2026-11-11
    "week": lambda dates: pc.strftime(dates, format="%G-W%V"),  # ISO year and week: 2026-W46
    "month": lambda dates: pc.utf8_slice_codeunits(dates.cast(pa.string()), 0, 7),  # 2026-11
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
        return PERIOD_FORMAT[name](dates).to_pylist()
    if pa.types.is_decimal(kind):  # money: exact to the fen, then a JSON number
        # Arrow's own cast to float is off by an ulp; float("336.15") is the nearest double, as float(Decimal) is.
        exact = pc.round(column, 2, round_mode="half_towards_infinity").cast(pa.string())
        return [None if v is None else float(v) for v in exact.to_pylist()]
    if pa.types.is_floating(kind):
        metric = BY_KEY.get(name)
        if metric is not None and metric.unit == "yuan":
            column = pc.round(column, 2, round_mode="half_towards_infinity")
        return pc.if_else(pc.is_nan(column), None, column).to_pylist()  # undefined ratios
    return column.to_pylist()
