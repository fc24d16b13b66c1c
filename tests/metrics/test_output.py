"""KPI records as text: periods, money, undefined ratios (kefu.metrics.output)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pyarrow as pa

from kefu.metrics.output import to_records


def test_periods_are_labelled_by_iso_week_day_and_month_across_year_ends():
    # 1 Jan 2026 is a Thursday, so 2026 has an ISO week 53 (28 Dec 2026 – 3 Jan 2027); 30 Dec 2024 starts 2025-W01.
    days = [dt.date(2026, 12, 28), dt.date(2027, 1, 3), dt.date(2027, 1, 4), dt.date(2024, 12, 30), None]
    column = pa.array(days, pa.date32())
    records = to_records(pa.table({"week": column, "day": column, "month": column}))
    assert [r["week"] for r in records] == ["2026-W53", "2026-W53", "2027-W01", "2025-W01", None]
    assert [r["day"] for r in records] == ["2026-12-28", "2027-01-03", "2027-01-04", "2024-12-30", None]
    assert [r["month"] for r in records] == ["2026-12", "2027-01", "2027-01", "2024-12", None]


def test_a_period_held_as_a_timestamp_is_labelled_by_its_day():
    stamps = pa.array([dt.datetime(2026, 11, 11, 23, 59, 59), None], pa.timestamp("us"))
    assert [r["day"] for r in to_records(pa.table({"day": stamps}))] == ["2026-11-11", None]


def test_money_is_exact_to_the_fen_and_undefined_ratios_are_none():
    table = pa.table(
        {
            "sales_amount": pa.array([Decimal("336.15"), Decimal("0.10"), None], pa.decimal128(18, 2)),
            "paid_sales": pa.array(
                [Decimal("-12.35"), Decimal("9999999999999999.99"), Decimal("0.07")], pa.decimal128(18, 2)
            ),
            "reply_rate": pa.array([0.5, float("nan"), None], pa.float64()),
        }
    )
    records = to_records(table)
    assert [r["sales_amount"] for r in records] == [336.15, 0.1, None]
    assert [r["paid_sales"] for r in records] == [-12.35, 1e16, 0.07]  # the nearest double to each
    assert [r["reply_rate"] for r in records] == [0.5, None, None]
