"""Overview (总览): a shop's day against the previous day and the same day last week, month to date against the
shop's targets, and each team's (组别) month to date against its team targets (kefu.reports.overview)."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Request
from fastapi.responses import Response

from kefu import targets as targets_mod
from kefu.reports import overview as ov
from kefu.web.auth import CurrentUser
from kefu.web.common import Day, StoreDep, VisibleShop, cached_json, data_until, parse_day, render, visible_shops
from kefu.web.permissions import may
from kefu.web.schemas import Overview
from kefu.web.store import Store

router = APIRouter()


def overview_data(store: Store, shop: str, day: dt.date) -> dict:
    def compute() -> dict:
        targets = store.read(lambda ws: targets_mod.load(ws.con, day.strftime("%Y-%m"), [shop]))
        return ov.overview(shop, day, ov.collect(store.kpis, shop, day), targets, data_until(store, shop))

    return store.cached(("overview", shop, day), compute)


@router.get(
    "/api/overview",
    response_model=Overview,
    dependencies=[may("overview")],
    tags=["overview"],
    summary="A shop's day, comparisons, month to date against targets",
)
def api_overview(request: Request, store: StoreDep, shop: VisibleShop, date: Day = None) -> Response:
    day = parse_day(date, store, [shop])
    return cached_json(request, lambda: overview_data(store, shop, day))


@router.get("/", include_in_schema=False, dependencies=[may("overview")])
def overview_page(request: Request, user: CurrentUser, store: StoreDep, shop: VisibleShop, date: Day = None):
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
