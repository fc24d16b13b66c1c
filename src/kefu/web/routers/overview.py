"""Overview (总览): a shop's day against the previous day and the same day last week, month to date against the
shop's targets, and each team's (组别) month to date against its team targets."""

from __future__ import annotations

import calendar
import datetime as dt

from fastapi import APIRouter, Request
from fastapi.responses import Response

from kefu import targets as targets_mod
from kefu.reports.daily import team_progress
from kefu.web import permissions
from kefu.web.auth import CurrentUser
from kefu.web.common import Day, Shop, StoreDep, cached_json, parse_day, pick_shop, render, visible_shops
from kefu.web.routers.leaderboard import provisional_of
from kefu.web.store import Store

router = APIRouter()

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


def overview_data(store: Store, shop: str, day: dt.date) -> dict:
    return store.cached(("overview", shop, day), lambda: _overview(store, shop, day))


def _overview(store: Store, shop: str, day: dt.date) -> dict:
    by_day = {r["day"]: r for r in store.kpis(("shop", "day")) if r["shop"] == shop}
    cur, prev, week = (by_day.get((day - dt.timedelta(days=n)).isoformat(), {}) for n in (0, 1, 7))
    first = day.replace(day=1)
    mtd = next((r for r in store.kpis(("shop",), first, day) if r["shop"] == shop), {})
    elapsed = day.day / calendar.monthrange(day.year, day.month)[1]
    month = day.strftime("%Y-%m")
    targets = store.con_read(lambda c: targets_mod.load(c, month, [shop]))
    goals = {t.metric: t.value for t in targets if t.scope == "shop"}
    teams_mtd = {r["team"]: r for r in store.kpis(("team",), first, day) if r["shop"] == shop}

    def delta(a, b):
        return None if a is None or b is None else a - b

    figures = [
        {
            "metric": k,
            "day": cur.get(k),
            "previous": prev.get(k),
            "last_week": week.get(k),
            "vs_previous": delta(cur.get(k), prev.get(k)),
            "vs_last_week": delta(cur.get(k), week.get(k)),
        }
        for k in HEADLINE
    ]
    month_rows = []
    for k in HEADLINE:
        row = {"metric": k, "mtd": mtd.get(k), "target": goals.get(k)}
        if k in goals:
            row.update(targets_mod.progress(mtd.get(k), goals[k], k, elapsed_share=elapsed))
        month_rows.append(row)
    share = cur.get("consulted_sales_share")
    trend = [
        {
            "day": d,
            "sales_amount": r.get("sales_amount"),
            "silent_sales": r.get("silent_sales"),
            "consult_buyers": r.get("consult_buyers"),
            "avg_response_s": r.get("avg_response_s"),
        }
        for d, r in sorted(by_day.items())
        if d <= day.isoformat()
    ]
    return {
        "shop": shop,
        "day": day.isoformat(),
        "previous_day": (day - dt.timedelta(days=1)).isoformat(),
        "same_day_last_week": (day - dt.timedelta(days=7)).isoformat(),
        "month": month,
        "elapsed_share": elapsed,
        "figures": figures,
        "month_to_date": month_rows,
        "silent": {
            "silent_orders": cur.get("silent_orders"),
            "silent_sales": cur.get("silent_sales"),
            "consulted_sales_share": share,
            "silent_sales_share": None if share is None else 1 - share,
            "mtd_silent_sales": mtd.get("silent_sales"),
            "mtd_consulted_sales_share": mtd.get("consulted_sales_share"),
        },
        "trend": trend,
        "teams": team_progress(teams_mtd, targets, shop, month, elapsed),
        # figures of the day (and so of the month to date) that later rows can still change: {metric: final on}
        "provisional": provisional_of(store, shop, HEADLINE, day, day),
    }


@router.get(
    "/api/overview",
    response_model=dict,
    tags=["overview"],
    summary="A shop's day, comparisons, month to date against targets",
)
def api_overview(request: Request, user: CurrentUser, store: StoreDep, shop: Shop = None, date: Day = None) -> Response:
    permissions.require(user, "overview")
    shop = pick_shop(user, shop, store)
    day = parse_day(date, store, [shop])
    return cached_json(request, lambda: overview_data(store, shop, day))


@router.get("/", include_in_schema=False)
def overview_page(request: Request, user: CurrentUser, store: StoreDep, shop: Shop = None, date: Day = None):
    permissions.require(user, "overview")
    shop = pick_shop(user, shop, store)
    data = overview_data(store, shop, parse_day(date, store, [shop]))
    return render(
        request,
        "overview.html",
        cached=True,
        data=data,
        shops=visible_shops(user, store),
        days=store.days(),
        page="overview",
    )
