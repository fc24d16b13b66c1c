"""The overview (总览) as pure functions: a shop's day against the previous day and the same day last week, the
month to date against the shop's targets, each team's (组别) month to date against its team targets, the silent
sales and the trend.

`collect` fetches the records through any `kpis(by, date_from, date_to)` function (as kefu.reports.daily does);
`overview` builds the page's data and touches no data source.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from kefu.reports.daily import KpiFetch, delta, team_progress
from kefu.reports.leaderboard import final_days, month_elapsed
from kefu.targets import Target, progress

#: The figures of the page, in order (keys of kefu.metrics.registry).
HEADLINE = (
    "consult_buyers",
    "reply_rate",
    "avg_first_response_s",
    "avg_response_s",
    "rate_3min",
    "inquiry_conversion",
    "lost_buyers",
    "sales_amount",
    "attributed_orders",
    "avg_order_value",
    "satisfaction_rate",
    "complaints",
)
#: What the trend chart draws per day.
TREND = ("sales_amount", "silent_sales", "consult_buyers", "avg_response_s")


@dataclass(frozen=True)
class OverviewData:
    by_day: dict[str, dict]  # ISO day -> the shop's record of that day (every day with data)
    mtd: dict  # the shop's month to date up to the day
    teams_mtd: dict[str | None, dict]  # team -> its month to date


def collect(kpis: KpiFetch, shop: str, day: dt.date) -> OverviewData:
    first = day.replace(day=1)
    return OverviewData(
        {r["day"]: r for r in kpis(("shop", "day"), None, None) if r["shop"] == shop},
        next((r for r in kpis(("shop",), first, day) if r["shop"] == shop), {}),
        {r["team"]: r for r in kpis(("team",), first, day) if r["shop"] == shop},
    )


def overview(
    shop: str, day: dt.date, data: OverviewData, targets: Sequence[Target], data_until: dt.datetime | None = None
) -> dict:
    """The page's data. `targets` are the shop's of the day's month (others are ignored); `data_until`
    (kefu.api.data_until) says which of the day's figures are still provisional."""
    cur, prev, week = (data.by_day.get((day - dt.timedelta(days=n)).isoformat(), {}) for n in (0, 1, 7))
    month, elapsed = day.strftime("%Y-%m"), month_elapsed(day)
    targets = [t for t in targets if t.month == month and t.shop == shop]
    goals = {t.metric: t.value for t in targets if t.scope == "shop"}
    share = cur.get("consulted_sales_share")
    return {
        "shop": shop,
        "day": day.isoformat(),
        "previous_day": (day - dt.timedelta(days=1)).isoformat(),
        "same_day_last_week": (day - dt.timedelta(days=7)).isoformat(),
        "month": month,
        "elapsed_share": elapsed,
        "figures": [
            {
                "metric": k,
                "day": cur.get(k),
                "previous": prev.get(k),
                "last_week": week.get(k),
                "vs_previous": delta(cur.get(k), prev.get(k)),
                "vs_last_week": delta(cur.get(k), week.get(k)),
            }
            for k in HEADLINE
        ],
        "month_to_date": [_month_row(k, data.mtd.get(k), goals.get(k), elapsed) for k in HEADLINE],
        "silent": {
            "silent_orders": cur.get("silent_orders"),
            "silent_sales": cur.get("silent_sales"),
            "consulted_sales_share": share,
            "silent_sales_share": None if share is None else 1 - share,
            "mtd_silent_sales": data.mtd.get("silent_sales"),
            "mtd_consulted_sales_share": data.mtd.get("consulted_sales_share"),
        },
        "trend": [
            {"day": d, **{k: r.get(k) for k in TREND}} for d, r in sorted(data.by_day.items()) if d <= day.isoformat()
        ],
        "teams": team_progress(data.teams_mtd, targets, shop, month, elapsed),
        # figures of the day (and so of the month to date) that later rows can still change: {metric: final on}
        "provisional": final_days(HEADLINE, day, day, data_until),
    }


def _month_row(metric: str, mtd: float | None, goal: float | None, elapsed: float) -> dict:
    row = {"metric": metric, "mtd": mtd, "target": goal}
    if goal is not None:
        row.update(progress(mtd, goal, metric, elapsed_share=elapsed))
    return row
